#!/usr/bin/env python3
"""Record a QEMU version's schemas and query returns into specs/qemu-<version>/:

- system-x86_64.schema.json, storage-daemon.schema.json: the return of `query-qmp-schema` of
  `qemu-system-x86_64 -machine none -nodefaults` and of `qemu-storage-daemon`;
- system-x86_64.returns.json: what `qemu-system-x86_64 -machine none -nodefaults` answers to
  every query command that needs no arguments. The emulated monitor answers these queries with
  the recorded values (returns and errors alike), so that it looks like a real QEMU, not just
  like the schema.

Objects keep QEMU's member order (its QDict iteration order), which the monitor needs to write
them back byte for byte. Run from the repository root:

    ci/record-qemu-returns.py [--qemu-version 7.2|10.0]
"""
import json, os, socket, subprocess, tempfile, time
from qemu_bins import ROOT, parse_args

# Answered by the monitor itself (state, connection or build dependent), or too large.
SKIP = {"query-qmp-schema", "query-commands", "query-version", "query-status", "query-name",
        "query-chardev", "query-yank", "query-uuid",
        "x-query-jit"}  # x-query-jit: translation buffer sizes depend on the host


class Qmp:
    """A QEMU process with its monitor on a unix socket, negotiated; killed on close."""

    def __init__(self, argv, sock):
        self.proc = subprocess.Popen(argv)
        self.sock = socket.socket(socket.AF_UNIX)
        for _ in range(500):
            try:
                self.sock.connect(sock)
                break
            except OSError:
                time.sleep(0.01)
        self.reader = self.sock.makefile("rb")
        self.reader.readline()
        self.ask("qmp_capabilities")

    def ask(self, command):
        """The reply to `command` (events before it are dropped); dicts keep the wire order."""
        self.sock.sendall(json.dumps({"execute": command}).encode() + b"\n")
        while True:
            msg = json.loads(self.reader.readline())
            if "event" not in msg:
                return msg

    def close(self):
        self.proc.kill()
        self.proc.wait()


def write_json(path, value, trailing_newline):
    with open(path, "w") as out:
        json.dump(value, out, indent=1)
        if trailing_newline:
            out.write("\n")


def main():
    version, system, storage_daemon = parse_args(__doc__)
    out = os.path.join(ROOT, "specs", f"qemu-{version}")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, "qmp.sock")
        qsd = Qmp([storage_daemon, "--chardev", f"socket,id=m,path={sock},server=on,wait=off",
                   "--monitor", "chardev=m"], sock)
        try:
            write_json(os.path.join(out, "storage-daemon.schema.json"),
                       qsd.ask("query-qmp-schema")["return"], False)
        finally:
            qsd.close()
        os.unlink(sock)
        q = Qmp([system, "-machine", "none", "-nodefaults", "-display", "none",
                 "-qmp", f"unix:{sock},server=on,wait=off"], sock)
        try:
            entities = q.ask("query-qmp-schema")["return"]
            write_json(os.path.join(out, "system-x86_64.schema.json"), entities, False)
            types = {e["name"]: e for e in entities}

            def no_required_args(cmd):
                t = types.get(cmd.get("arg-type", "0"), {})
                return all("default" in m for m in t.get("members", []))

            names = [e["name"] for e in entities if e["meta-type"] == "command"
                     and e["name"].startswith(("query-", "x-query-")) and e["name"] not in SKIP
                     and no_required_args(e)]
            recorded = {n: q.ask(n) for n in names}
        finally:
            q.close()
    write_json(os.path.join(out, "system-x86_64.returns.json"),
               {"source": f"qemu-system-x86_64 {version} -machine none -nodefaults, argument-less queries",
                "replies": recorded}, True)
    print(f"wrote {out}: 2 schemas, {len(recorded)} replies")


main()
