//! ws:// against libzmq's own WebSocket transport (a draft feature of libzmq 4.3.5, built from
//! source as `tests/udp-peer`), both ways. libzmq's client offers `ZWS2.0/NULL` (READY
//! exchanged); zvtran's client offers bare `ZWS2.0`, where each side's first message is its
//! routing id.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{Lines, free_port, libzmq_draft_peer};
use zvtran::{Context, Message, SocketType};

const WAIT: Duration = Duration::from_secs(10);

/// A socket that gives up on unsent messages 1 s after it is dropped: a failing test ends
/// instead of waiting for ever for a peer that never took them.
fn socket(ctx: &Context, kind: SocketType) -> zvtran::Socket {
    let mut s = ctx.socket(kind).unwrap();
    s.set_option(zvtran::SocketOption::Linger(Some(Duration::from_secs(1))))
        .unwrap();
    s
}

/// The libzmq peer with `args`, its output as lines.
fn libzmq(args: &[&str]) -> Lines {
    Lines::spawn(
        Command::new(libzmq_draft_peer()).args(args),
        "the libzmq peer (tests/udp-peer)",
    )
}

#[test]
fn a_zvtran_push_reaches_a_libzmq_pull_in_order() {
    let endpoint = format!("ws://127.0.0.1:{}", free_port());
    let pull = libzmq(&["recv", "PULL", "bind", &endpoint, "1000", "5000"]);
    assert_eq!(pull.line(), "READY");
    let ctx = Context::new().unwrap();
    let mut push = socket(&ctx, SocketType::Push);
    push.connect(&endpoint).unwrap();
    for i in 0..1000 {
        push.send(Message::from(format!("m{i}"))).unwrap();
    }
    // The first message is not taken for a routing id: every one arrives, in order.
    for i in 0..1000 {
        assert_eq!(pull.line(), format!("m{i}"));
    }
}

#[test]
fn a_libzmq_push_reaches_a_zvtran_pull_in_order() {
    let endpoint = format!("ws://127.0.0.1:{}", free_port());
    let ctx = Context::new().unwrap();
    let mut pull = socket(&ctx, SocketType::Pull);
    pull.bind(&endpoint).unwrap();
    let _push = libzmq(&["send", "PUSH", "connect", &endpoint, "1000", "m"]);
    for i in 0..1000 {
        assert_eq!(
            pull.recv_timeout(WAIT).unwrap(),
            Message::from(format!("m{i}"))
        );
    }
}

#[test]
fn a_zvtran_req_is_answered_by_a_libzmq_rep() {
    let endpoint = format!("ws://127.0.0.1:{}", free_port());
    let rep = libzmq(&["recv", "REP", "bind", &endpoint, "10", "5000"]);
    assert_eq!(rep.line(), "READY");
    let ctx = Context::new().unwrap();
    let mut req = socket(&ctx, SocketType::Req);
    req.connect(&endpoint).unwrap();
    for i in 0..10 {
        req.send(Message::from(format!("q{i}"))).unwrap();
        assert_eq!(
            req.recv_timeout(WAIT).unwrap(),
            Message::from(format!("re:q{i}"))
        );
        assert_eq!(rep.line(), format!("q{i}"));
    }
}

#[test]
fn a_libzmq_req_reaches_a_zvtran_router_and_gets_its_reply() {
    let endpoint = format!("ws://127.0.0.1:{}", free_port());
    let ctx = Context::new().unwrap();
    let mut router = socket(&ctx, SocketType::Router);
    router.bind(&endpoint).unwrap();
    let req = libzmq(&["send", "REQ", "connect", &endpoint, "3", "hi"]);
    for i in 0..3 {
        let m = router.recv_timeout(WAIT).unwrap();
        // Routing id, the empty delimiter, the request.
        assert_eq!(m.frames().len(), 3, "{m:?}");
        assert!(m.frames()[1].is_empty());
        assert_eq!(m.frames()[2], format!("hi{i}"));
        let reply = Message::from_frames([
            m.frames()[0].clone(),
            bytes::Bytes::new(),
            bytes::Bytes::from(format!("re:hi{i}")),
        ]);
        router.send(reply).unwrap();
        assert_eq!(req.line(), format!("re:hi{i}"));
    }
}

#[test]
fn pub_sub_filters_both_ways() {
    let ctx = Context::new().unwrap();
    // A libzmq SUB on a zvtran PUB: only its topic.
    let endpoint = format!("ws://127.0.0.1:{}", free_port());
    let mut publisher = socket(&ctx, SocketType::Pub);
    publisher.bind(&endpoint).unwrap();
    let sub = libzmq(&["recv", "SUB", "connect", &endpoint, "1000", "5000", "news"]);
    assert_eq!(sub.line(), "READY");
    let mut n = 0;
    while sub.line_within(Duration::from_millis(50)).is_none() && n < 200 {
        // Until the subscription has arrived, what is sent may be lost: send the filler
        // topic only, then the real ones.
        publisher.send(Message::from("other")).unwrap();
        publisher.send(Message::from("news-probe")).unwrap();
        n += 1;
    }
    assert!(n < 200, "the libzmq SUB never got a message");
    for i in 0..2 {
        publisher.send(Message::from(format!("sport{i}"))).unwrap();
        publisher.send(Message::from(format!("news{i}"))).unwrap();
    }
    // Probes still on their way come first; nothing off the topic comes at all.
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("news1") {
        let line = sub.line();
        assert!(line.starts_with("news"), "off the topic: {line}");
        if line != "news-probe" {
            seen.push(line);
        }
    }
    assert_eq!(seen, ["news0", "news1"]);

    // A zvtran SUB on a libzmq PUB.
    let endpoint = format!("ws://127.0.0.1:{}", free_port());
    let mut subscriber = socket(&ctx, SocketType::Sub);
    subscriber.subscribe(b"b").unwrap();
    let _publisher = libzmq(&["send", "PUB", "bind", &endpoint, "50", "b"]);
    std::thread::sleep(Duration::from_millis(100));
    subscriber.connect(&endpoint).unwrap();
    let got = subscriber.recv_timeout(WAIT).unwrap();
    assert!(got.frames()[0].starts_with(b"b"), "{got:?}");
}

#[test]
fn plain_over_zws_with_libzmq_both_ways() {
    use zvtran::{SocketOption, ZapReply};
    let ctx = Context::new().unwrap();
    // libzmq is the PLAIN server (with no ZAP handler it admits anyone).
    let endpoint = format!("ws://127.0.0.1:{}", free_port());
    let pull = Lines::spawn(
        Command::new(libzmq_draft_peer())
            .env("PEER_PLAIN", "server")
            .args(["recv", "PULL", "bind", &endpoint, "3", "5000"]),
        "the libzmq peer (tests/udp-peer)",
    );
    assert_eq!(pull.line(), "READY");
    let mut push = socket(&ctx, SocketType::Push);
    push.set_option_by_name("PLAIN_USERNAME", b"admin").unwrap();
    push.set_option_by_name("PLAIN_PASSWORD", b"secret")
        .unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..3 {
        push.send(Message::from(format!("p{i}"))).unwrap();
    }
    for i in 0..3 {
        assert_eq!(pull.line(), format!("p{i}"));
    }

    // zvtran is the PLAIN server, its ZAP handler checking libzmq's credentials.
    ctx.set_zap_handler(|req| match (req.username(), req.password()) {
        (Some(b"admin"), Some(b"secret")) => ZapReply::allow("admin"),
        _ => ZapReply::deny("wrong user name or password"),
    });
    let endpoint = format!("ws://127.0.0.1:{}", free_port());
    let mut server = socket(&ctx, SocketType::Pull);
    server.set_option(SocketOption::PlainServer(true)).unwrap();
    server.bind(&endpoint).unwrap();
    let _push = Lines::spawn(
        Command::new(libzmq_draft_peer())
            .env("PEER_PLAIN", "admin:secret")
            .args(["send", "PUSH", "connect", &endpoint, "3", "q"]),
        "the libzmq peer (tests/udp-peer)",
    );
    for i in 0..3 {
        let got = server.recv_timeout(WAIT).unwrap();
        assert_eq!(got, Message::from(format!("q{i}")));
        assert_eq!(
            got.property("User-Id").map(|v| v.to_vec()),
            Some(b"admin".to_vec())
        );
    }
}
