"""Writes the seed corpus: fuzz/corpus/<target>/seed-<name>. Run from anywhere; stdlib only."""
import pathlib
import struct

here = pathlib.Path(__file__).parent
GREETING = b"\xff" + b"\0" * 7 + b"\x01\x7f\x03\x01" + b"NULL".ljust(20, b"\0") + b"\0" + b"\0" * 31
GREETING_30 = GREETING[:11] + b"\x00" + GREETING[12:]
GREETING_PLAIN = GREETING[:12] + b"PLAIN".ljust(20, b"\0") + b"\x01" + b"\0" * 31


def frame(body, more=False, command=False):
    flags = (1 if more else 0) | (4 if command else 0)
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def prop(name, value):
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


def ready_body(socket_type, identity=None):
    body = b"\x05READY" + prop(b"Socket-Type", socket_type)
    if identity is not None:
        body += prop(b"Identity", identity)
    return body


COMMANDS = {
    "ready": ready_body(b"DEALER", b""),
    "ready-x": ready_body(b"PUB") + prop(b"X-App", b"demo"),
    "error": b"\x05ERROR\x13Invalid socket type",
    "ping": b"\x04PING\x00\x14",
    "ping-ctx": b"\x04PING\x00\x00" + b"0123456789abcdef",
    "pong": b"\x04PONGctx",
    "subscribe": b"\x09SUBSCRIBEabc",
    "cancel": b"\x06CANCEL",
    "join": b"\x04JOINweather",
    "leave": b"\x05LEAVEweather",
    "hello": b"\x05HELLO\x05admin\x06secret",
}

TRAFFIC = (
    frame(b"a", more=True) + frame(b"") + frame(b"x" * 300)
    + frame(COMMANDS["ping"], command=True)
    + frame(COMMANDS["subscribe"], command=True)
    + frame(b"\x01topic") + frame(b"\x00topic")
    + frame(b"\x06FUTURE", command=True)
    + frame(COMMANDS["join"], command=True)
    + frame(COMMANDS["error"], command=True)
)

# SocketType::ALL order: PAIR PUB SUB REQ REP DEALER ROUTER PULL PUSH XPUB XSUB ...
DEALER, XPUB, PULL = 5, 9, 7
HANDSHAKE = {
    "past-handshake": bytes([DEALER, 1, 7]) + TRAFFIC,
    "full-handshake": bytes([DEALER, 0, 64]) + GREETING + frame(ready_body(b"ROUTER"), command=True) + TRAFFIC,
    "zmtp30-xpub": bytes([XPUB, 0, 200]) + GREETING_30 + frame(ready_body(b"XSUB"), command=True) + frame(b"\x01abc"),
    "limited": bytes([PULL, 1 | (2 << 1), 3]) + frame(b"y" * 20) + b"\x02\x40\0\0\0\0\0\0\0",
    "plain-mismatch": bytes([PULL, 0, 64]) + GREETING_PLAIN,
    "incompatible": bytes([PULL, 0, 9]) + GREETING + frame(ready_body(b"PULL"), command=True),
}

# Secured targets: byte 1 bit 0 = greeting with the mechanism first, bit 1 = deny.
META = prop(b"Socket-Type", b"PUSH")
PLAIN_SERVER = {
    "hello-initiate": bytes([PULL, 1, 16]) + frame(COMMANDS["hello"], command=True)
    + frame(b"\x08INITIATE" + META, command=True) + TRAFFIC,
    "denied": bytes([PULL, 3, 64]) + frame(COMMANDS["hello"], command=True) + TRAFFIC,
    "bad-hello": bytes([PULL, 1, 5]) + frame(b"\x05HELLO\xff", command=True),
}
PLAIN_CLIENT = {
    "welcome-ready": bytes([8, 1, 16]) + frame(b"\x07WELCOME", command=True)
    + frame(b"\x05READY" + prop(b"Socket-Type", b"PULL"), command=True) + TRAFFIC,
    "refused-libzmq": bytes([8, 1, 64]) + frame(b"^RROR\x03400", command=True),
    "refused-rfc": bytes([8, 1, 64]) + frame(b"\x05ERROR\x03400", command=True),
}
CURVE_SERVER = {
    "hello": bytes([PULL, 1, 64]) + frame(b"\x05HELLO\x01\x00" + b"\0" * 72 + b"C" * 32 + b"\0" * 8 + b"B" * 80, command=True),
    "initiate": bytes([PULL, 1, 64]) + frame(b"\x08INITIATE" + b"K" * 96 + b"\0" * 8 + b"B" * 200, command=True),
}
SECURED = {
    # Bit 5: a genuine handshake first, then these bytes as traffic.
    "traffic": bytes([PULL, 0x20, 16]) + TRAFFIC,
    "boxes": bytes([PULL, 0x20, 64]) + frame(b"\x07MESSAGE" + b"\0" * 7 + b"\x02" + b"M" * 40)
    + frame(b"\x07MESSAGE" + b"\0" * 7 + b"\x01" + b"M" * 17),
}
CURVE_CLIENT = {
    "welcome": bytes([8, 1, 64]) + frame(b"\x07WELCOME" + b"\0" * 16 + b"W" * 144, command=True),
    "ready": bytes([8, 1, 64]) + frame(b"\x05READY" + b"\0" * 8 + b"R" * 40, command=True),
    "message": bytes([8, 1, 9]) + frame(b"\x07MESSAGE" + b"\0" * 8 + b"M" * 33),
}

SEEDS = {
    "frame": {
        "messages": b"\x20" + frame(b"hello", more=True) + frame(b"") + frame(b"z" * 300),
        "command": b"\x40" + frame(COMMANDS["ready"], command=True),
        "oversize": b"\x08" + b"\x02\x40\0\0\0\0\0\0\0",
    },
    "greeting": {"libzmq": GREETING, "zmtp30": GREETING_30, "plain-server": GREETING_PLAIN},
    "command": COMMANDS,
    "handshake_client": HANDSHAKE,
    "handshake_server": HANDSHAKE,
    "plain_server": {**PLAIN_SERVER, **SECURED},
    "plain_client": {**PLAIN_CLIENT, **SECURED},
    "curve_server": {**CURVE_SERVER, **SECURED},
    "curve_client": {**CURVE_CLIENT, **SECURED},
    "ws_frames": {
        # byte 0: bit 0 = we are the server (frames come masked), bits 1-7 = chunk size.
        "hello-masked": b"\x21" + b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
        "fragments": b"\x20" + b"\x01\x03Hel\x89\x02hi\x80\x02lo\x88\x02\x03\xe8",
        "huge-length": b"\x10" + b"\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff",
        "request": b"\x00" + b"GET /zmq HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ZWS2.0\r\n\r\n",
    },
    "udp_datagram": {
        "message": b"\x07weathersunny",
        "empty-body": b"\x03abc",
        "past-end": b"\x05abc",
        "empty": b"",
    },
}

for target, seeds in SEEDS.items():
    d = here / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (d / f"seed-{name}").write_bytes(data)
print("wrote", sum(len(s) for s in SEEDS.values()), "seeds")
