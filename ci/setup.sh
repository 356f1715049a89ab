#!/usr/bin/env bash
# Install what a fresh machine lacks for the live tests: Debian's qemu-system-x86 (it brings
# qemu-system-x86_64 and qemu-storage-daemon 7.2), QEMU 10.0.2 beside it in target/qemu-10.0
# (ci/setup-qemu10.sh, never system-wide) and, when its script is present, the Python venv
# with the official client qemu.qmp. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "ci/setup.sh: need root to run: $*" >&2; return 1; fi
}

if ! command -v qemu-system-x86_64 >/dev/null || ! command -v qemu-storage-daemon >/dev/null \
    || ! qemu-storage-daemon --version | grep -q 'version 7\.2'; then
    echo "ci/setup.sh: installing qemu-system-x86 (QEMU 7.2) with apt-get" >&2
    as_root apt-get update -qq || echo "ci/setup.sh: apt-get update failed; trying the cached lists" >&2
    pkgs=(qemu-system-x86)
    # Some machines carry a newer qemu-utils (from backports) that Breaks qemu-system-common 7.2
    # and owns qemu-storage-daemon; take qemu-utils back to the same 7.2 build so that apt keeps
    # qemu-img rather than removing it, and qemu-storage-daemon is 7.2's.
    installed_utils=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
    want=$(apt-cache policy qemu-system-x86 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -n "$installed_utils" ] && [ -n "$want" ] && [ "$want" != "(none)" ] \
        && dpkg --compare-versions "$installed_utils" ne "$want"; then
        echo "ci/setup.sh: qemu-utils $installed_utils is installed; switching it to $want" >&2
        pkgs+=("qemu-utils=$want")
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        --allow-downgrades "${pkgs[@]}" >/dev/null \
        || echo "ci/setup.sh: WARNING: could not install qemu-system-x86; live QEMU tests will be SKIPPED" >&2
fi
command -v qemu-system-x86_64 >/dev/null && qemu-system-x86_64 --version | head -n1 >&2 || true

ci/setup-qemu10.sh || echo "ci/setup.sh: WARNING: could not install QEMU 10.0.2 (ci/setup-qemu10.sh); the tests that need it will be SKIPPED" >&2

# socat: a raw QMP client for the check-client tests (harness/tests/client_check.rs).
if ! command -v socat >/dev/null; then
    echo "ci/setup.sh: installing socat with apt-get" >&2
    { as_root apt-get update -qq || true; } && as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends socat >/dev/null \
        || echo "ci/setup.sh: WARNING: could not install socat; its check-client test will be SKIPPED" >&2
fi

if [ -x ci/setup-python.sh ]; then
    ci/setup-python.sh || echo "ci/setup.sh: WARNING: Python client setup failed; its tests will be SKIPPED" >&2
fi
