#!/usr/bin/env python3
"""Drive a QMP server with QEMU's official Python client (qemu.qmp) and print what it saw as
one JSON object. Usage: python-client.py SOCKET_PATH

Connects over a unix socket (the client negotiates capabilities, enabling oob if offered),
runs query-status, stop and cont (receiving STOP and RESUME events), query-version, and quit.
harness/tests/monitor_python.rs runs it against `qmpspec serve --unix` and against QEMU and
compares the results."""
import asyncio
import json
import sys

from qemu.qmp import EventListener, QMPClient


async def main(path: str) -> dict:
    qmp = QMPClient("qmpspec-python-client")
    await qmp.connect(path)
    seen = {"capabilities": list(qmp.greeting.QMP.capabilities)}
    version = qmp.greeting.QMP.version
    seen["greeting_version"] = dict(version.qemu) if hasattr(version, "qemu") else None
    seen["status_before"] = await qmp.execute("query-status")
    listener = EventListener(("STOP", "RESUME"))
    events = []
    with qmp.listen(listener):
        seen["stop"] = await qmp.execute("stop")
        events.append((await asyncio.wait_for(listener.get(), 10))["event"])
        seen["status_stopped"] = await qmp.execute("query-status")
        seen["cont"] = await qmp.execute("cont")
        events.append((await asyncio.wait_for(listener.get(), 10))["event"])
    seen["events"] = events
    v = await qmp.execute("query-version")
    seen["version"] = v["qemu"]
    seen["has_package"] = isinstance(v.get("package"), str)
    try:
        seen["quit"] = await qmp.execute("quit")
    except Exception as e:  # the server may hang up before the reply is read
        seen["quit"] = "disconnected: " + type(e).__name__
    try:
        await qmp.disconnect()
        seen["disconnect"] = "clean"
    except EOFError:
        # The server hung up after quit, before the client said goodbye: QEMU does that too.
        seen["disconnect"] = "server closed first"
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1])), sort_keys=True))
