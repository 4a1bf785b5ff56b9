//! Shared pieces of the fuzz targets: an allocator that records the largest request, and the
//! scripted peer input used by the handshake targets.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use zmtp::{
    AuthOutcome, Config, Connection, Curve, Error, Event, KeyPair, Mechanism, Plain, Role,
    SecretKey, SocketType,
};

/// The system allocator, recording the largest size asked for since the last reset.
pub struct TrackingAlloc;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for TrackingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result with the largest single allocation it made.
pub fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.store(0, Ordering::Relaxed);
    let r = f();
    (r, LARGEST.load(Ordering::Relaxed))
}

/// A fuzzer-controlled peer for one of our connections, decoded from raw input:
/// byte 0 picks our socket type, byte 1 the options, byte 2 the chunk size, the rest is what
/// the peer sends. Option bit 0 puts a valid greeting and a compatible READY first, so the
/// fuzzer starts past the handshake; bits 1-3 set `max_msg_size` (0 = none, else 2^(2n));
/// bit 4 feeds the bytes as an I/O thread does (see [`feed_as_driver`]).
pub fn run_peer(role: Role, data: &[u8]) {
    let [kind, options, chunk, rest @ ..] = data else {
        return;
    };
    let ours = SocketType::ALL[usize::from(*kind) % SocketType::ALL.len()];
    let mut config = Config::new(ours, role);
    let max_bits = (options >> 1) & 7;
    config.max_msg_size = (max_bits > 0).then(|| 1u64 << (2 * max_bits));
    config.heartbeat_interval = Some(Duration::from_millis(100));
    config.heartbeat_ttl = Some(Duration::from_millis(300));

    let mut input = Vec::new();
    if options & 1 == 1 {
        input.extend_from_slice(&zmtp_greeting());
        let theirs = SocketType::ALL
            .into_iter()
            .find(|t| ours.is_compatible(*t))
            .unwrap_or(ours);
        input.extend_from_slice(&ready(theirs));
    }
    input.extend_from_slice(rest);
    let chunk = usize::from(*chunk).max(1);

    // Memory may grow with what the peer sends, never with what it declares.
    let bound = 4 * input.len() + 512 * 1024;
    let reads = options & 16 != 0;
    let ((), largest) = largest_allocation(|| drive(config, &input, chunk, None, reads));
    assert!(
        largest <= bound,
        "allocated {largest} bytes for {} input bytes",
        input.len()
    );
}

/// The secured mechanisms the `plain_*` and `curve_*` targets run.
#[derive(Debug, Clone, Copy)]
pub enum Secure {
    /// PLAIN (RFC 24).
    Plain,
    /// CURVE (RFC 26) with fixed test keys.
    Curve,
}

/// The fixed long-term keys of the CURVE targets: (server, client).
pub fn test_keys() -> (KeyPair, KeyPair) {
    (
        KeyPair::from_secret(SecretKey::from_bytes([0x11; 32])),
        KeyPair::from_secret(SecretKey::from_bytes([0x22; 32])),
    )
}

/// Like [`run_peer`], for a PLAIN or CURVE connection of ours playing `role` (a server asks
/// for authentication). Byte 1's bit 0 puts a greeting announcing the mechanism first; bit 1
/// makes authentication deny instead of allow; bits 2-4 set `max_msg_size`; bit 5 first runs
/// a genuine handshake with a real peer of the other role, so the fuzzed bytes arrive as
/// traffic on a secured connection (for CURVE: MESSAGE boxes, their lengths and nonces).
pub fn run_secure_peer(secure: Secure, role: Role, data: &[u8]) {
    let [kind, options, chunk, rest @ ..] = data else {
        return;
    };
    let ours = SocketType::ALL[usize::from(*kind) % SocketType::ALL.len()];
    let mut config = Config::new(ours, role);
    let (server, client) = test_keys();
    config.mechanism = match (secure, role) {
        (Secure::Plain, Role::Server) => Mechanism::Plain(Plain::Server),
        (Secure::Plain, Role::Client) => Mechanism::Plain(Plain::Client {
            username: "admin".into(),
            password: "secret".into(),
        }),
        (Secure::Curve, Role::Server) => Mechanism::Curve(Curve::Server { keys: server }),
        (Secure::Curve, Role::Client) => Mechanism::Curve(Curve::Client {
            keys: client,
            server_key: server.public,
        }),
    };
    config.authenticate = role == Role::Server;
    let max_bits = (options >> 2) & 7;
    config.max_msg_size = (max_bits > 0).then(|| 1u64 << (2 * max_bits));
    config.heartbeat_interval = Some(Duration::from_millis(100));
    let answer = if options & 2 == 0 {
        AuthOutcome::allow()
    } else {
        AuthOutcome::Deny {
            status: 400,
            text: "fuzz".into(),
        }
    };
    let mut input = Vec::new();
    if options & 1 == 1 {
        let name: &[u8] = match secure {
            Secure::Plain => b"PLAIN",
            Secure::Curve => b"CURVE",
        };
        let mut g = zmtp_greeting();
        g[12..32].fill(0);
        g[12..12 + name.len()].copy_from_slice(name);
        g[32] = u8::from(role == Role::Client);
        input.extend_from_slice(&g);
    }
    input.extend_from_slice(rest);
    let chunk = usize::from(*chunk).max(1);
    let peer = (options & 0x20 != 0 && options & 1 == 0).then(|| {
        let (theirs, their_role) = match role {
            Role::Server => (config.mechanism.clone(), Role::Client),
            Role::Client => (config.mechanism.clone(), Role::Server),
        };
        let (server, client) = test_keys();
        let mut c = Config::new(peer_type(ours), their_role);
        c.mechanism = match (theirs, their_role) {
            (Mechanism::Plain(_), Role::Client) => Mechanism::Plain(Plain::Client {
                username: "admin".into(),
                password: "secret".into(),
            }),
            (Mechanism::Plain(_), _) => Mechanism::Plain(Plain::Server),
            (_, Role::Client) => Mechanism::Curve(Curve::Client {
                keys: client,
                server_key: server.public,
            }),
            _ => Mechanism::Curve(Curve::Server { keys: server }),
        };
        c
    });
    let bound = 4 * input.len() + 512 * 1024;
    let ((), largest) = largest_allocation(|| drive_secure(config, peer, &input, chunk, answer));
    assert!(
        largest <= bound,
        "allocated {largest} bytes for {} input bytes",
        input.len()
    );
}

/// A socket type that can talk to `ours`.
fn peer_type(ours: SocketType) -> SocketType {
    SocketType::ALL
        .into_iter()
        .find(|t| ours.is_compatible(*t))
        .unwrap_or(ours)
}

fn drive_secure(
    config: Config,
    peer: Option<Config>,
    input: &[u8],
    chunk: usize,
    answer: AuthOutcome,
) {
    let Some(peer) = peer else {
        return drive(config, input, chunk, Some(answer), false);
    };
    // A genuine handshake first; the fuzzed bytes then follow on the secured connection.
    let start = Instant::now();
    let mut ours = Connection::new(config, start).expect("valid config");
    let mut theirs = Connection::new(peer, start).expect("valid config");
    let mut ready = false;
    for _ in 0..16 {
        if !pump(&mut ours, &mut theirs, start) || !pump(&mut theirs, &mut ours, start) {
            return;
        }
        for conn in [&mut ours, &mut theirs] {
            while let Some(ev) = conn.poll_event() {
                if matches!(ev, Event::Authenticate(_))
                    && conn.authenticate(AuthOutcome::allow(), start).is_err()
                {
                    return;
                }
            }
        }
        if ours.is_ready() && theirs.is_ready() {
            ready = true;
            break;
        }
    }
    assert!(ready, "a genuine handshake must complete");
    let _ = answer;
    for (i, piece) in input.chunks(chunk).enumerate() {
        let now = start + Duration::from_millis(10 * i as u64);
        let result = ours.handle_bytes(piece, now);
        while let Some(ev) = ours.poll_event() {
            assert!(
                !matches!(ev, Event::Ready(_) | Event::Authenticate(_)),
                "handshake event after the handshake: {ev:?}"
            );
        }
        while ours.poll_transmit().is_some() {}
        if let Err(e) = result {
            assert!(!matches!(e, Error::Closed), "first error cannot be Closed");
            assert_eq!(ours.handle_bytes(b"x", start), Err(Error::Closed));
            return;
        }
    }
}

/// Moves what `from` wrote into `to`; false if `to` failed.
fn pump(from: &mut Connection, to: &mut Connection, now: Instant) -> bool {
    while let Some(bytes) = from.poll_transmit() {
        if to.handle_bytes(&bytes, now).is_err() {
            return false;
        }
    }
    true
}

/// Feeds `piece` the way the I/O thread does: into [`Connection::read_buffer`], no more per
/// read than its spare capacity and [`Connection::read_limit`], each read followed by
/// [`Connection::handle_read`]. Every read must have room for at least one octet (a read of
/// none would look like the end of the stream).
fn feed_as_driver(conn: &mut Connection, mut piece: &[u8], now: Instant) -> Result<(), Error> {
    while !piece.is_empty() {
        let limit = conn.read_limit();
        let buf = conn.read_buffer();
        let room = (buf.capacity() - buf.len()).min(limit);
        assert!(room > 0, "a read with no room");
        let n = room.min(piece.len());
        buf.extend_from_slice(&piece[..n]);
        piece = &piece[n..];
        conn.handle_read(now)?;
    }
    Ok(())
}

fn drive(config: Config, input: &[u8], chunk: usize, answer: Option<AuthOutcome>, reads: bool) {
    let start = Instant::now();
    let mut conn = Connection::new(config, start).expect("valid config");
    let mut ready_seen = false;
    let mut failed = None;
    let mut auth_failed = None;
    for (i, piece) in input.chunks(chunk).enumerate() {
        let now = start + Duration::from_millis(10 * i as u64);
        let result = conn.handle_timeout(now).and_then(|()| {
            if reads {
                feed_as_driver(&mut conn, piece, now)
            } else {
                conn.handle_bytes(piece, now)
            }
        });
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Ready(_) => {
                    assert!(!ready_seen, "Ready twice");
                    ready_seen = true;
                }
                Event::Authenticate(_) => {
                    assert!(!ready_seen, "authentication after Ready");
                    let outcome = answer.clone().expect("asked only when configured");
                    // A refusal fails the connection; the checks below still apply.
                    if let Err(e) = conn.authenticate(outcome, now) {
                        auth_failed = Some(e);
                    }
                }
                _ => assert!(ready_seen, "traffic event before Ready: {ev:?}"),
            }
        }
        while conn.poll_transmit().is_some() {}
        if let Some(e) = auth_failed.take() {
            failed = Some(e);
            break;
        }
        if let Err(e) = result {
            failed = Some(e);
            break;
        }
    }
    if let Some(e) = failed {
        // Final: the connection refuses everything afterwards.
        assert!(!matches!(e, Error::Closed), "first error cannot be Closed");
        assert_eq!(conn.handle_bytes(b"x", start), Err(Error::Closed));
        assert!(conn.poll_event().is_none());
        assert!(!conn.is_ready());
    }
}

/// The greeting libzmq 4.3.5 sends with NULL.
pub fn zmtp_greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[..16].copy_from_slice(b"\xff\0\0\0\0\0\0\0\x01\x7f\x03\x01NULL");
    g
}

/// A READY command announcing `socket_type`.
pub fn ready(socket_type: SocketType) -> Vec<u8> {
    let mut meta = zmtp::Metadata::new();
    meta.insert("Socket-Type", socket_type.as_str())
        .expect("valid");
    let mut out = bytes::BytesMut::new();
    zmtp::Command::Ready(meta).encode(&mut out);
    out.to_vec()
}
