#!/usr/bin/env bash
# Run every cargo-fuzz target for a bounded time (default 60 s each) from its seed corpus.
# Fails on any crash, leak, timeout or out-of-memory. Usage: ci/fuzz.sh [SECONDS] [TARGET...]
# A long campaign on one machine: QMPSPEC_FUZZ_SEED=0 QMPSPEC_FUZZ_JOBS=2 ci/fuzz.sh 3600 framer
# (QMPSPEC_FUZZ_JOBS=N runs N libFuzzer processes, -fork=N; new inputs go to
# fuzz/corpus-run/<target>). Fold them back into the seeds: see README, "Fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
# A fixed libFuzzer seed makes CI's bounded runs repeatable (a run explores the same inputs
# every time, from the same corpus); QMPSPEC_FUZZ_SEED=0 lets libFuzzer pick one.
seed=${QMPSPEC_FUZZ_SEED:-1}
jobs=${QMPSPEC_FUZZ_JOBS:-1}
fork=()
if [ "$jobs" -gt 1 ]; then
    fork=(-fork="$jobs")
fi

if ! command -v cargo-fuzz >/dev/null; then
    echo "ci/fuzz.sh: installing cargo-fuzz" >&2
    (cd ci && cargo install cargo-fuzz --locked)
fi
# The `cc` crate instruments C/C++ code for AddressSanitizer when rustc does, libFuzzer's own
# included: the engine then pays ASan's checks and a fake stack frame for every coverage
# feature of every run (a third of the framer target's time). The engine is not under test.
export CXXFLAGS="${CXXFLAGS:-} -fno-sanitize=address"
# AddressSanitizer needs nightly; without it, fuzz on stable with no sanitizer.
if cargo +nightly --version >/dev/null 2>&1; then
    run=(cargo +nightly fuzz run --fuzz-dir fuzz)
else
    echo "ci/fuzz.sh: no nightly toolchain; fuzzing without sanitizer" >&2
    run=(cargo fuzz run --fuzz-dir fuzz --sanitizer none)
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^qmpspec-fuzz$')
fi

status=0
for t in "${targets[@]}"; do
    seeds=corpus/$t
    work=fuzz/corpus-run/$t
    mkdir -p "$seeds" "$work" "fuzz/artifacts/$t"
    echo "== fuzz $t for ${secs}s (seeds: $(ls "$seeds" | wc -l))" >&2
    log=$(mktemp)
    if "${run[@]}" "$t" "$work" "$seeds" -- -dict=fuzz/dict/qmp.dict -max_total_time="$secs" -seed="$seed" \
        -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 "${fork[@]}" >"$log" 2>&1; then
        grep -E '^Done|stat::number_of_executed_units|stat::average_exec_per_sec' "$log" >&2 || true
        # -fork prints a status line per job instead: the last one sums them.
        grep -E '^#[0-9]+: cov: ' "$log" | tail -n 1 >&2 || true
    else
        status=1
        echo "ci/fuzz.sh: target $t FAILED:" >&2
        grep -v '^ *[0-9]*: \|^ *at ' "$log" | tail -n 60 >&2
        ls fuzz/artifacts/"$t" >&2 || true
    fi
    rm -f "$log"
done
exit $status
