"""Demo: a libzmq DEALER (pyzmq) and `zvtran probe` talk ZMTP 3.1 over tcp, then over ipc."""
import os
import subprocess
import sys
import tempfile

import zmq

zvtran = sys.argv[1]
ctx = zmq.Context()
print(f"libzmq {zmq.zmq_version()} (pyzmq {zmq.pyzmq_version()}) on one side, zvtran on the other\n")

with tempfile.TemporaryDirectory() as tmp:
    for endpoint in ("tcp://127.0.0.1:*", f"ipc://{tmp}/demo.sock"):
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.ROUTING_ID, b"libzmq-side")
        sock.setsockopt(zmq.RCVTIMEO, 5000)
        sock.bind(endpoint)
        where = sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        print(f"$ zvtran probe --type DEALER --routing-id zvtran-side --send $'hello from zvtran\\tsecond frame' --recv 1 {where}")
        probe = subprocess.Popen(
            [zvtran, "probe", "--type", "DEALER", "--routing-id", "zvtran-side",
             "--send", "hello from zvtran\tsecond frame", "--recv", "1", where],
        )
        sock.send_multipart([b"hello from libzmq", bytes([0, 1, 2, 255])])
        frames = sock.recv_multipart()
        status = probe.wait(timeout=10)
        print(f"libzmq received: {frames!r}\n")
        sock.close(linger=0)
        if status != 0 or frames != [b"hello from zvtran", b"second frame"]:
            sys.exit(f"demo failed (zvtran exit {status})")
ctx.term()
print("done: both directions worked over tcp and ipc")
