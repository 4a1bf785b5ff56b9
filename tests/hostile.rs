//! Hostile peers against a bound zvtran socket, while a good libzmq peer keeps being served.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use support::PySocket;
use zvtran::{Context, EventKind, SocketOption, SocketType};

fn greeting(mechanism: &[u8]) -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[..12].copy_from_slice(b"\xff\0\0\0\0\0\0\0\x01\x7f\x03\x01");
    g[12..12 + mechanism.len()].copy_from_slice(mechanism);
    g
}

fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = b"\x05READY\x0bSocket-Type".to_vec();
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend(body);
    frame
}

/// Sends `chunks` (pausing `gap` between them) and returns how long until the socket closed
/// the connection, reading whatever it sent meanwhile.
fn attack(port: u16, chunks: Vec<Vec<u8>>, gap: Duration) -> Duration {
    let start = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut sink = [0u8; 4096];
    for chunk in chunks {
        if s.write_all(&chunk).is_err() {
            break;
        }
        let pause = Instant::now() + gap;
        while Instant::now() < pause {
            match s.read(&mut sink) {
                Ok(0) => return start.elapsed(),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return start.elapsed();
                }
                _ => {}
            }
        }
    }
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    loop {
        match s.read(&mut sink) {
            Ok(0) | Err(_) => return start.elapsed(),
            Ok(_) => {}
        }
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn hostile_peers_are_dropped_and_a_good_peer_is_served_throughout() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_option(SocketOption::MaxMsgSize(Some(1 << 20)))
        .unwrap();
    pull.set_option(SocketOption::HandshakeIvl(Duration::from_millis(1500)))
        .unwrap();
    let events = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();

    // The good peer: a libzmq PUSH that sends before, during and after the attacks.
    let mut good = PySocket::new("PUSH");
    good.connect(&ep);
    good.begin("sendseq 1000");
    assert_eq!(good.end(), "OK");

    let rss_before = rss_bytes();
    let mut huge = greeting(b"NULL");
    huge.extend(ready("PUSH"));
    huge.extend_from_slice(b"\x02\x40\0\0\0\0\0\0\0"); // a frame declaring 2^62 octets
    let attacks: Vec<(&str, Vec<Vec<u8>>, Duration)> = vec![
        (
            "garbage",
            vec![b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()],
            Duration::ZERO,
        ),
        (
            "truncated greeting",
            vec![greeting(b"NULL")[..20].to_vec()],
            Duration::ZERO,
        ),
        (
            "unknown mechanism",
            vec![greeting(b"BOGUS")],
            Duration::ZERO,
        ),
        ("2^62-octet frame", vec![huge], Duration::ZERO),
        (
            "incompatible socket type",
            vec![greeting(b"NULL"), ready("PUB")],
            Duration::ZERO,
        ),
        (
            "one byte a second",
            greeting(b"NULL").into_iter().map(|b| vec![b]).collect(),
            Duration::from_secs(1),
        ),
    ];
    let attackers: Vec<_> = attacks
        .into_iter()
        .map(|(name, chunks, gap)| (name, thread::spawn(move || attack(port, chunks, gap))))
        .collect();
    // Meanwhile the good peer keeps talking and we keep receiving.
    let mut next = 0usize;
    let mut receive = |pull: &mut zvtran::Socket, n: usize| {
        for _ in 0..n {
            let m = pull
                .recv_timeout(Duration::from_secs(10))
                .expect("good peer's message");
            assert_eq!(m.first().unwrap(), &Bytes::from((next % 1000).to_string()));
            next += 1;
        }
    };
    receive(&mut pull, 1000);
    for (name, handle) in attackers {
        let took = handle.join().unwrap();
        // Every hostile connection is closed by us, at the latest by the handshake timeout.
        assert!(
            took < Duration::from_secs(5),
            "{name}: closed after {took:?}"
        );
    }
    good.begin("sendseq 1000");
    assert_eq!(good.end(), "OK");
    receive(&mut pull, 1000);

    let grown = rss_bytes().saturating_sub(rss_before);
    assert!(grown < 64 << 20, "memory grew by {grown} bytes");

    let failures: Vec<String> = events
        .try_iter()
        .filter_map(|e| match e.kind {
            // The 2^62 frame comes after a completed handshake: a disconnect, not a failed
            // handshake.
            EventKind::HandshakeFailed { reason, .. } | EventKind::Disconnected { reason } => {
                Some(reason)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        failures.len(),
        6,
        "one monitor event per hostile peer: {failures:#?}"
    );
    for expected in [
        "signature",
        "mechanism",
        "frame declares",
        "cannot talk",
        "timed out",
    ] {
        assert!(
            failures.iter().any(|r| r.contains(expected)),
            "no failure mentions {expected:?}: {failures:#?}"
        );
    }
}
