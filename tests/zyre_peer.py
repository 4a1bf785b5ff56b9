"""Test-only helper: a zyre node (pyre, zeromq's Python implementation of ZRE) for
tests/zyre_interop.rs. Never part of zvtran.

usage: zyre_peer.py BEACON_PORT NAME SECONDS
Prints "uuid HEX" once started, then one line per event it gets from other nodes:
"ENTER NAME UUID-HEX", "EXIT NAME UUID-HEX"; exits after SECONDS.
"""
import sys
import time

import zmq
from pyre import Pyre


def main():
    port, name, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    node = Pyre(name)
    node.set_port(str(port).encode())
    node.set_interval("200")
    node.start()
    print("uuid", node.uuid().hex, flush=True)
    poller = zmq.Poller()
    poller.register(node.socket(), zmq.POLLIN)
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not dict(poller.poll(100)):
            continue
        frames = node.recv()
        kind = frames[0].decode()
        if kind in ("ENTER", "EXIT"):
            peer, peer_name = frames[1], frames[2].decode()
            print(kind, peer_name, peer.hex(), flush=True)
    node.stop()


if __name__ == "__main__":
    main()
