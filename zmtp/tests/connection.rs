//! Protocol tests of `Connection` through the public API, in memory on a fake clock.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use zmtp::command::Ping;
use zmtp::pair::{Pair, PairError};
use zmtp::{
    Command, Config, Connection, Error, Event, Greeting, Malformed, MechanismName, Message, Phase,
    ProtocolError, Role, SocketType, Version,
};

fn config(t: SocketType, role: Role) -> Config {
    Config::new(t, role)
}

fn ready_pair(client: SocketType, server: SocketType) -> Pair {
    let mut pair = Pair::new(config(client, Role::Client), config(server, Role::Server)).unwrap();
    pair.drive().unwrap();
    assert!(pair.both_ready());
    pair.client_events.clear();
    pair.server_events.clear();
    pair
}

fn greeting_bytes(version: Version, mechanism: MechanismName) -> BytesMut {
    let mut buf = BytesMut::new();
    Greeting {
        version,
        mechanism,
        as_server: false,
    }
    .encode(&mut buf);
    buf
}

fn ready_bytes(socket_type: &str) -> BytesMut {
    let mut meta = zmtp::Metadata::new();
    meta.insert(
        "Socket-Type",
        Bytes::copy_from_slice(socket_type.as_bytes()),
    )
    .unwrap();
    let mut buf = BytesMut::new();
    Command::Ready(meta).encode(&mut buf);
    buf
}

fn drain_transmit(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    out
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// A server connection that has taken a 3.1 NULL greeting and awaits READY.
fn server_after_greeting(ours: SocketType, now: Instant) -> Connection {
    server_after_version(ours, Version::V3_1, now)
}

fn server_after_version(ours: SocketType, version: Version, now: Instant) -> Connection {
    let mut conn = Connection::new(config(ours, Role::Server), now).unwrap();
    conn.handle_bytes(&greeting_bytes(version, MechanismName::NULL), now)
        .unwrap();
    conn
}

/// A server connection that has taken a 3.x peer's greeting and READY (fed as raw bytes).
fn server_with_raw_peer(ours: SocketType, peer: &str, version: Version) -> Connection {
    let now = Instant::now();
    let mut conn = server_after_version(ours, version, now);
    conn.handle_bytes(&ready_bytes(peer), now).unwrap();
    assert!(conn.is_ready());
    drain_transmit(&mut conn);
    events(&mut conn);
    conn
}

#[test]
fn every_compatible_pair_handshakes_in_both_roles() {
    let mut count = 0;
    for a in SocketType::ALL {
        for b in SocketType::ALL.into_iter().filter(|b| a.is_compatible(*b)) {
            let mut pair = Pair::new(config(a, Role::Client), config(b, Role::Server)).unwrap();
            pair.drive().unwrap();
            assert!(pair.both_ready(), "{a} -> {b}");
            let Some(Event::Ready(server_view)) = pair.server_events.first() else {
                panic!("{a} -> {b}: server saw {:?}", pair.server_events);
            };
            let Some(Event::Ready(client_view)) = pair.client_events.first() else {
                panic!("{a} -> {b}: client saw {:?}", pair.client_events);
            };
            assert_eq!(server_view.socket_type, a);
            assert_eq!(client_view.socket_type, b);
            assert_eq!(server_view.identity.is_some(), a.sends_identity());
            assert_eq!(pair.client.version(), Version::V3_1);
            count += 1;
        }
    }
    assert_eq!(count, 29);
}

#[test]
fn every_incompatible_pair_is_refused_with_error() {
    let mut count = 0;
    for a in SocketType::ALL {
        for b in SocketType::ALL.into_iter().filter(|b| !a.is_compatible(*b)) {
            let mut pair = Pair::new(config(a, Role::Client), config(b, Role::Server)).unwrap();
            let err = pair.drive().unwrap_err();
            // The NULL server checks the client's READY before answering, so it refuses with
            // ERROR and the client learns why.
            assert_eq!(
                err.server,
                Some(Error::Protocol(ProtocolError::IncompatibleSocketType {
                    ours: b,
                    theirs: a
                })),
                "{a} -> {b}"
            );
            match &err.client {
                Some(Error::Refused { reason }) => assert!(reason.contains("cannot talk to")),
                other => panic!("{a} -> {b}: client got {other:?}"),
            }
            assert!(err.client.as_ref().unwrap().forbids_reconnect());
            assert!(!pair.client.is_ready() && !pair.server.is_ready());
            assert!(pair.client_events.is_empty() && pair.server_events.is_empty());
            count += 1;
        }
    }
    assert_eq!(count, 19 * 19 - 29);
}

#[test]
fn null_client_speaks_first_and_server_answers_after_checking() {
    let now = Instant::now();
    let mut client = Connection::new(config(SocketType::Dealer, Role::Client), now).unwrap();
    let mut server = Connection::new(config(SocketType::Router, Role::Server), now).unwrap();
    let server_greeting = drain_transmit(&mut server);
    assert_eq!(server_greeting.len(), 64);
    client.handle_bytes(&server_greeting, now).unwrap();
    let client_out = drain_transmit(&mut client);
    // Greeting then READY, straight away.
    assert_eq!(&client_out[64 + 2..64 + 8], b"\x05READY");
    server.handle_bytes(&client_out[..64], now).unwrap();
    // The server has the greeting but not READY: it says nothing yet.
    assert_eq!(server.transmit_len(), 0);
    server.handle_bytes(&client_out[64..], now).unwrap();
    assert!(server.is_ready());
    assert!(drain_transmit(&mut server).starts_with(b"\x04"));
}

#[test]
fn dealer_sends_empty_identity_and_router_sends_its_own() {
    let mut c = config(SocketType::Dealer, Role::Client);
    c.routing_id = Some(Bytes::from_static(b"worker-1"));
    let mut pair = Pair::new(c, config(SocketType::Router, Role::Server)).unwrap();
    pair.drive().unwrap();
    assert_eq!(
        pair.server.peer().unwrap().identity.as_deref(),
        Some(&b"worker-1"[..])
    );
    assert_eq!(
        pair.client.peer().unwrap().identity.as_deref(),
        Some(&b""[..])
    );
    let mut bad = config(SocketType::Dealer, Role::Client);
    bad.routing_id = Some(Bytes::from_static(b"\0reserved"));
    assert!(Connection::new(bad, Instant::now()).is_err());
}

#[test]
fn metadata_properties_reach_the_peer() {
    let mut c = config(SocketType::Push, Role::Client);
    c.metadata.insert("X-Service", "billing").unwrap();
    let mut pair = Pair::new(c, config(SocketType::Pull, Role::Server)).unwrap();
    pair.drive().unwrap();
    let peer = pair.server.peer().unwrap();
    assert_eq!(peer.metadata.get("x-service").unwrap().as_ref(), b"billing");
    assert_eq!(peer.metadata.get("socket-type").unwrap().as_ref(), b"PUSH");
}

#[test]
fn multipart_messages_flow_both_ways() {
    let mut pair = ready_pair(SocketType::Dealer, SocketType::Dealer);
    let big = Bytes::from(vec![0xa5u8; 1 << 20]);
    let all_bytes: Bytes = (0..=255u8).collect::<Vec<_>>().into();
    let msgs = [
        Message::from_frames([Bytes::new()]),
        Message::from_frames([
            Bytes::from_static(b"a"),
            Bytes::new(),
            Bytes::from_static(b"c"),
        ]),
        Message::from(big.clone()),
        Message::from(all_bytes),
        Message::from_frames([Bytes::from(vec![1u8; 300]), big]),
    ];
    for m in &msgs {
        pair.client.send(m.clone()).unwrap();
        pair.server.send(m.clone()).unwrap();
    }
    pair.drive().unwrap();
    let expect: Vec<Event> = msgs.iter().cloned().map(Event::Message).collect();
    assert_eq!(pair.server_events, expect);
    assert_eq!(pair.client_events, expect);
    assert_eq!(pair.server.stats().messages_received, 5);
    assert_eq!(pair.client.stats().messages_sent, 5);
}

#[test]
fn sending_before_ready_or_empty_is_a_usage_error() {
    let now = Instant::now();
    let mut c = Connection::new(config(SocketType::Push, Role::Client), now).unwrap();
    assert_eq!(c.send(Message::from("x")), Err(zmtp::UsageError::NotReady));
    let mut pair = ready_pair(SocketType::Push, SocketType::Pull);
    assert_eq!(
        pair.client.send(Message::new()),
        Err(zmtp::UsageError::EmptyMessage)
    );
    assert_eq!(
        pair.client.join(Bytes::from(vec![b'g'; 256])),
        Err(zmtp::UsageError::GroupTooLong { len: 256 })
    );
}

#[test]
fn large_frames_are_queued_by_reference() {
    let mut pair = ready_pair(SocketType::Push, SocketType::Pull);
    let big = Bytes::from(vec![7u8; 100_000]);
    pair.client.send(Message::from(big.clone())).unwrap();
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    let n = pair.client.transmit_slices(&mut slices);
    assert_eq!(n, 2);
    assert_eq!(slices[0].len(), 9);
    assert_eq!(slices[1].as_ptr(), big.as_ptr());
    assert_eq!(pair.client.transmit_len(), 100_009);
    // Partial writes advance across chunks.
    pair.client.advance_transmit(5);
    assert_eq!(pair.client.transmit_len(), 100_004);
    pair.client.advance_transmit(100_000);
    assert_eq!(pair.client.transmit_len(), 4);
    pair.client.advance_transmit(4);
    assert_eq!(pair.client.poll_transmit(), None);
}

#[test]
fn subscriptions_use_commands_with_31_and_messages_with_30() {
    // 3.1 peer: SUBSCRIBE/CANCEL commands.
    let mut pair = ready_pair(SocketType::Sub, SocketType::Pub);
    pair.client.subscribe(Bytes::from_static(b"abc")).unwrap();
    pair.client.cancel(Bytes::from_static(b"abc")).unwrap();
    let wire = drain_transmit(&mut pair.client);
    assert_eq!(wire, b"\x04\x0d\x09SUBSCRIBEabc\x04\x0a\x06CANCELabc");
    pair.server.handle_bytes(&wire, pair.now).unwrap();
    assert_eq!(
        events(&mut pair.server),
        [
            Event::Subscribe(Bytes::from_static(b"abc")),
            Event::Cancel(Bytes::from_static(b"abc"))
        ]
    );

    // 3.0 peer: our SUB downgrades to \x01topic messages.
    let now = Instant::now();
    let mut sub = Connection::new(config(SocketType::Sub, Role::Client), now).unwrap();
    sub.handle_bytes(&greeting_bytes(Version::V3_0, MechanismName::NULL), now)
        .unwrap();
    sub.handle_bytes(&ready_bytes("PUB"), now).unwrap();
    assert_eq!(sub.version(), Version::V3_0);
    assert_eq!(sub.peer().unwrap().version, Version::V3_0);
    drain_transmit(&mut sub);
    sub.subscribe(Bytes::from_static(b"abc")).unwrap();
    sub.cancel(Bytes::from_static(b"abc")).unwrap();
    assert_eq!(drain_transmit(&mut sub), b"\x00\x04\x01abc\x00\x04\x00abc");

    // Our PUB understands the 3.0 form from any peer; an XPUB passes other messages up.
    let mut xpub = server_with_raw_peer(SocketType::XPub, "XSUB", Version::V3_0);
    xpub.handle_bytes(b"\x00\x04\x01abc\x00\x01\x00\x00\x02hi", now)
        .unwrap();
    assert_eq!(
        events(&mut xpub),
        [
            Event::Subscribe(Bytes::from_static(b"abc")),
            Event::Cancel(Bytes::new()),
            Event::Message(Message::from("hi")),
        ]
    );
    // A SUB does not reinterpret messages.
    let mut sub = server_with_raw_peer(SocketType::Sub, "PUB", Version::V3_1);
    sub.handle_bytes(b"\x00\x04\x01abc", now).unwrap();
    assert_eq!(events(&mut sub), [Event::Message(Message::from("\x01abc"))]);
}

#[test]
fn join_and_leave_reach_the_radio() {
    let mut pair = ready_pair(SocketType::Dish, SocketType::Radio);
    pair.client.join(Bytes::from_static(b"weather")).unwrap();
    pair.client.leave(Bytes::from_static(b"weather")).unwrap();
    pair.drive().unwrap();
    assert_eq!(
        pair.server_events,
        [
            Event::Join(Bytes::from_static(b"weather")),
            Event::Leave(Bytes::from_static(b"weather"))
        ]
    );
}

#[test]
fn accepts_higher_versions_and_downgrades_to_lower() {
    for (theirs, effective) in [
        (Version { major: 3, minor: 0 }, Version::V3_0),
        (Version { major: 3, minor: 1 }, Version::V3_1),
        (Version { major: 3, minor: 7 }, Version::V3_1),
        (Version { major: 4, minor: 0 }, Version::V3_1),
    ] {
        let conn = server_with_raw_peer(SocketType::Pull, "PUSH", theirs);
        assert_eq!(conn.version(), effective, "peer {theirs}");
    }
}

#[test]
fn mechanism_mismatch_closes_without_error_command() {
    let now = Instant::now();
    let mut conn = Connection::new(config(SocketType::Pull, Role::Server), now).unwrap();
    drain_transmit(&mut conn);
    let err = conn
        .handle_bytes(&greeting_bytes(Version::V3_1, MechanismName::PLAIN), now)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Protocol(ProtocolError::MechanismMismatch {
            ours: "NULL".into(),
            theirs: "PLAIN".into()
        })
    );
    assert_eq!(conn.transmit_len(), 0);
    assert_eq!(conn.phase(), Phase::Closed);
    assert_eq!(conn.handle_bytes(b"more", now), Err(Error::Closed));
}

#[test]
fn old_and_foreign_peers_are_refused_at_once() {
    let now = Instant::now();
    for (input, want) in [
        (&b"GET / HTTP/1.1\r\n"[..], ProtocolError::BadSignature),
        (&b"\x01\x00"[..], ProtocolError::BadSignature),
        (
            &b"\xff\0\0\0\0\0\0\0\x01\x7f\x02\x00"[..],
            ProtocolError::UnsupportedVersion { major: 2, minor: 0 },
        ),
    ] {
        let mut conn = Connection::new(config(SocketType::Pull, Role::Server), now).unwrap();
        assert_eq!(conn.handle_bytes(input, now), Err(Error::Protocol(want)));
    }
}

#[test]
fn message_before_ready_and_wrong_handshake_commands_are_refused() {
    let now = Instant::now();
    let mut conn = server_after_greeting(SocketType::Pull, now);
    assert_eq!(
        conn.handle_bytes(b"\x00\x01x", now),
        Err(Error::Protocol(ProtocolError::MessageBeforeReady))
    );
    // We told the peer why.
    assert!(
        drain_transmit(&mut conn)
            .windows(6)
            .any(|w| w == b"\x05ERROR")
    );

    let mut conn = server_after_greeting(SocketType::Pull, now);
    assert_eq!(
        conn.handle_bytes(b"\x04\x07\x04PING\x00\x00", now),
        Err(Error::Protocol(ProtocolError::UnexpectedCommand {
            command: "PING".into(),
            mechanism: "NULL"
        }))
    );

    let mut conn = server_after_greeting(SocketType::Pull, now);
    let refusal = b"\x04\x0d\x05ERROR\x06no way";
    let err = conn.handle_bytes(refusal, now).unwrap_err();
    assert_eq!(
        err,
        Error::Refused {
            reason: "no way".into()
        }
    );
    assert!(err.forbids_reconnect());
}

#[test]
fn ready_without_or_with_unknown_socket_type_is_refused() {
    let now = Instant::now();
    let mut conn = server_after_greeting(SocketType::Pull, now);
    let mut empty_ready = BytesMut::new();
    Command::Ready(zmtp::Metadata::new()).encode(&mut empty_ready);
    assert_eq!(
        conn.handle_bytes(&empty_ready, now),
        Err(Error::Protocol(ProtocolError::MissingSocketType))
    );

    let mut conn = server_after_greeting(SocketType::Pull, now);
    assert_eq!(
        conn.handle_bytes(&ready_bytes("STREAM"), now),
        Err(Error::Protocol(ProtocolError::UnknownSocketType {
            name: "STREAM".into()
        }))
    );

    let mut conn = server_after_greeting(SocketType::Router, now);
    let mut meta = zmtp::Metadata::new();
    meta.insert("Socket-Type", "DEALER").unwrap();
    meta.insert("Identity", vec![1u8; 256]).unwrap();
    let mut ready = BytesMut::new();
    Command::Ready(meta).encode(&mut ready);
    assert_eq!(
        conn.handle_bytes(&ready, now),
        Err(Error::Protocol(ProtocolError::MalformedCommand {
            command: "READY".into(),
            reason: Malformed::IdentityTooLong
        }))
    );
}

#[test]
fn handshake_frames_are_capped_before_any_allocation() {
    let now = Instant::now();
    let mut conn = server_after_greeting(SocketType::Pull, now);
    // A READY declaring 1 GiB, with none of it sent.
    let err = conn
        .handle_bytes(b"\x06\x00\x00\x00\x00\x40\x00\x00\x00", now)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Protocol(ProtocolError::FrameTooLarge {
            declared: 1 << 30,
            limit: zmtp::connection::HANDSHAKE_MAX_FRAME
        })
    );
}

#[test]
fn max_msg_size_limits_frames_and_whole_messages() {
    let now = Instant::now();
    let limited = |max| {
        let mut c = config(SocketType::Pull, Role::Server);
        c.max_msg_size = Some(max);
        let mut conn = Connection::new(c, now).unwrap();
        conn.handle_bytes(&greeting_bytes(Version::V3_1, MechanismName::NULL), now)
            .unwrap();
        conn.handle_bytes(&ready_bytes("PUSH"), now).unwrap();
        events(&mut conn);
        conn
    };
    // 2^62 declared: refused from the header, nothing reserved.
    let mut conn = limited(1 << 20);
    let err = conn
        .handle_bytes(b"\x02\x40\0\0\0\0\0\0\0", now)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Protocol(ProtocolError::FrameTooLarge {
            declared: 1 << 62,
            limit: 1 << 20
        })
    );
    assert!(conn.read_buffer().capacity() < 1 << 20);

    // Exactly the limit passes; one more byte over the whole message does not.
    let mut conn = limited(10);
    conn.handle_bytes(b"\x01\x05abcde\x00\x05fghij", now)
        .unwrap();
    assert_eq!(events(&mut conn).len(), 1);
    let err = conn
        .handle_bytes(b"\x01\x05abcde\x00\x06fghijk", now)
        .unwrap_err();
    assert_eq!(
        err,
        Error::Protocol(ProtocolError::FrameTooLarge {
            declared: 11,
            limit: 10
        })
    );

    // Empty frames cannot pile up without bound either.
    let mut conn = limited(4);
    let many_empty: Vec<u8> = std::iter::repeat_n([1u8, 0], 17).flatten().collect();
    assert_eq!(
        conn.handle_bytes(&many_empty, now),
        Err(Error::Protocol(ProtocolError::TooManyFrames { limit: 16 }))
    );

    // Commands still work under a tiny message limit.
    let mut conn = limited(0);
    conn.handle_bytes(b"\x04\x07\x04PING\x00\x00", now).unwrap();
    assert_eq!(conn.stats().pongs_sent, 1);
}

#[test]
fn read_buffer_grows_with_what_arrives_not_with_what_is_declared() {
    let mut conn = server_with_raw_peer(SocketType::Pull, "PUSH", Version::V3_1);
    let now = Instant::now();
    // Declares 1 GiB with no limit configured, then trickles 1 MiB.
    conn.handle_bytes(b"\x02\x00\x00\x00\x00\x40\x00\x00\x00", now)
        .unwrap();
    let chunk = vec![0u8; 64 * 1024];
    for _ in 0..16 {
        let buf = conn.read_buffer();
        assert!(
            buf.capacity() <= 4 * (buf.len() + 64 * 1024),
            "{}",
            buf.capacity()
        );
        buf.extend_from_slice(&chunk);
        conn.handle_read(now).unwrap();
    }
    assert!(conn.read_buffer().capacity() <= 4 << 20);
}

#[test]
fn a_stream_of_large_frames_is_read_into_one_recycled_buffer_per_frame_and_never_copied() {
    let mut conn = server_with_raw_peer(SocketType::Pull, "PUSH", Version::V3_1);
    let now = Instant::now();
    let body = vec![7u8; 100_000];
    let mut frame = vec![2u8];
    frame.extend_from_slice(&(body.len() as u64).to_be_bytes());
    frame.extend_from_slice(&body);
    // The first one arrives through the usual geometric growth.
    conn.handle_bytes(&frame, now).unwrap();
    assert_eq!(events(&mut conn).len(), 1);
    let mut previous = None;
    for _ in 0..3 {
        // From then on the buffer is made the frame's size before anything arrives, and
        // stays put while the frame comes in two parts.
        let buf = conn.read_buffer();
        assert_eq!((buf.len(), buf.capacity()), (0, frame.len()));
        let start = buf.as_ptr();
        // The buffer of the message dropped last time is used again.
        if let Some(previous) = previous {
            assert_eq!(start, previous);
        }
        previous = Some(start);
        buf.extend_from_slice(&frame[..40_000]);
        conn.handle_read(now).unwrap();
        // A driver reads no further than the frame's end.
        assert_eq!(conn.read_limit(), frame.len() - 40_000);
        let buf = conn.read_buffer();
        assert_eq!(buf.as_ptr(), start);
        assert_eq!(buf.capacity(), frame.len());
        buf.extend_from_slice(&frame[40_000..]);
        conn.handle_read(now).unwrap();
        // The message's body is that buffer, after the 9-octet header.
        let received = events(&mut conn);
        let [Event::Message(msg)] = &received[..] else {
            panic!("one message expected");
        };
        let got = msg.iter().next().unwrap();
        assert_eq!(got.len(), body.len());
        assert_eq!(got.as_ptr(), start.wrapping_add(9));
        drop(received);
    }
    // A small frame forgets the size: the next buffer is the usual read size again, and reads
    // are not limited.
    conn.handle_bytes(b"\x00\x01x", now).unwrap();
    assert_eq!(events(&mut conn).len(), 1);
    assert!(conn.read_buffer().capacity() < frame.len());
    assert_eq!(conn.read_limit(), usize::MAX);
}

#[test]
fn unknown_commands_after_the_handshake_are_ignored() {
    let mut conn = server_with_raw_peer(SocketType::Pull, "PUSH", Version::V3_1);
    let now = Instant::now();
    conn.handle_bytes(b"\x04\x08\x07FUTURE!\x04\x06\x05READY\x00\x01x", now)
        .unwrap();
    assert_eq!(conn.stats().commands_ignored, 2);
    assert_eq!(events(&mut conn), [Event::Message(Message::from("x"))]);
    // ERROR after the handshake still ends the connection.
    assert_eq!(
        conn.handle_bytes(b"\x04\x07\x05ERROR\x00", now),
        Err(Error::Refused {
            reason: String::new()
        })
    );
}

#[test]
fn commands_may_sit_between_frames_of_a_message() {
    let mut conn = server_with_raw_peer(SocketType::Pull, "PUSH", Version::V3_1);
    let now = Instant::now();
    conn.handle_bytes(b"\x01\x01a\x04\x07\x04PING\x00\x00\x00\x01b", now)
        .unwrap();
    assert_eq!(
        events(&mut conn),
        [Event::Message(Message::from_frames(["a", "b"]))]
    );
    assert_eq!(drain_transmit(&mut conn), b"\x04\x05\x04PONG");
}

#[test]
fn pings_are_answered_with_the_context_echoed() {
    let mut conn = server_with_raw_peer(SocketType::Pull, "PUSH", Version::V3_1);
    let now = Instant::now();
    conn.handle_bytes(b"\x04\x0a\x04PING\x00\x14ctx", now)
        .unwrap();
    assert_eq!(drain_transmit(&mut conn), b"\x04\x08\x04PONGctx");
    let stats = conn.stats();
    assert_eq!((stats.pings_received, stats.pongs_sent), (1, 1));
    // Context over 16 octets is malformed.
    let mut long = b"\x04\x19\x04PING\x00\x00".to_vec();
    long.extend_from_slice(&[b'c'; 19]);
    assert_eq!(
        conn.handle_bytes(&long, now),
        Err(Error::Protocol(ProtocolError::MalformedCommand {
            command: "PING".into(),
            reason: Malformed::ContextTooLong
        }))
    );
}

#[test]
fn heartbeats_keep_a_live_peer_and_drop_a_silent_one() {
    let mut c = config(SocketType::Dealer, Role::Client);
    c.heartbeat_interval = Some(Duration::from_millis(100));
    c.heartbeat_timeout = Some(Duration::from_millis(300));
    c.heartbeat_ttl = Some(Duration::from_millis(500));
    let mut pair = Pair::new(c, config(SocketType::Router, Role::Server)).unwrap();
    pair.drive().unwrap();
    assert!(pair.both_ready());
    let start = pair.now;
    assert_eq!(
        pair.client.poll_timeout(),
        Some(start + Duration::from_millis(100))
    );
    // 50 intervals with a live peer: every PING answered, nothing closes.
    for _ in 0..50 {
        pair.advance(Duration::from_millis(100)).unwrap();
    }
    let (client, server) = (pair.client.stats(), pair.server.stats());
    assert_eq!(client.pings_sent, 50);
    assert_eq!(server.pings_received, 50);
    assert_eq!(server.pongs_sent, 50);
    assert_eq!(client.pongs_received, 50);

    // The server goes silent: the client gives up one timeout after its next PING.
    let now = pair.now + Duration::from_millis(100);
    pair.client.handle_timeout(now).unwrap();
    assert_eq!(
        pair.client.poll_timeout(),
        Some(now + Duration::from_millis(100))
    );
    let ping_bytes = drain_transmit(&mut pair.client);
    pair.client
        .handle_timeout(now + Duration::from_millis(299))
        .unwrap();
    assert_eq!(
        pair.client.handle_timeout(now + Duration::from_millis(300)),
        Err(Error::HeartbeatTimeout)
    );

    // The server got a PING with TTL 500 ms: it drops a client silent for that long.
    pair.server.handle_bytes(&ping_bytes, now).unwrap();
    assert_eq!(
        pair.server.poll_timeout(),
        Some(now + Duration::from_millis(500))
    );
    pair.server
        .handle_timeout(now + Duration::from_millis(499))
        .unwrap();
    assert_eq!(
        pair.server.handle_timeout(now + Duration::from_millis(500)),
        Err(Error::HeartbeatTimeout)
    );
}

#[test]
fn any_traffic_counts_as_a_sign_of_life() {
    let mut c = config(SocketType::Push, Role::Client);
    c.heartbeat_interval = Some(Duration::from_millis(100));
    let mut pair = Pair::new(c, config(SocketType::Pull, Role::Server)).unwrap();
    pair.drive().unwrap();
    let t = pair.now + Duration::from_millis(100);
    pair.client.handle_timeout(t).unwrap();
    drain_transmit(&mut pair.client);
    // No PONG, but any byte from the peer (here a message frame) clears the deadline.
    pair.client
        .handle_bytes(b"\x00\x00", t + Duration::from_millis(50))
        .unwrap();
    pair.client
        .handle_timeout(t + Duration::from_millis(100))
        .unwrap();
}

#[test]
fn handshake_times_out() {
    let mut c = config(SocketType::Pull, Role::Server);
    c.handshake_timeout = Some(Duration::from_secs(2));
    let now = Instant::now();
    let mut conn = Connection::new(c, now).unwrap();
    assert_eq!(conn.poll_timeout(), Some(now + Duration::from_secs(2)));
    // A peer that sends one byte a second does not extend the deadline.
    conn.handle_bytes(b"\xff", now + Duration::from_secs(1))
        .unwrap();
    assert_eq!(
        conn.handle_timeout(now + Duration::from_secs(2)),
        Err(Error::HandshakeTimeout)
    );
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn heartbeat_ttl_must_fit_in_a_ping() {
    let mut c = config(SocketType::Push, Role::Client);
    c.heartbeat_ttl = Some(Duration::from_millis(6_553_600));
    assert!(Connection::new(c, Instant::now()).is_err());
    assert!(Ping::new(Duration::from_millis(6_553_599), Bytes::new()).is_ok());
}

/// Everything a client sends to a server in a busy session: greeting, READY, messages of every
/// size class, subscriptions, a PING; and the events the server produced from it in one piece.
fn recorded_session() -> (Vec<u8>, Vec<Event>) {
    let mut c = config(SocketType::XSub, Role::Client);
    c.heartbeat_interval = Some(Duration::from_millis(10));
    c.heartbeat_ttl = Some(Duration::from_secs(1));
    let mut pair = Pair::new(c, config(SocketType::XPub, Role::Server)).unwrap();
    let mut wire = Vec::new();
    while !pair.both_ready() {
        let to_server = drain_transmit(&mut pair.client);
        pair.server.handle_bytes(&to_server, pair.now).unwrap();
        wire.extend(to_server);
        let to_client = drain_transmit(&mut pair.server);
        pair.client.handle_bytes(&to_client, pair.now).unwrap();
    }
    pair.client.subscribe(Bytes::from_static(b"topic")).unwrap();
    pair.client
        .send(Message::from_frames(["a", "", "ccc"]))
        .unwrap();
    pair.client.send(Message::from(vec![9u8; 300])).unwrap();
    pair.client.send(Message::from(vec![8u8; 70_000])).unwrap();
    pair.client
        .handle_timeout(pair.now + Duration::from_millis(10))
        .unwrap();
    pair.client.cancel(Bytes::from_static(b"topic")).unwrap();
    pair.client.send(Message::from("\x01legacy")).unwrap();
    wire.extend(drain_transmit(&mut pair.client));

    let mut server = Connection::new(config(SocketType::XPub, Role::Server), pair.now).unwrap();
    server.handle_bytes(&wire, pair.now).unwrap();
    (wire, events(&mut server))
}

#[test]
fn input_split_at_every_byte_gives_the_same_events() {
    let (wire, whole) = recorded_session();
    assert_eq!(whole.len(), 7);
    let now = Instant::now();
    for cut in 0..=wire.len() {
        let mut server = Connection::new(config(SocketType::XPub, Role::Server), now).unwrap();
        server.handle_bytes(&wire[..cut], now).unwrap();
        let mut got = events(&mut server);
        server.handle_bytes(&wire[cut..], now).unwrap();
        got.extend(events(&mut server));
        assert_eq!(got, whole, "split at {cut}");
    }
    // And one byte at a time, through the read buffer.
    let mut server = Connection::new(config(SocketType::XPub, Role::Server), now).unwrap();
    let mut got = Vec::new();
    for b in &wire {
        server.read_buffer().extend_from_slice(&[*b]);
        server.handle_read(now).unwrap();
        got.extend(events(&mut server));
    }
    assert_eq!(got, whole);
}

/// Frame sizes around the read size and the large-frame path: small, just under and over
/// 64 KiB, and larger.
fn frame_size() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..100, 65_000usize..66_000, 100_000usize..140_000]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Fed as an I/O thread feeds it (reads into `read_buffer`, within `read_limit`, of sizes
    /// the kernel picks), a stream of mixed small and large messages arrives intact; messages
    /// kept while later ones arrive in recycled buffers are never overwritten.
    #[test]
    fn messages_read_as_a_driver_reads_arrive_intact_and_kept_ones_stay_intact(
        messages in proptest::collection::vec(proptest::collection::vec(frame_size(), 1..3), 1..12),
        reads in proptest::collection::vec(1usize..200_000, 1..64),
        keep in proptest::collection::vec(any::<bool>(), 12),
    ) {
        let mut conn = server_with_raw_peer(SocketType::Pull, "PUSH", Version::V3_1);
        let now = Instant::now();
        let mut wire = BytesMut::new();
        let mut sent = Vec::new();
        for (m, sizes) in messages.iter().enumerate() {
            let frames: Vec<Bytes> = sizes
                .iter()
                .enumerate()
                .map(|(f, &n)| Bytes::from(vec![(m * 7 + f) as u8; n]))
                .collect();
            for (f, body) in frames.iter().enumerate() {
                zmtp::Frame { more: f + 1 < frames.len(), command: false, body: body.clone() }
                    .encode(&mut wire);
            }
            sent.push(Message::from_frames(frames));
        }
        let mut at = 0;
        let mut got = Vec::new();
        let mut kept = Vec::new();
        let mut i = 0;
        while at < wire.len() {
            let limit = conn.read_limit();
            let buf = conn.read_buffer();
            let room = (buf.capacity() - buf.len()).min(limit);
            prop_assert!(room > 0);
            let n = room.min(reads[i % reads.len()]).min(wire.len() - at);
            i += 1;
            buf.extend_from_slice(&wire[at..at + n]);
            at += n;
            conn.handle_read(now).unwrap();
            for ev in events(&mut conn) {
                let Event::Message(msg) = ev else { panic!("unexpected {ev:?}") };
                prop_assert_eq!(&msg, &sent[got.len()]);
                if keep[got.len()] {
                    kept.push((got.len(), msg));
                }
                got.push(());
            }
        }
        prop_assert_eq!(got.len(), sent.len());
        for (k, msg) in kept {
            prop_assert_eq!(&msg, &sent[k]);
        }
    }
}

proptest! {

    #[test]
    fn input_split_anywhere_gives_the_same_events(cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..20)) {
        let (wire, whole) = recorded_session();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let now = Instant::now();
        let mut server = Connection::new(config(SocketType::XPub, Role::Server), now).unwrap();
        let mut got = Vec::new();
        let mut at = 0;
        for p in points.into_iter().chain([wire.len()]) {
            server.handle_bytes(&wire[at..p], now).unwrap();
            got.extend(events(&mut server));
            at = p;
        }
        prop_assert_eq!(got, whole);
    }

    #[test]
    fn hostile_bytes_after_the_handshake_never_panic(junk in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut conn = server_with_raw_peer(SocketType::XPub, "SUB", Version::V3_1);
        let _ = conn.handle_bytes(&junk, Instant::now());
        events(&mut conn);
    }

    #[test]
    fn hostile_bytes_in_place_of_a_greeting_never_panic(junk in proptest::collection::vec(any::<u8>(), 0..200)) {
        let now = Instant::now();
        let mut conn = Connection::new(config(SocketType::Router, Role::Server), now).unwrap();
        let mut input = greeting_bytes(Version::V3_1, MechanismName::NULL).to_vec();
        input.extend_from_slice(&junk);
        let _ = conn.handle_bytes(&input, now);
        let _ = conn.handle_timeout(now + Duration::from_secs(60));
    }
}

#[test]
fn pair_reports_errors_from_both_sides() {
    let mut pair = Pair::new(
        config(SocketType::Push, Role::Client),
        config(SocketType::Push, Role::Server),
    )
    .unwrap();
    let err: PairError = pair.drive().unwrap_err();
    assert!(matches!(
        err.server,
        Some(Error::Protocol(
            ProtocolError::IncompatibleSocketType { .. }
        ))
    ));
    assert!(matches!(err.client, Some(Error::Refused { .. })));
}
