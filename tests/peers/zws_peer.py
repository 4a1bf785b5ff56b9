"""Test-only helper: an independent WebSocket peer (the `websockets` library from PyPI) that speaks
ZWS 2.0 with the NULL mechanism by hand, for tests/ws.rs. Never part of zvtran.

usage:
  zws_peer.py client URI COUNT   connects offering ZWS2.0 (no mechanism: no READY, the only
                                 subprotocol a browser can name), sends its routing id (empty)
                                 and COUNT messages "w0".. (the last as two frames), prints
                                 "SENT"
  zws_peer.py server COUNT       serves on 127.0.0.1 (prints "PORT n"), accepts one client,
                                 choosing ZWS2.0, exchanges routing ids (each side's first
                                 message), prints each message's frames as "MSG hex,hex", COUNT
                                 times, then "DONE"

The websockets library refuses "ZWS2.0/NULL" as a subprotocol name (`/` is not allowed in an
HTTP token), as browsers do.
"""
import struct
import sys

from websockets.sync.client import connect
from websockets.sync.server import serve

MORE, COMMAND = 1, 2


def ready(socket_type):
    name, value = b"Socket-Type", socket_type.encode()
    return bytes([COMMAND]) + b"\x05READY" + bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


def expect_ready(ws, theirs):
    msg = ws.recv()
    assert isinstance(msg, bytes) and msg[0] == COMMAND and msg[1:7] == b"\x05READY", msg
    assert b"Socket-Type" in msg and msg.endswith(theirs.encode()), msg


def recv_message(ws):
    frames = []
    while True:
        m = ws.recv()
        if m[0] & COMMAND:
            continue  # PING and the like
        frames.append(m[1:].hex())
        if not m[0] & MORE:
            return frames


def client(uri, count):
    with connect(uri, subprotocols=["ZWS2.0"]) as ws:
        assert ws.subprotocol == "ZWS2.0", ws.subprotocol
        ws.send(b"\x00")  # our routing id: empty
        for i in range(count - 1):
            ws.send(b"\x00" + b"w%d" % i)
        ws.send(bytes([MORE]) + b"last")
        ws.send(b"\x00" + b"x" * 70000)
        print("SENT", flush=True)


def server(count):
    def handler(ws):
        assert ws.subprotocol == "ZWS2.0", ws.subprotocol
        ws.send(b"\x00")  # our routing id: empty
        first = ws.recv()
        assert first == b"\x00", f"the client's routing id comes first: {first!r}"
        for _ in range(count):
            print("MSG", ",".join(recv_message(ws)), flush=True)
        print("DONE", flush=True)

    with serve(handler, "127.0.0.1", 0, subprotocols=["ZWS2.0"], max_size=None) as srv:
        print("PORT", srv.socket.getsockname()[1], flush=True)
        srv.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]))
    else:
        server(int(sys.argv[2]))
