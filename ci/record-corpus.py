#!/usr/bin/env python3
"""Record what QEMU sends for a scripted set of client inputs.

Writes, per endpoint, the exact server output stream (`<name>.out`) and the client input
(`<name>.in`) under corpus/qemu-<version>/, and one file per server message into the fuzz seed
corpora corpus/framer/ and corpus/message/. Run it again to refresh after a QEMU upgrade.

    ci/record-corpus.py [--qemu-version 7.2|10.0]
"""
import os, subprocess, sys, time, select, hashlib
from qemu_bins import ROOT, parse_args

VERSION, SYSTEM, STORAGE_DAEMON = parse_args(__doc__)
OUT = os.path.join(ROOT, "corpus", f"qemu-{VERSION}")

SCRIPT = [
    b'{"execute":"query-version","id":7}\n',
    b'{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}\n',
    b'{"execute":"qmp_capabilities"}\n',
    b'{"execute":"query-version","id":1}\n',
    b'{"execute":"query-status","id":"s"}\n',
    b'{"execute":"stop","id":2}\n',
    b'{"execute":"cont","id":3}\n',
    b'{"execute":"query-name","id":null}\n',
    b'{"execute":"query-name","id":[1,{"a":"\xc3\xa9\xe2\x82\xac"}]}\n',
    b'{"execute":"query-name","id":123456789012345678901234567890}\n',
    b'{"execute":"no-such-command","id":4}\n',
    b'{"execute":"query-name","arguments":{"a":1},"id":5}\n',
    b'{"foo":1,"id":6}\n',
    b'{"id":3}\n',
    b'{"execute":1}\n',
    b'[]\n',
    b'"x"\n',
    b'{"execute":"query-name" "id":1}\n',
    b'{"a":1,"a":2}\n',
    b'{"execute":"query-name","id":"\xff"}\n',
    b"{'execute':'query-name','id':'it\\'s'}\n",
    b'{"execute":"query-name"\n\x01\n',
    b'{"execute":"query-commands","id":"c"}\n',
    b'{"execute":"query-qmp-schema","id":"schema"}\n',
    b'{"execute":"quit","id":"q"}\n',
]

def record(name, argv):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = bytearray()
    def drain(wait):
        end = time.time() + wait
        while time.time() < end:
            r, _, _ = select.select([p.stdout], [], [], max(0, end - time.time()))
            if not r:
                break
            chunk = os.read(p.stdout.fileno(), 1 << 20)
            if not chunk:
                return False
            out.extend(chunk)
        return True
    drain(0.5)
    for line in SCRIPT:
        p.stdin.write(line)
        p.stdin.flush()
        if not drain(0.3 if b"schema" not in line else 1.0):
            break
    drain(0.5)
    p.kill()
    p.wait()
    with open(os.path.join(OUT, name + ".in"), "wb") as f:
        f.write(b"".join(SCRIPT))
    with open(os.path.join(OUT, name + ".out"), "wb") as f:
        f.write(bytes(out))
    msgs = [m for m in bytes(out).split(b"\r\n") if m]
    for d in ("framer", "message"):
        os.makedirs(os.path.join(ROOT, "corpus", d), exist_ok=True)
        for m in msgs:
            h = hashlib.sha1(m).hexdigest()[:16]
            seed = m + b"\r\n" if d == "framer" else m
            with open(os.path.join(ROOT, "corpus", d, f"{name}-{h}"), "wb") as f:
                f.write(seed)
    # The client inputs are framer seeds too (QEMU's input dialect, garbage, resets).
    for line in SCRIPT:
        h = hashlib.sha1(line).hexdigest()[:16]
        with open(os.path.join(ROOT, "corpus", "framer", f"input-{h}"), "wb") as f:
            f.write(line)
    print(f"{name}: {len(msgs)} messages, {len(out)} bytes")

os.makedirs(OUT, exist_ok=True)
record("system-x86_64", [SYSTEM, "-machine", "none", "-nodefaults", "-display", "none", "-qmp", "stdio"])
record("storage-daemon", [STORAGE_DAEMON, "--chardev", "stdio,id=m", "--monitor", "chardev=m"])
