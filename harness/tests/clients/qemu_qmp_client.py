#!/usr/bin/env python3
"""A short script on QEMU's official Python client library (qemu.qmp's QMPClient), as a
management script would use it: connect (qemu.qmp waits for the greeting and negotiates,
enabling oob when offered), run a few queries, stop and cont, an exec-oob command beside an
in-band one when oob is on, print every event, disconnect.

Usage: qemu_qmp_client.py SOCKET_PATH (or HOST:PORT)
"""
import asyncio
import json
import sys

from qemu.qmp import QMPClient


def address(arg):
    if ":" in arg and not arg.startswith("/"):
        host, port = arg.rsplit(":", 1)
        return (host, int(port))
    return arg


async def main(arg):
    qmp = QMPClient("qmpspec-check-client")
    await qmp.connect(address(arg))

    async def print_events():
        async for ev in qmp.events:
            print("event", ev["event"], json.dumps(ev.get("data", {}), sort_keys=True), flush=True)

    watcher = asyncio.create_task(print_events())
    print("status", json.dumps(await qmp.execute("query-status"), sort_keys=True), flush=True)
    print("version", json.dumps(await qmp.execute("query-version"), sort_keys=True), flush=True)
    await qmp.execute("stop")
    await qmp.execute("cont")
    if "oob" in qmp.greeting.QMP.capabilities:
        status, yank = await asyncio.gather(
            qmp.execute("query-status"), qmp.execute("query-yank", oob=True)
        )
        print("oob", json.dumps(yank, sort_keys=True), flush=True)
    schema = await qmp.execute("query-qmp-schema")
    print("schema entries", len(schema), flush=True)
    await asyncio.sleep(0.2)  # late events
    watcher.cancel()
    await qmp.disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
