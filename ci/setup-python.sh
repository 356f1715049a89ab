#!/bin/sh
# Create the Python venv with QEMU's official QMP client (qemu.qmp) that
# harness/tests/monitor_python.rs uses. Run from the repository root.
set -eu
python3 -m venv target/qmp-venv
target/qmp-venv/bin/pip install --quiet qemu.qmp
target/qmp-venv/bin/python -c 'import qemu.qmp; print("qemu.qmp", qemu.qmp.__version__ if hasattr(qemu.qmp, "__version__") else "installed")'
