"""Demo: `zvtran cat` and a libzmq peer (pyzmq) on both ends of PUSH/PULL, REQ/REP and PUB/SUB."""
import subprocess
import sys
import time

import zmq

zvtran = sys.argv[1]
ctx = zmq.Context()
print(f"libzmq {zmq.zmq_version()} (pyzmq {zmq.pyzmq_version()}) on one side, zvtran on the other\n")


def show(cmd, stdin=None):
    print("$ " + " ".join(cmd))
    if stdin:
        print("  stdin: " + " | ".join(stdin.splitlines()))


def bound_endpoint(proc):
    line = proc.stderr.readline().strip()
    assert line.startswith("bound "), line
    return line.split(" ", 1)[1]


# 1. libzmq PUSH -> zvtran PULL: three messages, one of them multipart.
cmd = [zvtran, "cat", "-r", "-b", "PULL", "-n", "3", "tcp://127.0.0.1:*"]
show(cmd)
reader = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
endpoint = bound_endpoint(reader)
push = ctx.socket(zmq.PUSH)
push.connect(endpoint)
push.send(b"hello from libzmq")
push.send_multipart([b"frame one", b"frame two"])
push.send(bytes([0, 1, 2, 255]))
out, _ = reader.communicate(timeout=10)
print(out)
push.close()

# 2. zvtran REQ -> libzmq REP that shouts back.
rep = ctx.socket(zmq.REP)
port = rep.bind_to_random_port("tcp://127.0.0.1")
cmd = [zvtran, "cat", "-w", "-c", "REQ", f"tcp://127.0.0.1:{port}"]
show(cmd, "ping\nzeromq\n")
req = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
req.stdin.write("ping\nzeromq\n")
req.stdin.close()
for _ in range(2):
    rep.send(rep.recv().upper())
print(req.stdout.read())
req.wait(timeout=10)
rep.close()

# 3. zvtran PUB -> libzmq SUB subscribed to "news": the PUB waits for the subscription.
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"news")
port = sub.bind_to_random_port("tcp://127.0.0.1")
cmd = [zvtran, "cat", "-w", "-c", "PUB", "--wait-peers", "1", f"tcp://127.0.0.1:{port}"]
show(cmd, "sports: 1-0\nnews: zvtran speaks ZMTP 3.1\n")
pub = subprocess.Popen(cmd, stdin=subprocess.PIPE, text=True)
pub.stdin.write("sports: 1-0\nnews: zvtran speaks ZMTP 3.1\n")
pub.stdin.close()
print("libzmq SUB received:", sub.recv().decode())
pub.wait(timeout=10)
sub.close()

ctx.term()
ok = reader.returncode == 0 and req.returncode == 0 and pub.returncode == 0
print("\ndone" if ok else "\ndemo failed")
sys.exit(0 if ok else 1)
