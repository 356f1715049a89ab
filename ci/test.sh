#!/usr/bin/env bash
# The README's test command: set up what is missing, then run every test of the workspace.
# Live tests run against real QEMU 7.2 and 10.0.2 when they are installed and skip loudly,
# with the reason, when one is not.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/setup.sh
export CI=true INSTA_UPDATE=no
cargo test --workspace --locked "$@"
