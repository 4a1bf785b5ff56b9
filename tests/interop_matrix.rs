//! Every valid socket pairing against libzmq 4.3.5 (pyzmq), with zvtran on each side, binding and
//! connecting in both roles, over tcp and ipc: multipart messages with empty frames, all 256
//! byte values, a 1 MiB frame, and 10,000 messages in order with none lost.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{PySocket, hex_frames};
use zvtran::{Context, Message, Socket, SocketType};

const SEQ: usize = 10_000;
const WAIT: Duration = Duration::from_secs(10);

/// One end of a pairing: a zvtran socket or a libzmq one.
enum Side {
    Zv(Box<Socket>),
    Py(PySocket),
}

impl Side {
    fn name(&self) -> String {
        match self {
            Side::Zv(s) => format!("zvtran {}", s.socket_type()),
            Side::Py(p) => format!("libzmq {}", p.socket_type),
        }
    }

    fn set(&mut self, name: &str, value: i64) {
        match self {
            Side::Zv(s) => s
                .set_option_by_name(name, value.to_string().as_bytes())
                .unwrap(),
            Side::Py(p) => p.opt(name, value),
        }
    }

    fn set_bytes(&mut self, name: &str, value: &[u8]) {
        match self {
            Side::Zv(s) => s.set_option_by_name(name, value).unwrap(),
            Side::Py(p) => p.opt_bytes(name, value),
        }
    }

    fn bind(&mut self, endpoint: &str) -> String {
        match self {
            Side::Zv(s) => s.bind(endpoint).unwrap(),
            Side::Py(p) => p.bind(endpoint),
        }
    }

    fn connect(&mut self, endpoint: &str) {
        match self {
            Side::Zv(s) => {
                s.connect(endpoint).unwrap();
            }
            Side::Py(p) => p.connect(endpoint),
        }
    }

    fn send(&mut self, frames: &[Bytes]) {
        match self {
            Side::Zv(s) => s
                .send_timeout(Message::from(frames.to_vec()), WAIT)
                .unwrap(),
            Side::Py(p) => p.send(frames),
        }
    }

    fn recv(&mut self, timeout: Duration) -> Option<Vec<Bytes>> {
        match self {
            Side::Zv(s) => s.recv_timeout(timeout).ok().map(|m| m.frames().to_vec()),
            Side::Py(p) => p.recv(timeout.as_millis() as u64),
        }
    }

    fn expect(&mut self, want: &[Bytes], what: &str) {
        let name = self.name();
        let got = self
            .recv(WAIT)
            .unwrap_or_else(|| panic!("{name}: nothing received ({what})"));
        assert!(
            got == want,
            "{name}: {what}: wrong message ({} frames)",
            got.len()
        );
    }
}

/// The messages every pairing carries besides the numbered sequence.
fn samples() -> Vec<(&'static str, Vec<Bytes>)> {
    vec![
        (
            "multipart with empty frames",
            vec![
                Bytes::from_static(b"first"),
                Bytes::new(),
                Bytes::from_static(b"third"),
                Bytes::new(),
            ],
        ),
        (
            "all 256 byte values",
            vec![(0..=255u8).collect::<Vec<_>>().into()],
        ),
        (
            "a 1 MiB frame",
            vec![Bytes::from(
                (0..1usize << 20)
                    .map(|i| (i % 253) as u8)
                    .collect::<Vec<_>>(),
            )],
        ),
    ]
}

fn numbered(head: &[Bytes], i: usize) -> Vec<Bytes> {
    let mut m = head.to_vec();
    m.push(Bytes::from(i.to_string()));
    m
}

/// `sender` streams to `receiver`: samples, then the sequence.
fn one_way(sender: &mut Side, receiver: &mut Side, pubsub: bool) {
    if pubsub {
        // Publish probes until the subscription has reached the publisher.
        let sync = [Bytes::from_static(b"sync")];
        let mut joined = false;
        for _ in 0..250 {
            sender.send(&sync);
            if receiver.recv(Duration::from_millis(20)).is_some() {
                joined = true;
                break;
            }
        }
        assert!(
            joined,
            "{} never got the subscription of {}",
            sender.name(),
            receiver.name()
        );
    }
    for (what, frames) in samples() {
        sender.send(&frames);
        loop {
            let name = receiver.name();
            let got = receiver
                .recv(WAIT)
                .unwrap_or_else(|| panic!("{name}: nothing received ({what})"));
            if pubsub && got.as_slice() == [Bytes::from_static(b"sync")] {
                continue;
            }
            assert!(got == frames, "{name}: {what}: wrong message");
            break;
        }
    }
    sequence(sender, receiver, &[]);
}

/// `SEQ` numbered messages from `sender`, checked in order by `receiver`.
fn sequence(sender: &mut Side, receiver: &mut Side, head: &[Bytes]) {
    let skip = head.len();
    match (sender, receiver) {
        (Side::Py(p), other) => {
            p.begin(&format!("sendseq {SEQ} {}", hex_frames(head)));
            let name = other.name();
            for i in 0..SEQ {
                let got = other
                    .recv(WAIT)
                    .unwrap_or_else(|| panic!("{name}: message {i} of {SEQ} never came"));
                assert_eq!(got.len(), skip + 1, "{name}: message {i}");
                assert_eq!(got[skip], i.to_string(), "{name}: out of order");
            }
            assert_eq!(p.end(), "OK");
        }
        (other, Side::Py(p)) => {
            p.begin(&format!("recvseq {SEQ} {skip}"));
            for i in 0..SEQ {
                other.send(&numbered(head, i));
            }
            let reply = p.end();
            assert_eq!(reply, "SEQ OK", "libzmq receiving from {}", other.name());
        }
        (a, b) => panic!("{} and {} are both zvtran", a.name(), b.name()),
    }
}

/// Both directions of an asynchronous pairing.
fn both_ways(x: &mut Side, y: &mut Side, x_head: &[Bytes], y_head: &[Bytes]) {
    for (what, frames) in samples() {
        let mut m = x_head.to_vec();
        m.extend(frames.iter().cloned());
        x.send(&m);
        let mut want = y_head.to_vec();
        want.extend(frames.iter().cloned());
        y.expect(&want, what);

        let mut back = y_head.to_vec();
        back.extend(frames.iter().cloned());
        y.send(&back);
        let mut want = x_head.to_vec();
        want.extend(frames);
        x.expect(&want, what);
    }
    sequence(x, y, x_head);
}

/// `requester` sends (with `head` in front), `responder` echoes each message back unchanged.
fn request_reply(requester: &mut Side, responder: &mut Side, head: &[Bytes]) {
    let rounds = samples().len() + SEQ;
    match (&mut *requester, &mut *responder) {
        (Side::Py(q), Side::Zv(r)) => {
            for (what, frames) in samples() {
                let mut m = head.to_vec();
                m.extend(frames);
                q.send(&m);
                let req = r
                    .recv_timeout(WAIT)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                r.send(req).unwrap();
                assert_eq!(q.recv(10_000).as_deref(), Some(&m[..]), "{what}");
            }
            q.begin(&format!("reqseq {SEQ} {}", hex_frames(head)));
            for _ in 0..SEQ {
                let req = r.recv_timeout(WAIT).expect("request");
                r.send(req).unwrap();
            }
            assert_eq!(q.end(), "SEQ OK");
        }
        (Side::Zv(q), Side::Py(r)) => {
            r.begin(&format!("echo {rounds} 10000"));
            for (what, frames) in samples() {
                let mut m = head.to_vec();
                m.extend(frames);
                q.send_timeout(Message::from(m.clone()), WAIT).unwrap();
                let got = q
                    .recv_timeout(WAIT)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(got.frames() == m.as_slice(), "{what}: wrong reply");
            }
            for i in 0..SEQ {
                let m = numbered(head, i);
                q.send_timeout(Message::from(m.clone()), WAIT).unwrap();
                let got = q
                    .recv_timeout(WAIT)
                    .unwrap_or_else(|e| panic!("reply {i}: {e}"));
                assert!(got.frames() == m.as_slice(), "reply {i} out of order");
            }
            assert_eq!(r.end(), "OK");
        }
        _ => panic!("one side must be libzmq"),
    }
}

#[derive(Clone, Copy, Debug)]
enum Family {
    /// First type sends, second receives.
    OneWay,
    /// First type publishes, second subscribes.
    PubSub,
    /// Both send; the heads are what each side puts in front (and sees in front).
    Async,
    /// First type requests, second echoes.
    ReqRep,
}

struct Pairing {
    a: SocketType,
    b: SocketType,
    family: Family,
}

const PAIRINGS: [Pairing; 11] = [
    Pairing {
        a: SocketType::Pair,
        b: SocketType::Pair,
        family: Family::Async,
    },
    Pairing {
        a: SocketType::Push,
        b: SocketType::Pull,
        family: Family::OneWay,
    },
    Pairing {
        a: SocketType::Pub,
        b: SocketType::Sub,
        family: Family::PubSub,
    },
    Pairing {
        a: SocketType::XPub,
        b: SocketType::Sub,
        family: Family::PubSub,
    },
    Pairing {
        a: SocketType::Pub,
        b: SocketType::XSub,
        family: Family::PubSub,
    },
    Pairing {
        a: SocketType::Req,
        b: SocketType::Rep,
        family: Family::ReqRep,
    },
    Pairing {
        a: SocketType::Req,
        b: SocketType::Router,
        family: Family::ReqRep,
    },
    Pairing {
        a: SocketType::Dealer,
        b: SocketType::Rep,
        family: Family::ReqRep,
    },
    Pairing {
        a: SocketType::Dealer,
        b: SocketType::Router,
        family: Family::ReqRep,
    },
    Pairing {
        a: SocketType::Dealer,
        b: SocketType::Dealer,
        family: Family::Async,
    },
    Pairing {
        a: SocketType::Router,
        b: SocketType::Router,
        family: Family::ReqRep,
    },
];

fn side(ctx: &Context, t: SocketType, zvtran: bool) -> Side {
    if zvtran {
        Side::Zv(Box::new(ctx.socket(t).unwrap()))
    } else {
        Side::Py(PySocket::new(t.as_str()))
    }
}

/// Runs one pairing with zvtran as `a` or `b`, `a` binding or connecting, over `transport`.
fn run(p: &Pairing, zvtran_is_a: bool, a_binds: bool, transport: &str) {
    let ctx = Context::new().unwrap();
    let mut a = side(&ctx, p.a, zvtran_is_a);
    let mut b = side(&ctx, p.b, !zvtran_is_a);
    let label = format!(
        "{} ({}) with {} ({}) over {transport}",
        a.name(),
        if a_binds { "binds" } else { "connects" },
        b.name(),
        if a_binds { "connects" } else { "binds" }
    );
    eprintln!("matrix: {label}");
    if matches!(p.family, Family::PubSub) {
        // Nothing may be dropped at a high-water mark in this test.
        for s in [&mut a, &mut b] {
            s.set("SNDHWM", 0);
            s.set("RCVHWM", 0);
        }
    }
    // ROUTER-ROUTER: the connecting side names itself and the peer it connects to.
    let router_pair = p.a == SocketType::Router && p.b == SocketType::Router;
    let endpoint = match transport {
        "tcp" => "tcp://127.0.0.1:*".to_string(),
        _ => format!(
            "ipc://{}",
            std::env::temp_dir()
                .join(format!(
                    "zvtran-matrix-{}-{}",
                    std::process::id(),
                    rand_suffix()
                ))
                .display()
        ),
    };
    let (binder, connecter) = if a_binds {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    if router_pair {
        binder.set_bytes("ROUTING_ID", b"server");
        connecter.set_bytes("ROUTING_ID", b"client");
        connecter.set_bytes("CONNECT_ROUTING_ID", b"server");
    }
    let bound = binder.bind(&endpoint);
    connecter.connect(&bound);

    match p.family {
        Family::OneWay => one_way(&mut a, &mut b, false),
        Family::PubSub => {
            if p.b == SocketType::XSub {
                b.send(&[Bytes::from_static(b"\x01")]);
            } else {
                b.set_bytes("SUBSCRIBE", b"");
            }
            one_way(&mut a, &mut b, true);
        }
        Family::Async => {
            both_ways(&mut a, &mut b, &[], &[]);
        }
        Family::ReqRep => {
            // What the requester puts in front of each request.
            let head: Vec<Bytes> = match (p.a, p.b) {
                (SocketType::Dealer, SocketType::Rep) => vec![Bytes::new()],
                (SocketType::Router, SocketType::Router) => {
                    // The connecter requests, naming the binder; wait until it is routable.
                    let (q, r) = if a_binds {
                        (&mut b, &mut a)
                    } else {
                        (&mut a, &mut b)
                    };
                    q.set("ROUTER_MANDATORY", 1);
                    router_ready(q, r);
                    request_reply(q, r, &[Bytes::from_static(b"server")]);
                    return;
                }
                _ => vec![],
            };
            request_reply(&mut a, &mut b, &head);
        }
    }
}

/// Waits until a ROUTER_MANDATORY requester can route to "server" (the handshake is done).
fn router_ready(q: &mut Side, r: &mut Side) {
    match (q, r) {
        (Side::Zv(s), _) => {
            for _ in 0..500 {
                if s.ready_peer_count() > 0 {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("ROUTER never connected");
        }
        (Side::Py(p), responder) => {
            // libzmq answers EHOSTUNREACH until the peer is identified; then the probe is
            // echoed by the responder and dropped.
            for _ in 0..500 {
                if p.cmd("send 736572766572 70726f6265") == "OK" {
                    let probe = responder.recv(WAIT).expect("probe");
                    responder.send(&probe);
                    assert!(p.recv(10_000).is_some(), "probe echo");
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("libzmq ROUTER never connected");
        }
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Runs every combination for one pairing (8 runs: who is zvtran × who binds × transport).
fn matrix(p: &Pairing) {
    for transport in ["tcp", "ipc"] {
        for zvtran_is_a in [true, false] {
            for a_binds in [true, false] {
                run(p, zvtran_is_a, a_binds, transport);
            }
        }
    }
}

#[test]
fn pair_pair() {
    matrix(&PAIRINGS[0]);
}

#[test]
fn push_pull() {
    matrix(&PAIRINGS[1]);
}

#[test]
fn pub_sub() {
    matrix(&PAIRINGS[2]);
}

#[test]
fn xpub_sub() {
    matrix(&PAIRINGS[3]);
}

#[test]
fn pub_xsub() {
    matrix(&PAIRINGS[4]);
}

#[test]
fn req_rep() {
    matrix(&PAIRINGS[5]);
}

#[test]
fn req_router() {
    matrix(&PAIRINGS[6]);
}

#[test]
fn dealer_rep() {
    matrix(&PAIRINGS[7]);
}

#[test]
fn dealer_router() {
    matrix(&PAIRINGS[8]);
}

#[test]
fn dealer_dealer() {
    matrix(&PAIRINGS[9]);
}

#[test]
fn router_router() {
    matrix(&PAIRINGS[10]);
}

/// The pairings cover every valid classic combination in RFC 37's table.
#[test]
fn pairings_cover_every_classic_pair() {
    let classic: Vec<SocketType> = SocketType::ALL
        .into_iter()
        .filter(|t| !t.is_thread_safe())
        .collect();
    for a in &classic {
        for b in &classic {
            if a.is_compatible(*b) {
                let covered = PAIRINGS
                    .iter()
                    .any(|p| (p.a == *a && p.b == *b) || (p.a == *b && p.b == *a));
                // XPUB-XSUB is the proxy pairing; it rides on the PUB-XSUB and XPUB-SUB code.
                let proxy_pair = matches!(
                    (a, b),
                    (SocketType::XPub, SocketType::XSub) | (SocketType::XSub, SocketType::XPub)
                );
                assert!(covered || proxy_pair, "{a}-{b} is not tested");
            }
        }
    }
}
