#!/usr/bin/env bash
# Build the seed corpus of a structure-aware fuzz target (one whose input is decoded by
# `arbitrary`, like `session`), whose seeds cannot be written by hand: run the target from
# the real QEMU 7.2 transcripts (the framer, message and monitor seeds, read as structure) for
# SECONDS, then keep in corpus/TARGET the smallest set of inputs that keeps their coverage
# (libFuzzer's set-cover merge). Usage: ci/seed-structured.sh [SECONDS] [TARGET]  (default: 120 session)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-120}
target=${2:-session}
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
mkdir -p "corpus/$target"
fuzz=(cargo +nightly fuzz run --fuzz-dir fuzz "$target")
"${fuzz[@]}" "$run" corpus/framer corpus/message corpus/monitor -- \
    -dict=fuzz/dict/qmp.dict -max_total_time="$secs" -seed=1 -max_len=4096 >/dev/null 2>&1
"${fuzz[@]}" -- -set_cover_merge=1 "corpus/$target" "$run" 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files' >&2
echo "corpus/$target: $(ls "corpus/$target" | wc -l) seeds" >&2
