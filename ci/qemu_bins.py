"""Which QEMU binaries the recording scripts run, by QEMU version (shared by ci/record-*.py).

QEMU 7.2 is the system's (on PATH); QEMU 10.0 is the private prefix ci/setup-qemu10.sh fills
(target/qemu-10.0/bin, or the directory $QMPSPEC_QEMU10 names). Every binary must report the
version asked for, so a recording never lands in the wrong version's folder."""
import argparse, os, shutil, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSIONS = ("7.2", "10.0")


def bin_dir(version):
    """The directory holding `version`'s binaries, or None for the ones on PATH."""
    if version == "10.0":
        return os.environ.get("QMPSPEC_QEMU10") or os.path.join(ROOT, "target", "qemu-10.0", "bin")
    return None


def find(version, program):
    d = bin_dir(version)
    path = os.path.join(d, program) if d else shutil.which(program)
    if not path or not os.access(path, os.X_OK):
        sys.exit(f"{program} for QEMU {version} not found (ci/setup.sh installs it)")
    first = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    if f"version {version}." not in first:
        sys.exit(f"{path} is `{first}`, not QEMU {version}")
    return path


def parse_args(doc):
    """`SCRIPT [--qemu-version 7.2|10.0]`: the version and its two binaries."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--qemu-version", choices=VERSIONS, default="7.2",
                   help="the QEMU to record (default 7.2, the system's)")
    a = p.parse_args()
    return a.qemu_version, find(a.qemu_version, "qemu-system-x86_64"), \
        find(a.qemu_version, "qemu-storage-daemon")
