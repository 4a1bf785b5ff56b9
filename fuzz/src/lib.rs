//! Shared pieces of the fuzz targets: an allocator that records the largest request, and the
//! scripted peer input used by the handshake targets.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use zmtp::{Config, Connection, Error, Event, Role, SocketType};

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
/// fuzzer starts past the handshake; bits 1-3 set `max_msg_size` (0 = none, else 2^(2n)).
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
    let ((), largest) = largest_allocation(|| drive(config, &input, chunk));
    assert!(largest <= bound, "allocated {largest} bytes for {} input bytes", input.len());
}

fn drive(config: Config, input: &[u8], chunk: usize) {
    let start = Instant::now();
    let mut conn = Connection::new(config, start).expect("valid config");
    let mut ready_seen = false;
    let mut failed = None;
    for (i, piece) in input.chunks(chunk).enumerate() {
        let now = start + Duration::from_millis(10 * i as u64);
        let result = conn
            .handle_timeout(now)
            .and_then(|()| conn.handle_bytes(piece, now));
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Ready(_) => {
                    assert!(!ready_seen, "Ready twice");
                    ready_seen = true;
                }
                _ => assert!(ready_seen, "traffic event before Ready: {ev:?}"),
            }
        }
        while conn.poll_transmit().is_some() {}
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
    meta.insert("Socket-Type", socket_type.as_str()).expect("valid");
    let mut out = bytes::BytesMut::new();
    zmtp::Command::Ready(meta).encode(&mut out);
    out.to_vec()
}
