#!/usr/bin/env bash
# The README's run command: install QEMU 7.2 when missing (ci/setup.sh), build qmpspec and
# run the conformance suite against QEMU 7.2, or against the built-in emulated monitor when
# QEMU is not installed.
# Extra arguments go to `qmpspec check` (e.g. --report html=report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh || echo "ci/check.sh: setup incomplete; going on with what is installed" >&2
cargo build --release --locked --bin qmpspec
if command -v qemu-system-x86_64 >/dev/null; then
    target=(--qemu)
else
    echo "ci/check.sh: qemu-system-x86_64 not found; checking the emulated monitor" >&2
    target=(--emulated)
fi
exec target/release/qmpspec check "${target[@]}" "$@"
