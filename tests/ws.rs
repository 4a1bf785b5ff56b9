//! `ws://` (ZWS 2.0 with NULL) between zvtran sockets: messages, subscriptions and requests
//! over WebSocket, and hostile peers (not an upgrade, a frame declaring 2^63 octets, an
//! unmasked client frame) dropped while a good peer is served.

#[path = "support/pki.rs"]
mod pki;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{eventually, wait_event};
use zvtran::{Context, EventKind, Message, SocketType};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn push_pull_with_large_and_multipart_messages() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let endpoint = pull.bind("ws://127.0.0.1:*/zmq").unwrap();
    assert!(
        endpoint.starts_with("ws://127.0.0.1:") && endpoint.ends_with("/zmq"),
        "{endpoint}"
    );
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap();
    let big = bytes::Bytes::from(vec![0xab; 300_000]);
    push.send(Message::from_frames([
        bytes::Bytes::from_static(b"head"),
        big.clone(),
    ]))
    .unwrap();
    for i in 0..5000u32 {
        push.send(Message::from(i.to_be_bytes().to_vec())).unwrap();
    }
    let m = pull.recv_timeout(WAIT).unwrap();
    assert_eq!(m.frames()[0], "head");
    assert_eq!(m.frames()[1], big);
    for i in 0..5000u32 {
        assert_eq!(
            &pull.recv_timeout(WAIT).unwrap().frames()[0][..],
            &i.to_be_bytes()
        );
    }
}

#[test]
fn pub_sub_filters_and_req_rep_answers() {
    let ctx = Context::new().unwrap();
    let mut publisher = ctx.socket(SocketType::Pub).unwrap();
    let endpoint = publisher.bind("ws://127.0.0.1:*").unwrap();
    let mut sub = ctx.socket(SocketType::Sub).unwrap();
    sub.subscribe("a.").unwrap();
    sub.connect(&endpoint).unwrap();
    eventually("the subscription over ws", || {
        publisher.subscribes_received() == 1
    });
    for t in ["a.1", "b.1", "a.2"] {
        publisher.send(Message::from(t)).unwrap();
    }
    assert_eq!(sub.recv_timeout(WAIT).unwrap(), Message::from("a.1"));
    assert_eq!(sub.recv_timeout(WAIT).unwrap(), Message::from("a.2"));
    assert!(sub.recv_timeout(Duration::from_millis(200)).is_err());

    let mut rep = ctx.socket(SocketType::Rep).unwrap();
    let endpoint = rep.bind("ws://127.0.0.1:*/rpc").unwrap();
    let mut req = ctx.socket(SocketType::Req).unwrap();
    req.connect(&endpoint).unwrap();
    support::req_rep_rounds(&mut req, &mut rep, 20);
}

/// A raw client that completes the upgrade, then sends `after`.
fn raw_client(addr: &str, after: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(
        b"GET /zmq HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Protocol: ZWS2.0/NULL\r\n\r\n",
    )
    .unwrap();
    s.write_all(after).unwrap();
    s
}

#[test]
fn hostile_peers_are_dropped_while_a_good_one_is_served() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let events = pull.monitor();
    let endpoint = pull.bind("ws://127.0.0.1:*/zmq").unwrap();
    let addr = endpoint
        .trim_start_matches("ws://")
        .trim_end_matches("/zmq")
        .to_string();
    // Not an upgrade at all.
    let mut garbage = TcpStream::connect(&addr).unwrap();
    garbage.write_all(b"\x16\x03\x01 hello?\r\n\r\n").unwrap();
    // A masked binary frame declaring 2^63 - 1 octets.
    let mut huge = vec![0x82, 0xff];
    huge.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
    huge.extend_from_slice(&[1, 2, 3, 4]);
    let mut declared = raw_client(&addr, &huge);
    // An unmasked frame from a client.
    let mut unmasked = raw_client(&addr, &[0x82, 0x01, 0x00]);
    // The wrong path.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(
        b"GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Protocol: ZWS2.0/NULL\r\n\r\n",
    )
    .unwrap();

    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap();
    support::push_pull_in_order(&mut push, &mut pull, "good", 100);
    for what in ["garbage", "2^63 frame", "unmasked frame", "wrong path"] {
        wait_event(&events, what, |k| {
            matches!(k, EventKind::HandshakeFailed { .. })
        });
    }
    // Each was closed by the server.
    for stream in [&mut garbage, &mut declared, &mut unmasked, &mut s] {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
        assert!(sink.len() < 4096);
    }
}

/// The Python WebSocket peer (the `websockets` library: scripts/python-env installs it).
struct PyWs(support::Lines);

impl PyWs {
    fn spawn(args: &[&str]) -> PyWs {
        PyWs(support::Lines::spawn(
            std::process::Command::new(support::python())
                .arg(support::root().join("tests/peers/zws_peer.py"))
                .args(args),
            "the Python WebSocket peer",
        ))
    }

    fn line(&self) -> String {
        self.0.line()
    }
}

#[test]
fn an_independent_websocket_client_reaches_a_zvtran_pull() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let endpoint = pull.bind("ws://127.0.0.1:*/zmq").unwrap();
    let peer = PyWs::spawn(&["client", &endpoint, "100"]);
    for i in 0..99 {
        assert_eq!(
            pull.recv_timeout(WAIT).unwrap(),
            Message::from(format!("w{i}"))
        );
    }
    let last = pull.recv_timeout(WAIT).unwrap();
    assert_eq!(last.frames().len(), 2);
    assert_eq!(last.frames()[0], "last");
    assert_eq!(last.frames()[1].len(), 70000);
    assert_eq!(peer.line(), "SENT");
}

#[test]
fn a_zvtran_push_reaches_an_independent_websocket_server() {
    let peer = PyWs::spawn(&["server", "3"]);
    let port = peer.line().strip_prefix("PORT ").unwrap().to_string();
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
    push.send(Message::from("one")).unwrap();
    push.send(Message::from_frames(["two", "parts"])).unwrap();
    push.send(Message::from(vec![0x5a; 100_000])).unwrap();
    assert_eq!(peer.line(), "MSG 6f6e65");
    assert_eq!(peer.line(), "MSG 74776f,7061727473");
    let big = peer.line();
    assert_eq!(big.len(), "MSG ".len() + 200_000);
    assert_eq!(peer.line(), "DONE");
}

#[test]
fn a_client_offering_zws_null_exchanges_ready_first() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let endpoint = pull.bind("ws://127.0.0.1:*/zmq").unwrap();
    let addr = endpoint
        .trim_start_matches("ws://")
        .trim_end_matches("/zmq")
        .to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(
        b"GET /zmq HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Protocol: ZWS2.0/NULL, ZWS2.0\r\n\r\n",
    )
    .unwrap();
    // The reply head, then the server's READY: an unmasked binary frame, command flag 2.
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        got.push(byte[0]);
    }
    let head = String::from_utf8(got).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("Sec-WebSocket-Protocol: ZWS2.0/NULL"),
        "{head}"
    );
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    // Our READY as a PUSH (a NULL client speaks first), then one message, masked as a client
    // must.
    let mask = [1u8, 2, 3, 4];
    let frame = |payload: &[u8]| {
        let mut f = vec![0x82, 0x80 | payload.len() as u8];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    };
    s.write_all(&frame(b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH"))
        .unwrap();
    s.write_all(&frame(b"\x00hello from a raw client")).unwrap();
    // The server's READY: an unmasked binary frame, command flag 2, Socket-Type PULL.
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    assert_eq!(h[0], 0x82);
    let mut body = vec![0u8; usize::from(h[1])];
    s.read_exact(&mut body).unwrap();
    assert_eq!(&body[..7], b"\x02\x05READY");
    assert!(
        body.ends_with(b"Socket-Type\x00\x00\x00\x04PULL"),
        "{body:?}"
    );
    assert_eq!(
        pull.recv_timeout(WAIT).unwrap(),
        Message::from("hello from a raw client")
    );
}

#[test]
fn wss_with_the_tls_options_and_a_certificate_that_fails() {
    let pki = pki::Pki::new();
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_option_by_name("TLS_CERT_CHAIN", pki.server_cert.as_bytes())
        .unwrap();
    pull.set_option_by_name("TLS_PRIVATE_KEY", pki.server_key.as_bytes())
        .unwrap();
    let endpoint = pull.bind("wss://127.0.0.1:*/secure").unwrap();
    assert!(
        endpoint.starts_with("wss://127.0.0.1:") && endpoint.ends_with("/secure"),
        "{endpoint}"
    );
    let port = endpoint
        .trim_start_matches("wss://127.0.0.1:")
        .trim_end_matches("/secure");
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option_by_name("TLS_TRUSTED_ROOTS", pki.ca.as_bytes())
        .unwrap();
    push.connect(&format!("wss://localhost:{port}/secure"))
        .unwrap();
    support::push_pull_in_order(&mut push, &mut pull, "secure", 1000);
    // Without the roots: refused at connect; with a CA that did not sign it: a fatal event.
    let mut bare = ctx.socket(SocketType::Push).unwrap();
    assert!(bare.connect(&endpoint).is_err());
    let other = pki::Pki::new();
    let mut wrong = ctx.socket(SocketType::Push).unwrap();
    wrong
        .set_option_by_name("TLS_TRUSTED_ROOTS", other.ca.as_bytes())
        .unwrap();
    let events = wrong.monitor();
    wrong
        .connect(&format!("wss://localhost:{port}/secure"))
        .unwrap();
    wait_event(&events, "HandshakeFailed (certificate)", |k| {
        matches!(k, EventKind::HandshakeFailed { reason, no_retry: true }
            if reason.contains("certificate"))
    });
}

#[test]
fn plain_and_curve_run_inside_their_zws_subprotocols() {
    use zvtran::{KeyPair, SocketOption, ZapReply};
    let ctx = Context::new().unwrap();
    ctx.set_zap_handler(|req| match (req.username(), req.password()) {
        (Some(b"admin"), Some(b"secret")) => ZapReply::allow("admin"),
        (None, None) => ZapReply::allow("curve client"),
        _ => ZapReply::deny("wrong user name or password"),
    });
    // PLAIN: the right password gets through; a wrong one is refused for good.
    let mut server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option(SocketOption::PlainServer(true)).unwrap();
    let endpoint = server.bind("ws://127.0.0.1:*/plain").unwrap();
    let plain_client = |password: &str| {
        let mut c = ctx.socket(SocketType::Push).unwrap();
        c.set_option_by_name("PLAIN_USERNAME", b"admin").unwrap();
        c.set_option_by_name("PLAIN_PASSWORD", password.as_bytes())
            .unwrap();
        c.set_option(SocketOption::Linger(Some(Duration::ZERO)))
            .unwrap();
        c
    };
    let mut bad = plain_client("guess");
    let bad_events = bad.monitor();
    bad.connect(&endpoint).unwrap();
    bad.send(Message::from("must not arrive")).unwrap();
    wait_event(&bad_events, "the refusal", |k| {
        matches!(k, EventKind::HandshakeFailedAuth { status: 400, .. })
    });
    let mut good = plain_client("secret");
    good.connect(&endpoint).unwrap();
    good.send(Message::from("over ZWS2.0/PLAIN")).unwrap();
    let got = server.recv_timeout(WAIT).unwrap();
    assert_eq!(got, Message::from("over ZWS2.0/PLAIN"));
    assert_eq!(
        got.property("User-Id").map(|v| v.to_vec()),
        Some(b"admin".to_vec())
    );

    // CURVE: a client that knows the server's key.
    let server_keys = KeyPair::generate();
    let client_keys = KeyPair::generate();
    let mut server = ctx.socket(SocketType::Rep).unwrap();
    server.set_option(SocketOption::CurveServer(true)).unwrap();
    server
        .set_option(SocketOption::CurveSecretKey(server_keys.secret.clone()))
        .unwrap();
    let endpoint = server.bind("ws://127.0.0.1:*/curve").unwrap();
    let mut client = ctx.socket(SocketType::Req).unwrap();
    client
        .set_option(SocketOption::CurveServerKey(server_keys.public))
        .unwrap();
    client
        .set_option(SocketOption::CurvePublicKey(client_keys.public))
        .unwrap();
    client
        .set_option(SocketOption::CurveSecretKey(client_keys.secret.clone()))
        .unwrap();
    client.connect(&endpoint).unwrap();
    client.send(Message::from("sealed")).unwrap();
    assert_eq!(server.recv_timeout(WAIT).unwrap(), Message::from("sealed"));
    server.send(Message::from("sealed back")).unwrap();
    assert_eq!(
        client.recv_timeout(WAIT).unwrap(),
        Message::from("sealed back")
    );

    // A NULL client cannot reach a PLAIN server: the server refuses the upgrade.
    let mut server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option(SocketOption::PlainServer(true)).unwrap();
    let events = server.monitor();
    let endpoint = server.bind("ws://127.0.0.1:*/plain2").unwrap();
    let mut null = ctx.socket(SocketType::Push).unwrap();
    null.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    null.connect(&endpoint).unwrap();
    wait_event(
        &events,
        "the refused upgrade",
        |k| matches!(k, EventKind::HandshakeFailed { reason, .. } if reason.contains("ZWS2.0/PLAIN")),
    );
}
