#!/usr/bin/env bash
# Install QEMU 10.0.2 (Debian bookworm-backports: the system emulator and qemu-storage-daemon)
# into a private prefix beside the system's QEMU 7.2, without touching dpkg's state: apt runs
# on its own sources, lists, cache and a copy of dpkg's status, and the .debs are unpacked,
# not installed. Wrappers in PREFIX/bin run the prefix's binaries with its libraries, modules
# and firmware; they find the prefix from where they are, so that a prefix moved or copied
# whole runs its own QEMU, never the one it was copied from. Idempotent: when the prefix
# already holds a working 10.0.2 with current wrappers it returns at once (stale wrappers,
# e.g. of an older version of this script, are rewritten without downloading again).
#
#   ci/setup-qemu10.sh            # -> target/qemu-10.0/bin/{qemu-system-x86_64,qemu-storage-daemon,...}
#   QMPSPEC_QEMU10_PREFIX=DIR ci/setup-qemu10.sh   # then point the tests at it: QMPSPEC_QEMU10=DIR/bin
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${QMPSPEC_QEMU10_PREFIX:-$PWD/target/qemu-10.0}
VER='1:10.0.2+ds-2+deb13u1~bpo12+1'
ROOT=$PREFIX/root
STATE=$PREFIX/apt
STAMP=$PREFIX/installed
say() { echo "ci/setup-qemu10.sh: $*" >&2; }

WRAPPED=(qemu-system-x86_64 qemu-storage-daemon qemu-img qemu-io qemu-nbd)

# The wrapper of program $1: the same text wherever the prefix is. It finds the root beside
# its own directory (through a symlink to it, too); the system emulator also gets the root's
# data and firmware directories.
wrapper() {
    local extra=''
    if [ "$1" = qemu-system-x86_64 ]; then
        extra=' -L "$root/usr/share/qemu" -L "$root/usr/share/seabios"'
    fi
    cat <<EOF
#!/bin/sh
# QEMU 10.0.2's $1 in ../root, found from where this file is, so that the
# prefix can be moved or copied whole (written by ci/setup-qemu10.sh).
root=\$(dirname "\$(dirname "\$(readlink -f "\$0")")")/root
lib=\$root/usr/lib/x86_64-linux-gnu
LD_LIBRARY_PATH=\$lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
QEMU_MODULE_DIR=\$lib/qemu
export LD_LIBRARY_PATH QEMU_MODULE_DIR
exec "\$root/usr/bin/$1"$extra "\$@"
EOF
}

# Every program of the root has its wrapper, as wrapper() writes it now.
wrappers_current() {
    local prog
    for prog in "${WRAPPED[@]}"; do
        [ -x "$ROOT/usr/bin/$prog" ] || continue
        [ "$(cat "$PREFIX/bin/$prog" 2>/dev/null)" = "$(wrapper "$prog")" ] || return 1
    done
}

write_wrappers() {
    local prog
    mkdir -p "$PREFIX/bin"
    for prog in "${WRAPPED[@]}"; do
        [ -x "$ROOT/usr/bin/$prog" ] || continue
        wrapper "$prog" > "$PREFIX/bin/$prog"
        chmod +x "$PREFIX/bin/$prog"
    done
}

# The wrappers run the root's 10.0.2 (and not some other QEMU of the machine).
runs_10_0_2() {
    local prog
    for prog in qemu-system-x86_64 qemu-storage-daemon; do
        [ -x "$ROOT/usr/bin/$prog" ] || return 1
        "$PREFIX/bin/$prog" --version 2>/dev/null | grep -q 'version 10\.0\.2' || return 1
    done
}

# Already there: nothing to do, unless the wrappers are stale (then rewrite and verify them).
if [ "$(cat "$STAMP" 2>/dev/null)" = "$VER" ] && [ -x "$ROOT/usr/bin/qemu-system-x86_64" ]; then
    if wrappers_current && runs_10_0_2; then
        say "QEMU 10.0.2 is in $PREFIX"
        exit 0
    fi
    say "rewriting the wrappers in $PREFIX/bin"
    write_wrappers
    if runs_10_0_2; then
        say "QEMU 10.0.2 is in $PREFIX"
        exit 0
    fi
fi
rm -f "$STAMP"

# The machine's own Debian mirrors, as its apt sources name them (deb822 or one-line format).
mirrors() {
    { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | awk '/^URIs:/ {print $2}'
    { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
        | awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}'
}
main_uri=$(mirrors | grep -v security | grep -m1 debian || echo http://deb.debian.org/debian)
sec_uri=$(mirrors | grep -m1 security || echo http://deb.debian.org/debian-security)

mkdir -p "$STATE/sources.d" "$STATE/lists/partial" "$STATE/archives/partial" "$STATE/dpkg" \
    "$PREFIX/bin"
# Backports carries QEMU 10.0.2 and the dependencies bookworm's versions do not satisfy
# (e.g. seabios newer than 1.16.3).
cat > "$STATE/sources.d/debian.sources" <<EOF
Types: deb
URIs: $main_uri
Suites: bookworm bookworm-updates bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $sec_uri
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# apt resolves against what is installed, read from a copy of dpkg's status.
cp /var/lib/dpkg/status "$STATE/dpkg/status"
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$STATE/sources.d"
    -o "Dir::State::Lists=$STATE/lists" -o "Dir::State::status=$STATE/dpkg/status"
    -o "Dir::Cache=$STATE" -o "Dir::Cache::archives=$STATE/archives"
    -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)

# Refresh the lists unless they are under a day old.
if [ -z "$(find "$STATE/lists" -maxdepth 1 -name '*bookworm-backports_InRelease' -mmin -1440)" ]; then
    say "fetching the package lists (bookworm, bookworm-backports)"
    apt-get "${apt_opts[@]}" -qq update
fi

# qemu-system-x86 and qemu-utils 10.0.2 bring qemu-system-common (with qemu-storage-daemon),
# qemu-system-data, seabios and the libraries the system lacks. The opengl and spice module
# packages are only recommended, but needed: a module QEMU 10 does not find in its
# QEMU_MODULE_DIR is looked for where QEMU 7.2's lie, and loading 7.2's ui-opengl.so aborts
# QEMU 10 ("Only modules from the same build can be loaded"), e.g. on qom-list-types.
say "downloading QEMU $VER"
apt-get "${apt_opts[@]}" -qq -y -t bookworm-backports --no-install-recommends --download-only \
    install "qemu-system-x86=$VER" "qemu-utils=$VER" \
    "qemu-system-modules-opengl=$VER" "qemu-system-modules-spice=$VER" >/dev/null

# Unpack every downloaded .deb into the prefix, from scratch.
rm -rf "$ROOT"
mkdir -p "$ROOT"
n=0
for deb in "$STATE"/archives/*.deb; do
    dpkg-deb -x "$deb" "$ROOT"
    n=$((n + 1))
done

write_wrappers

# It must run, and list its types without loading a module of another build.
runs_10_0_2 || { say "the wrappers in $PREFIX/bin do not run QEMU 10.0.2"; exit 1; }
types=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"qom-list-types","id":1}' \
    '{"execute":"quit"}' \
    | timeout 30 "$PREFIX/bin/qemu-system-x86_64" -machine none -nodefaults -display none \
        -qmp stdio 2>&1) || true
if ! echo "$types" | grep -q '"return": \[.*"id": 1' || echo "$types" | grep -q 'failed to initialize module'; then
    say "QEMU 10.0.2 fails qom-list-types: $(echo "$types" | tail -n 3)"
    exit 1
fi
echo "$VER" > "$STAMP"
say "QEMU 10.0.2 installed in $PREFIX ($n packages): $("$PREFIX/bin/qemu-system-x86_64" --version | head -n1)"
