#!/bin/bash -eu
# Build the cargo-fuzz targets for ClusterFuzzLite / OSS-Fuzz. The engine runs this script in
# the project's root (the Dockerfile's WORKDIR) with its toolchain, RUSTFLAGS and libFuzzer
# set, and takes from $OUT, for every target T: the fuzzer binary T, its seeds
# T_seed_corpus.zip (from corpus/T/), the dictionary T.dict and T.options.
# ci/check-engine-build.sh runs it here with the engine's conventions and checks $OUT.

# Debug assertions (overflow checks) stay on, as in ci/fuzz.sh: they are part of the checks.
cargo fuzz build --fuzz-dir fuzz -O --debug-assertions

triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=${CARGO_TARGET_DIR:-fuzz/target}/$triple/release
# The [[bin]] names of fuzz/Cargo.toml (not `cargo fuzz list`: in coverage builds the engine's
# cargo wrapper turns every `cargo fuzz` command into a build).
for target in $(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^qmpspec-fuzz$'); do
    cp "$bin_dir/$target" "$OUT/"
    cp fuzz/dict/qmp.dict "$OUT/$target.dict"
    # The length CI fuzzes with; the engine picks the dictionary up by its name.
    printf '[libfuzzer]\nmax_len = 4096\n' >"$OUT/$target.options"
    if [ -d "corpus/$target" ]; then
        rm -f "$OUT/${target}_seed_corpus.zip"
        (cd "corpus/$target" && zip -q -X "$OUT/${target}_seed_corpus.zip" -- *)
    fi
done
