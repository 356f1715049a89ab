#!/usr/bin/env python3
"""A small QMP client on a raw socket (Python's standard library only), for
harness/tests/client_check.rs. Without --bug it follows the protocol: it waits for the
greeting, negotiates, sends a few commands with ids, waits for each reply (printing the
events that come meanwhile, dropping replies with ids it never sent), prints late events,
and exits 0 (1 when the connection is lost).

Each --bug breaks one client duty, the way clients in the wild do:
  early         sends qmp_capabilities without waiting for the greeting
  drop-events   discards the events that come while it waits for a reply
  bad-json      writes one command with a trailing comma (not JSON)
  first-message takes the first message after a command for its reply (events, ids ignored)
  hang-on-eof   does not notice that the server closed the connection, and waits forever

With --reconnect, a connection lost while waiting for a reply is opened again (greeting,
negotiation) and the command sent again, once.

Usage: raw_client.py [--reconnect] [--bug NAME] unix:PATH | tcp:HOST:PORT
"""
import json
import socket
import sys
import time

COMMANDS = ["query-status", "query-version", "stop", "cont"]


class Conn:
    def __init__(self, address):
        if address.startswith("unix:"):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(address[5:])
        else:
            host, port = address[4:].rsplit(":", 1)
            self.sock = socket.create_connection((host, int(port)))
        self.buf = b""

    def send(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def recv(self, timeout=None):
        """The next message, or None at the end of the stream (or after timeout)."""
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)


def show_event(msg):
    print("event", msg["event"], json.dumps(msg.get("data", {}), sort_keys=True), flush=True)


class Lost(Exception):
    """The server closed the connection while a reply was awaited."""


def main():
    args = sys.argv[1:]
    bug = None
    reconnect = False
    if args[0] == "--reconnect":
        reconnect, args = True, args[1:]
    if args[0] == "--bug":
        bug, args = args[1], args[2:]
    conn = None

    def wait_reply(want_id):
        while True:
            msg = conn.recv(timeout=5)
            if msg is None:
                if bug == "hang-on-eof":
                    while True:
                        time.sleep(1)
                raise Lost()
            if bug == "first-message":
                return msg
            if "event" in msg:
                if bug != "drop-events":
                    show_event(msg)
                continue
            if msg.get("id") == want_id:
                return msg
            if "error" in msg and "id" not in msg:
                # An error found before the server read the id (the spec allows it).
                return msg
            # A reply with an id this client never sent: dropped, as the spec says.

    def connect():
        nonlocal conn
        conn = Conn(args[0])
        if bug == "early":
            conn.send('{"execute": "qmp_capabilities"}')
        greeting = conn.recv()
        if greeting is None or "QMP" not in greeting:
            print("no greeting", file=sys.stderr)
            sys.exit(1)
        if bug != "early":
            conn.send('{"execute": "qmp_capabilities"}')
        reply = wait_reply(None)
        if "return" not in reply:
            print("negotiation failed:", reply, file=sys.stderr)
            sys.exit(1)

    def run(n, name):
        if bug == "bad-json" and name == "query-version":
            conn.send('{"execute": "query-version", "id": %d,}' % n)
        else:
            conn.send(json.dumps({"execute": name, "id": n}))
        return wait_reply(n)

    try:
        connect()
    except Lost:
        print("connection lost while negotiating", file=sys.stderr)
        return 1
    for n, name in enumerate(COMMANDS, 1):
        try:
            reply = run(n, name)
        except Lost:
            if not reconnect:
                print("connection lost while waiting for a reply", file=sys.stderr)
                return 1
            print("connection lost while waiting for a reply; reconnecting", file=sys.stderr)
            reconnect = False
            try:
                connect()
                reply = run(n, name)
            except Lost:
                print("connection lost again", file=sys.stderr)
                return 1
        print(name, json.dumps(reply.get("return", reply.get("error")), sort_keys=True), flush=True)
    # Late events.
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        msg = conn.recv(timeout=max(0.01, deadline - time.monotonic()))
        if msg is None:
            break
        if "event" in msg:
            show_event(msg)
    conn.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
