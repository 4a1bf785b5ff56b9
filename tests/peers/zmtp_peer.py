"""A libzmq (pyzmq) peer for zvtran's interop tests.

It binds or connects one socket, prints what the Rust test needs on stdout (one line per
event, flushed), follows a scenario, and exits 0 only if everything it checked held.
"""
import argparse
import sys
import threading

import zmq

# The messages libzmq sends first in the "exchange" scenario; the Rust side has the same list.
LIBZMQ_SET = [
    [b"from libzmq", b"", b"\x00\x01\xff"],
    [bytes(range(256))],
    [bytes(i % 251 for i in range(1 << 20))],
    [b""],
]


def say(*words):
    print(*words, flush=True)


def fail(why):
    say("FAIL", why)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--type", required=True)
    ap.add_argument("--bind", action="store_true", help="bind tcp://127.0.0.1:* and print PORT n")
    ap.add_argument("--connect", help="endpoint to connect to")
    ap.add_argument("--heartbeat-ivl", type=int, default=0)
    ap.add_argument("--scenario", required=True,
                    choices=["exchange", "subscriber", "publisher", "refused"])
    ap.add_argument("--timeout", type=int, default=10000, help="ms for any single wait")
    args = ap.parse_args()

    ctx = zmq.Context()
    sock = ctx.socket(getattr(zmq, args.type))
    sock.setsockopt(zmq.LINGER, 2000)
    sock.setsockopt(zmq.RCVTIMEO, args.timeout)
    sock.setsockopt(zmq.SNDTIMEO, args.timeout)
    if args.heartbeat_ivl:
        sock.setsockopt(zmq.HEARTBEAT_IVL, args.heartbeat_ivl)
    if args.scenario == "subscriber":
        sock.setsockopt(zmq.SUBSCRIBE, b"abc")

    if args.bind:
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        say("PORT", port)
    else:
        sock.connect(args.connect)
        say("CONNECTING")

    try:
        SCENARIOS[args.scenario](sock)
    except zmq.Again:
        fail("timed out")
    sock.close()
    ctx.term()
    say("OK")


def exchange(sock):
    """Send LIBZMQ_SET, then echo every message until [STOP], answered with [BYE]."""
    for msg in LIBZMQ_SET:
        sock.send_multipart(msg)
    echoed = 0
    while True:
        msg = sock.recv_multipart()
        if msg == [b"STOP"]:
            sock.send_multipart([b"BYE", str(echoed).encode()])
            return
        sock.send_multipart(msg)
        echoed += 1


def subscriber(sock):
    """SUB subscribed to "abc": expect abc-1 and abc-2 only, then cancel and report."""
    got = [sock.recv(), sock.recv()]
    if got != [b"abc-1", b"abc-2"]:
        fail(f"got {got!r}")
    say("RECEIVED", b",".join(got).decode())
    sock.setsockopt(zmq.UNSUBSCRIBE, b"abc")
    # Keep the socket's command queue moving until the CANCEL is on the wire.
    sock.poll(500)


def publisher(sock):
    """PUB: publish zzz-N and abc-N every 20 ms until the Rust side closes our stdin."""
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    n = 0
    while not done.wait(0.02):
        for topic in (b"zzz", b"abc"):
            sock.send(topic + b"-" + str(n).encode())
        n += 1
        if n > 1500:
            fail("the subscriber never finished")


def refused(sock):
    """Wait for a peer that must be refused; report that no message got through."""
    if sock.poll(1500, zmq.POLLIN):
        fail("received a message from an incompatible peer")


SCENARIOS = {
    "exchange": exchange,
    "subscriber": subscriber,
    "publisher": publisher,
    "refused": refused,
}

if __name__ == "__main__":
    main()
