#!/usr/bin/env bash
# The README's run command: install QEMU 7.2 when missing and QEMU 10.0.2 beside it
# (ci/setup.sh), build qmpspec and run the conformance suite against both QEMUs as a matrix;
# against QEMU 7.2 alone when 10.0.2 is not there, against the built-in emulated monitor
# when no QEMU is (saying so, loudly, on stderr).
# Extra arguments go to `qmpspec check` (e.g. --report html=report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh || echo "ci/check.sh: setup incomplete; going on with what is installed" >&2
cargo build --release --locked --bin qmpspec
qemu10=${QMPSPEC_QEMU10:-target/qemu-10.0/bin}/qemu-system-x86_64
has_10() { "$qemu10" --version 2>/dev/null | grep -q 'version 10\.0\.2'; }
if command -v qemu-system-x86_64 >/dev/null && has_10; then
    target=(--qemu --qemu "$qemu10")
elif command -v qemu-system-x86_64 >/dev/null; then
    echo "ci/check.sh: QEMU 10.0.2 not found at $qemu10 (ci/setup-qemu10.sh installs it); checking QEMU 7.2 ALONE" >&2
    target=(--qemu)
elif has_10; then
    echo "ci/check.sh: qemu-system-x86_64 (QEMU 7.2) not found; checking QEMU 10.0.2 ALONE" >&2
    target=(--qemu "$qemu10")
else
    echo "ci/check.sh: no QEMU found (neither qemu-system-x86_64 nor $qemu10); checking the EMULATED monitor" >&2
    target=(--emulated)
fi
exec target/release/qmpspec check "${target[@]}" "$@"
