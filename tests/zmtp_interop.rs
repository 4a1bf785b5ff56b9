//! `zmtp::Connection` over a plain `TcpStream` against libzmq 4.3.5 (pyzmq), in both roles.

mod support;

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use support::PyPeer;
use zvtran::drivers::blocking::{BlockingConnection, BlockingError};
use zvtran::zmtp::{self, Config, Event, Message, ProtocolError, Role, SocketType, Version};

const WAIT: Duration = Duration::from_secs(10);

/// What `zmtp_peer.py` sends first in the exchange scenario (its `LIBZMQ_SET`).
fn libzmq_set() -> Vec<Message> {
    vec![
        Message::from_frames([&b"from libzmq"[..], b"", b"\x00\x01\xff"].map(Bytes::from_static)),
        Message::from((0..=255u8).collect::<Vec<u8>>()),
        Message::from(
            (0..1usize << 20)
                .map(|i| (i % 251) as u8)
                .collect::<Vec<u8>>(),
        ),
        Message::from(Bytes::new()),
    ]
}

/// What we send for libzmq to echo.
fn zvtran_set() -> Vec<Message> {
    vec![
        Message::from_frames([&b"from zvtran"[..], b"", b"", b"\xff"].map(Bytes::from_static)),
        Message::from((0..=255u8).rev().collect::<Vec<u8>>()),
        Message::from(vec![0xa5u8; 1 << 20]),
        Message::from_frames([Bytes::new(), Bytes::new()]),
        Message::from_frames([Bytes::from(vec![1u8; 300]), Bytes::from(vec![2u8; 70_000])]),
    ]
}

/// The exchange scenario from our side, whichever side connected.
fn exchange(mut conn: BlockingConnection<TcpStream>) {
    let peer = conn.handshake(WAIT).expect("handshake with libzmq");
    assert_eq!(peer.socket_type, SocketType::Dealer);
    assert_eq!(peer.version, Version::V3_1);
    assert_eq!(conn.connection().version(), Version::V3_1);
    assert_eq!(peer.identity.as_deref(), Some(&b""[..]));

    for (i, want) in libzmq_set().into_iter().enumerate() {
        let got = conn.recv(WAIT).expect("message from libzmq");
        assert_eq!(got, want, "message {i} from libzmq");
    }
    for msg in zvtran_set() {
        conn.send(msg.clone()).expect("send");
        assert_eq!(conn.recv(WAIT).expect("echo"), msg);
    }

    // libzmq pings every 100 ms with a 100 ms timeout: the connection survives 1.5 s of
    // silence only if every PING gets its PONG.
    conn.idle(Duration::from_millis(1500))
        .expect("stay connected");
    let stats = conn.connection().stats();
    assert!(stats.pings_received >= 10, "{stats:?}");
    assert_eq!(stats.pongs_sent, stats.pings_received);

    conn.send(Message::from("after heartbeats")).expect("send");
    assert_eq!(conn.recv(WAIT).unwrap(), Message::from("after heartbeats"));
    conn.send(Message::from("STOP")).expect("send");
    let bye = conn.recv(WAIT).expect("BYE");
    assert_eq!(bye, Message::from_frames(["BYE", "6"]));
}

#[test]
fn we_connect_to_a_libzmq_dealer() {
    let mut peer = PyPeer::spawn(&[
        "--type",
        "DEALER",
        "--bind",
        "--heartbeat-ivl",
        "100",
        "--scenario",
        "exchange",
    ]);
    let port = peer.port();
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let conn =
        BlockingConnection::new(stream, Config::new(SocketType::Dealer, Role::Client)).unwrap();
    exchange(conn);
    peer.finish();
}

#[test]
fn a_libzmq_dealer_connects_to_us() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let peer = PyPeer::spawn(&[
        "--type",
        "DEALER",
        "--connect",
        &endpoint,
        "--heartbeat-ivl",
        "100",
        "--scenario",
        "exchange",
    ]);
    let (stream, _) = listener.accept().unwrap();
    let conn =
        BlockingConnection::new(stream, Config::new(SocketType::Dealer, Role::Server)).unwrap();
    exchange(conn);
    peer.finish();
}

#[test]
fn libzmq_sub_subscribes_to_our_pub_with_commands() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
    let mut peer = PyPeer::spawn(&[
        "--type",
        "SUB",
        "--connect",
        &endpoint,
        "--scenario",
        "subscriber",
    ]);
    peer.expect("CONNECTING");
    let (stream, _) = listener.accept().unwrap();
    let mut conn =
        BlockingConnection::new(stream, Config::new(SocketType::Pub, Role::Server)).unwrap();
    conn.handshake(WAIT).unwrap();
    assert_eq!(
        conn.next_event(WAIT).unwrap(),
        Event::Subscribe(Bytes::from_static(b"abc"))
    );
    // The SUB filters too, so only the abc- messages should reach it.
    for m in ["abc-1", "xyz-1", "abc-2"] {
        conn.send(Message::from(m)).unwrap();
    }
    assert_eq!(peer.expect("RECEIVED"), "abc-1,abc-2");
    assert_eq!(
        conn.next_event(WAIT).unwrap(),
        Event::Cancel(Bytes::from_static(b"abc"))
    );
    peer.finish();
}

#[test]
fn libzmq_pub_filters_by_our_subscribe_command() {
    let mut peer = PyPeer::spawn(&["--type", "PUB", "--bind", "--scenario", "publisher"]);
    let port = peer.port();
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut conn =
        BlockingConnection::new(stream, Config::new(SocketType::Sub, Role::Client)).unwrap();
    conn.handshake(WAIT).unwrap();
    conn.subscribe(b"abc").unwrap();
    // libzmq filters at the PUB: with only "abc" subscribed, no zzz- message may arrive.
    for _ in 0..20 {
        let msg = conn.recv(WAIT).unwrap();
        let body = msg.first().unwrap();
        assert!(body.starts_with(b"abc-"), "{body:?}");
    }
    peer.finish();
}

#[test]
fn libzmq_peer_of_an_incompatible_type_is_refused() {
    let mut peer = PyPeer::spawn(&["--type", "PUSH", "--bind", "--scenario", "refused"]);
    let port = peer.port();
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut conn =
        BlockingConnection::new(stream, Config::new(SocketType::Push, Role::Client)).unwrap();
    // Whichever side notices first, the handshake must not complete: we see our own check
    // fail, libzmq's ERROR, or libzmq closing the connection.
    match conn.handshake(WAIT) {
        Err(BlockingError::Zmtp(zmtp::Error::Protocol(
            ProtocolError::IncompatibleSocketType { ours, theirs },
        ))) => {
            assert_eq!((ours, theirs), (SocketType::Push, SocketType::Push));
        }
        Err(BlockingError::Zmtp(zmtp::Error::Refused { .. })) | Err(BlockingError::Eof) => {}
        Err(BlockingError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("handshake with an incompatible peer: {other:?}"),
    }
    assert!(!conn.connection().is_ready());
    peer.finish();
}
