#!/usr/bin/env python3
"""Record what QEMU 7.2 (`qemu-system-x86_64 -machine none`) answers to every query command
that needs no arguments, into specs/qemu-7.2/system-x86_64.returns.json. The emulated
monitor answers these queries with the recorded values (returns and errors alike), so that
it looks like a real QEMU, not just like the schema. Objects keep QEMU's member order (its
QDict iteration order), which the monitor needs to write them back byte for byte.
Run from the repository root."""
import json, os, socket, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(ROOT, "specs", "qemu-7.2", "system-x86_64.schema.json")
OUT = os.path.join(ROOT, "specs", "qemu-7.2", "system-x86_64.returns.json")
# Answered by the monitor itself (state, connection or build dependent), or too large.
SKIP = {"query-qmp-schema", "query-commands", "query-version", "query-status", "query-name",
        "query-chardev", "query-yank", "query-uuid",
        "x-query-jit"}  # x-query-jit: translation buffer sizes depend on the host

def main():
    entities = json.load(open(SCHEMA))
    types = {e["name"]: e for e in entities}
    def no_required_args(cmd):
        t = types.get(cmd.get("arg-type", "0"), {})
        return all("default" in m for m in t.get("members", []))
    names = [e["name"] for e in entities if e["meta-type"] == "command"
             and e["name"].startswith(("query-", "x-query-")) and e["name"] not in SKIP
             and no_required_args(e)]
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, "qmp.sock")
        q = subprocess.Popen(["qemu-system-x86_64", "-machine", "none", "-nodefaults",
                              "-display", "none", "-qmp", f"unix:{sock},server=on,wait=off"])
        try:
            s = socket.socket(socket.AF_UNIX)
            for _ in range(500):
                try:
                    s.connect(sock)
                    break
                except OSError:
                    time.sleep(0.01)
            f = s.makefile("rb")
            f.readline()
            s.sendall(b'{"execute":"qmp_capabilities"}\n')
            f.readline()
            recorded = {}
            for n in names:
                s.sendall(json.dumps({"execute": n}).encode() + b"\n")
                while True:
                    msg = json.loads(f.readline())  # dicts keep the wire order
                    if "event" not in msg:
                        break
                recorded[n] = msg
        finally:
            q.kill()
            q.wait()
    with open(OUT, "w") as out:
        json.dump({"source": "qemu-system-x86_64 7.2 -machine none -nodefaults, argument-less queries",
                   "replies": recorded}, out, indent=1)
        out.write("\n")
    print(f"wrote {OUT}: {len(recorded)} replies")

main()
