"""Test-only helper: an independent TLS peer (Python's ssl module, OpenSSL) that speaks ZMTP 3.1
with the NULL mechanism by hand, for tests/tls_interop.rs. Never part of zvtran.

usage:
  zmtp_tls_peer.py server CERT KEY [CLIENT_CA]  listens on 127.0.0.1 (prints "PORT n"), accepts one
      TLS connection (asking for a client certificate signed by CLIENT_CA if given), acts as a PULL:
      prints each message's frames as "MSG hex,hex..." until the peer closes, then "END".
  zmtp_tls_peer.py client CA PORT COUNT         connects to 127.0.0.1:PORT checking the server's
      certificate against CA for the name localhost, acts as a PUSH: sends COUNT messages
      "m0".. and prints "SENT", or "TLS-ERROR reason" if the handshake fails.
"""
import socket
import ssl
import struct
import sys


def greeting():
    # Signature, version 3.1, NULL, as-server 0, filler.
    return b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 1]) + b"NULL".ljust(20, b"\x00") + b"\x00" * 32


def frame(body, command=False, more=False):
    flags = (4 if command else 0) | (1 if more else 0)
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def ready(socket_type):
    name, value = b"Socket-Type", socket_type.encode()
    props = bytes([len(name)]) + name + struct.pack(">I", len(value)) + value
    return frame(b"\x05READY" + props, command=True)


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out


def read_frame(s):
    flags = recv_exact(s, 1)[0]
    size = struct.unpack(">Q", recv_exact(s, 8))[0] if flags & 2 else recv_exact(s, 1)[0]
    return flags, recv_exact(s, size)


def handshake(s, mine, theirs):
    s.sendall(greeting())
    g = recv_exact(s, 64)
    assert g[0] == 0xFF and g[9] == 0x7F and g[10] == 3 and g[12:16] == b"NULL", g
    s.sendall(ready(mine))
    flags, body = read_frame(s)
    assert flags & 4 and body[:6] == b"\x05READY", body
    props, at = {}, 6
    while at < len(body):
        n = body[at]
        name = body[at + 1:at + 1 + n].decode()
        at += 1 + n
        size = struct.unpack(">I", body[at:at + 4])[0]
        props[name.lower()] = body[at + 4:at + 4 + size]
        at += 4 + size
    assert props.get("socket-type") == theirs.encode(), props


def server(cert, key, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    print("PORT", lsock.getsockname()[1], flush=True)
    raw, _ = lsock.accept()
    try:
        s = ctx.wrap_socket(raw, server_side=True)
    except ssl.SSLError as e:
        print("TLS-ERROR", e.reason, flush=True)
        return
    handshake(s, "PULL", "PUSH")
    try:
        while True:
            frames = []
            while True:
                flags, body = read_frame(s)
                if flags & 4:
                    continue  # a command (PING): nothing to do here
                frames.append(body.hex())
                if not flags & 1:
                    break
            print("MSG", ",".join(frames), flush=True)
    except (EOFError, ssl.SSLError, ConnectionError):
        print("END", flush=True)


def client(ca, port, count):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    raw = socket.create_connection(("127.0.0.1", port))
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
    except ssl.SSLError as e:
        print("TLS-ERROR", e.reason, flush=True)
        return
    handshake(s, "PUSH", "PULL")
    for i in range(count):
        s.sendall(frame(b"m%d" % i))
    print("SENT", flush=True)
    # An orderly end: close_notify, then wait for the peer to close.
    s.settimeout(5)
    try:
        s.unwrap()
    except (ssl.SSLError, OSError):
        pass
    s.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(*sys.argv[2:5])
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
