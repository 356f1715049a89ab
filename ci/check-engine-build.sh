#!/usr/bin/env bash
# Run .clusterfuzzlite/build.sh the way ClusterFuzzLite / OSS-Fuzz run it (in the project's
# root, with $SRC, $OUT and $WORK set, SANITIZER=address, FUZZING_ENGINE=libfuzzer, a nightly
# toolchain) and check what it leaves in $OUT: for every target T in fuzz/Cargo.toml, the
# fuzzer binary T, T.dict (fuzz/dict/qmp.dict), T.options, and T_seed_corpus.zip holding
# exactly corpus/T/; then every binary runs its unzipped seeds once. .ci/run calls it after
# ci/fuzz.sh, whose build it reuses (same cargo-fuzz flags), so it costs seconds there.
#
# Two things differ from the engine and are left to it: the engine links its own libFuzzer
# (CUSTOM_LIBFUZZER_PATH) where libfuzzer-sys builds one here, and it adds debug info and
# frame pointers to RUSTFLAGS (cargo-fuzz itself sets the sanitizer and coverage flags).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SRC=$tmp/src OUT=$tmp/out WORK=$tmp/work
export SANITIZER=address FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=rust ARCHITECTURE=x86_64
export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-nightly}
# As in ci/fuzz.sh (and as the engine's own libFuzzer): the engine is not built with ASan.
export CXXFLAGS="${CXXFLAGS:-} -fno-sanitize=address"
mkdir -p "$SRC" "$OUT" "$WORK"

if ! command -v cargo-fuzz >/dev/null; then
    (cd ci && cargo install cargo-fuzz --locked)
fi
bash -eu .clusterfuzzlite/build.sh >"$WORK/build.log" 2>&1 || {
    tail -n 40 "$WORK/build.log" >&2
    echo "check-engine-build: build.sh FAILED" >&2
    exit 1
}

fail() {
    echo "check-engine-build: $*" >&2
    exit 1
}
mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^qmpspec-fuzz$')
[ ${#targets[@]} -gt 0 ] || fail "no targets in fuzz/Cargo.toml"
expected=()
for t in "${targets[@]}"; do
    [ -x "$OUT/$t" ] || fail "$t: no fuzzer binary in \$OUT"
    cmp -s fuzz/dict/qmp.dict "$OUT/$t.dict" || fail "$t: \$OUT/$t.dict is not fuzz/dict/qmp.dict"
    grep -qx 'max_len = 4096' "$OUT/$t.options" || fail "$t: \$OUT/$t.options lacks max_len"
    expected+=("$t" "$t.dict" "$t.options")
    seeds=$WORK/seeds/$t
    mkdir -p "$seeds"
    if [ -d "corpus/$t" ]; then
        expected+=("${t}_seed_corpus.zip")
        unzip -q "$OUT/${t}_seed_corpus.zip" -d "$seeds" || fail "$t: unreadable seed corpus zip"
        diff <(ls -A "corpus/$t") <(ls -A "$seeds") >/dev/null ||
            fail "$t: ${t}_seed_corpus.zip does not hold exactly corpus/$t/"
        for f in "corpus/$t"/*; do
            cmp -s "$f" "$seeds/$(basename "$f")" || fail "$t: $(basename "$f") differs in the zip"
        done
    fi
    "$OUT/$t" -runs=0 -max_len=4096 "$seeds" >"$WORK/$t.log" 2>&1 || {
        tail -n 20 "$WORK/$t.log" >&2
        fail "$t: the built fuzzer fails on its own seeds"
    }
    echo "check-engine-build: $t: binary, dict, options, $(ls -A "$seeds" | wc -l) seeds (ran once each)" >&2
done
diff <(printf '%s\n' "${expected[@]}" | sort) <(ls -A "$OUT" | sort) >&2 ||
    fail "\$OUT holds other files than expected"
echo "check-engine-build: \$OUT is complete for ${#targets[@]} targets" >&2
