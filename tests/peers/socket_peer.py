"""A libzmq (pyzmq) socket driven line by line from a Rust test.

Usage: socket_peer.py TYPE. Commands on stdin, one reply line each on stdout:
  opt NAME VALUE        setsockopt; VALUE is decimal for numeric options, hex for bytes ("_" empty)
  bind EP               -> BOUND <last endpoint>
  connect EP | disconnect EP | unbind EP
  send F F ...          frames in hex, "_" for an empty frame   -> OK | ERR <errno name>
  recv MS               -> MSG F F ... | TIMEOUT
  sendseq N [F ...]     send N messages: the given frames (hex) then str(i)
  recvseq N [SKIP]      receive N messages whose last frame is str(i), in order; SKIP leading
                        frames are checked to be present; "sync" messages before the first are
                        ignored                                    -> SEQ OK | SEQ BAD <why>
  echo N MS             receive N messages and send each back unchanged -> OK | TIMEOUT
  reqseq N [F ...]      N round trips: send the frames then str(i), expect the same back
  close                 close the socket (linger as set)
  keypair               zmq.curve_keypair()                    -> KEYS <public z85> <secret z85>
  auth plain USER PASS  start a ThreadAuthenticator accepting USER/PASS (hex) for PLAIN
  auth curve KEY ...    ... accepting only these CURVE client keys (Z85; "any" for any)
  events [MS [NAME]]    the first call starts a monitor; later calls return the events that
                        come until none for MS, or until NAME  -> EVENTS NAME:value ...
                        (e.g. HANDSHAKE_FAILED_AUTH:400)
  quit
Any exception is reported as ERR and the process keeps going.
"""
import sys

import zmq

INT_OPTS = {
    "SNDHWM", "RCVHWM", "LINGER", "RECONNECT_IVL", "RECONNECT_IVL_MAX", "HEARTBEAT_IVL",
    "HEARTBEAT_TIMEOUT", "HEARTBEAT_TTL", "MAXMSGSIZE", "ROUTER_MANDATORY", "ROUTER_HANDOVER",
    "XPUB_VERBOSE", "CONFLATE", "IMMEDIATE", "SNDTIMEO", "RCVTIMEO", "PLAIN_SERVER",
    "CURVE_SERVER", "ZAP_ENFORCE_DOMAIN",
}

EVENT_NAMES = {
    getattr(zmq, n): n[len("EVENT_"):]
    for n in dir(zmq)
    if n.startswith("EVENT_") and n not in ("EVENT_ALL", "EVENT_ALL_V1", "EVENT_ALL_V2")
}


class Keys:
    """A CURVE credentials provider allowing a fixed set of client keys."""

    def __init__(self, keys):
        self.keys = set(keys)

    def callback(self, domain, key):
        return key in self.keys


class State:
    auth = None
    monitor = None


def frames(tokens):
    return [b"" if t == "_" else bytes.fromhex(t) for t in tokens]


def show(msg):
    return " ".join(f.hex() if f else "_" for f in msg)


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    ctx = zmq.Context()
    sock = ctx.socket(getattr(zmq, sys.argv[1]))
    sock.setsockopt(zmq.LINGER, 1000)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd == "quit":
                break
            reply = run(sock, cmd, args)
        except zmq.ZMQError as e:
            reply = "ERR " + zmq.strerror(e.errno).replace(" ", "_") + f" {e.errno}"
        except Exception as e:  # noqa: BLE001 - reported to the test
            reply = f"ERR {type(e).__name__}: {e}"
        out(reply)
    sock.close()
    if State.monitor is not None:
        State.monitor.close()
    if State.auth is not None:
        State.auth.stop()
    ctx.term()


def run(sock, cmd, args):
    if cmd == "keypair":
        public, secret = zmq.curve_keypair()
        return f"KEYS {public.decode()} {secret.decode()}"
    if cmd == "auth":
        from zmq.auth.thread import ThreadAuthenticator

        if State.auth is None:
            State.auth = ThreadAuthenticator(sock.context)
            State.auth.start()
        if args[0] == "plain":
            user, password = (f.decode() for f in frames(args[1:3]))
            State.auth.configure_plain(domain="*", passwords={user: password})
        elif args[1:] == ["any"]:
            State.auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        else:
            keys = Keys(k.encode() for k in args[1:])
            State.auth.configure_curve_callback(domain="*", credentials_provider=keys)
        return "OK"
    if cmd == "events":
        if State.monitor is None:
            State.monitor = sock.get_monitor_socket()
            return "EVENTS"
        from zmq.utils.monitor import recv_monitor_message

        seen = []
        wait = int(args[0]) if args else 0
        while State.monitor.poll(wait, zmq.POLLIN):
            ev = recv_monitor_message(State.monitor)
            name = EVENT_NAMES.get(ev["event"], ev["event"])
            seen.append(f"{name}:{ev['value']}")
            if len(args) > 1 and name == args[1]:
                break
        return "EVENTS " + " ".join(seen)
    if cmd == "opt":
        name, value = args[0].upper(), args[1]
        opt = getattr(zmq, name)
        sock.setsockopt(opt, int(value) if name in INT_OPTS else frames([value])[0])
        return "OK"
    if cmd == "bind":
        sock.bind(args[0])
        return "BOUND " + sock.getsockopt(zmq.LAST_ENDPOINT).decode()
    if cmd in ("connect", "disconnect", "unbind"):
        getattr(sock, cmd)(args[0])
        return "OK"
    if cmd == "send":
        sock.send_multipart(frames(args))
        return "OK"
    if cmd == "recv":
        if sock.poll(int(args[0]), zmq.POLLIN):
            return "MSG " + show(sock.recv_multipart())
        return "TIMEOUT"
    if cmd == "sendseq":
        head = frames(args[1:])
        for i in range(int(args[0])):
            sock.send_multipart(head + [str(i).encode()])
        return "OK"
    if cmd == "recvseq":
        n, skip = int(args[0]), int(args[1]) if len(args) > 1 else 0
        i = 0
        while i < n:
            if not sock.poll(10000, zmq.POLLIN):
                return f"SEQ BAD timed out after {i}"
            msg = sock.recv_multipart()
            if i == 0 and msg[-1] == b"sync":
                continue
            if len(msg) != skip + 1 or msg[-1] != str(i).encode():
                return f"SEQ BAD at {i}: {show(msg)}"
            i += 1
        return "SEQ OK"
    if cmd == "echo":
        for _ in range(int(args[0])):
            if not sock.poll(int(args[1]), zmq.POLLIN):
                return "TIMEOUT"
            sock.send_multipart(sock.recv_multipart())
        return "OK"
    if cmd == "reqseq":
        head = frames(args[1:])
        for i in range(int(args[0])):
            msg = head + [str(i).encode()]
            sock.send_multipart(msg)
            if not sock.poll(10000, zmq.POLLIN):
                return f"SEQ BAD no reply to {i}"
            got = sock.recv_multipart()
            if got != msg:
                return f"SEQ BAD at {i}: {show(got)}"
        return "SEQ OK"
    if cmd == "close":
        sock.close()
        return "OK"
    return f"ERR unknown command {cmd}"


if __name__ == "__main__":
    main()
