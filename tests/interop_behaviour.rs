//! Socket behaviour against libzmq (pyzmq): filtering, spreading over peers, routing,
//! reconnection and subscription replay.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use support::{PySocket, eventually};
use zvtran::{Context, EventKind, Message, SendError, SocketOption, SocketType};

const WAIT: Duration = Duration::from_secs(10);

fn text(frames: &[Bytes]) -> String {
    frames
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join("|")
}

#[test]
fn our_sub_filters_by_prefix_and_unsubscribes_from_libzmq_pub() {
    let ctx = Context::new().unwrap();
    let mut publisher = PySocket::new("PUB");
    let ep = publisher.bind("tcp://127.0.0.1:*");
    let mut sub = ctx.socket(SocketType::Sub).unwrap();
    sub.connect(&ep).unwrap();
    sub.subscribe("a").unwrap();
    // Publish a round of each topic until only "a" topics arrive.
    let publish_round = |p: &mut PySocket| {
        for topic in ["a1", "b1", "ab", "c"] {
            p.send(&[Bytes::from(topic)]);
        }
    };
    eventually("the subscription", || {
        publish_round(&mut publisher);
        sub.recv_timeout(Duration::from_millis(20)).is_ok()
    });
    while sub.recv_timeout(Duration::from_millis(100)).is_ok() {}
    publish_round(&mut publisher);
    let mut got = Vec::new();
    while let Ok(m) = sub.recv_timeout(Duration::from_millis(200)) {
        got.push(text(m.frames()));
    }
    assert_eq!(got, ["a1", "ab"], "only prefix a");

    // Swap the subscription from a to b: libzmq's PUB must stop sending a.
    sub.subscribe("b").unwrap();
    sub.unsubscribe("a").unwrap();
    eventually("the new subscription", || {
        publish_round(&mut publisher);
        matches!(sub.recv_timeout(Duration::from_millis(20)), Ok(m) if m.first().unwrap().starts_with(b"b"))
    });
    while sub.recv_timeout(Duration::from_millis(100)).is_ok() {}
    publish_round(&mut publisher);
    let mut got = Vec::new();
    while let Ok(m) = sub.recv_timeout(Duration::from_millis(200)) {
        got.push(text(m.frames()));
    }
    assert_eq!(got, ["b1"], "only prefix b after unsubscribing a");
}

#[test]
fn our_xpub_sees_libzmq_subscriptions_and_filters() {
    let ctx = Context::new().unwrap();
    let mut xpub = ctx.socket(SocketType::XPub).unwrap();
    let ep = xpub.bind("tcp://127.0.0.1:*").unwrap();
    let mut sub = PySocket::new("SUB");
    sub.connect(&ep);
    sub.opt_bytes("SUBSCRIBE", b"weather");
    let m = xpub.recv_timeout(WAIT).expect("subscription");
    assert_eq!(m, Message::from("\x01weather"));
    for topic in ["weather-1", "sports-1", "weather-2"] {
        xpub.send(Message::from(topic)).unwrap();
    }
    assert_eq!(text(&sub.recv(5000).unwrap()), "weather-1");
    assert_eq!(text(&sub.recv(5000).unwrap()), "weather-2");
    assert_eq!(sub.recv(300), None);
    sub.ok("opt UNSUBSCRIBE 77656174686572");
    // libzmq processes the option on its next socket call.
    let _ = sub.recv(50);
    let m = xpub.recv_timeout(WAIT).expect("cancel");
    assert_eq!(m, Message::from("\x00weather"));
}

#[test]
fn our_push_round_robins_over_three_libzmq_pulls() {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let ep = push.bind("tcp://127.0.0.1:*").unwrap();
    let mut pulls: Vec<PySocket> = (0..3).map(|_| PySocket::new("PULL")).collect();
    for p in &mut pulls {
        p.connect(&ep);
    }
    eventually("three peers", || push.ready_peer_count() == 3);
    for i in 0..30 {
        push.send(Message::from(i.to_string())).unwrap();
    }
    let mut seen = HashSet::new();
    for p in &mut pulls {
        let got: Vec<usize> = (0..10)
            .map(|_| text(&p.recv(5000).expect("a share")).parse().unwrap())
            .collect();
        // Each peer gets every third message, in order.
        for w in got.windows(2) {
            assert_eq!(w[1], w[0] + 3, "round-robin order: {got:?}");
        }
        assert_eq!(p.recv(200), None, "more than a third");
        seen.extend(got);
    }
    assert_eq!(seen.len(), 30);
}

#[test]
fn our_pull_fair_queues_three_libzmq_pushes() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut pushes: Vec<PySocket> = (0..3).map(|_| PySocket::new("PUSH")).collect();
    for (k, p) in pushes.iter_mut().enumerate() {
        p.connect(&ep);
        for i in 0..10 {
            p.send(&[Bytes::from(format!("{k}-{i}"))]);
        }
    }
    // Let every pusher's messages reach our pipes before reading any.
    eventually("three peers", || pull.ready_peer_count() == 3);
    std::thread::sleep(Duration::from_millis(300));
    let got: Vec<String> = (0..30)
        .map(|_| text(pull.recv_timeout(WAIT).unwrap().frames()))
        .collect();
    for (n, window) in got.chunks(3).enumerate() {
        let senders: HashSet<&str> = window.iter().map(|m| &m[..1]).collect();
        assert_eq!(senders.len(), 3, "round {n} takes one from each: {got:?}");
    }
}

#[test]
fn our_router_addresses_libzmq_dealers_and_mandatory_reports_unroutable() {
    let ctx = Context::new().unwrap();
    let mut router = ctx.socket(SocketType::Router).unwrap();
    let ep = router.bind("tcp://127.0.0.1:*").unwrap();
    let mut dealers = Vec::new();
    for id in ["alpha", "beta"] {
        let mut d = PySocket::new("DEALER");
        d.opt_bytes("ROUTING_ID", id.as_bytes());
        d.connect(&ep);
        d.send(&[Bytes::from(format!("hi from {id}"))]);
        dealers.push(d);
    }
    let mut from = HashSet::new();
    for _ in 0..2 {
        let m = router.recv_timeout(WAIT).unwrap();
        let id = String::from_utf8(m.first().unwrap().to_vec()).unwrap();
        assert_eq!(text(&m.frames()[1..]), format!("hi from {id}"));
        from.insert(id);
    }
    assert_eq!(
        from,
        HashSet::from(["alpha".to_string(), "beta".to_string()])
    );
    router
        .send(Message::from_frames(["beta", "to beta"]))
        .unwrap();
    router
        .send(Message::from_frames(["alpha", "to alpha"]))
        .unwrap();
    assert_eq!(text(&dealers[0].recv(5000).unwrap()), "to alpha");
    assert_eq!(text(&dealers[1].recv(5000).unwrap()), "to beta");

    // An unknown id vanishes silently, unless ROUTER_MANDATORY is set.
    router
        .send(Message::from_frames(["gamma", "lost"]))
        .unwrap();
    router
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap();
    match router.send(Message::from_frames(["gamma", "refused"])) {
        Err(SendError::Unroutable(m)) => assert_eq!(m, Message::from_frames(["gamma", "refused"])),
        other => panic!("expected EHOSTUNREACH, got {other:?}"),
    }
    router
        .send(Message::from_frames(["alpha", "still fine"]))
        .unwrap();
    assert_eq!(text(&dealers[0].recv(5000).unwrap()), "still fine");
}

#[test]
fn libzmq_router_sees_our_routing_id() {
    let ctx = Context::new().unwrap();
    let mut router = PySocket::new("ROUTER");
    let ep = router.bind("tcp://127.0.0.1:*");
    let mut dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer
        .set_option(SocketOption::RoutingId(Bytes::from_static(b"zv-worker")))
        .unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send(Message::from("ready")).unwrap();
    assert_eq!(text(&router.recv(5000).unwrap()), "zv-worker|ready");
    router.send(&[Bytes::from_static(b"zv-worker"), Bytes::from_static(b"job")]);
    assert_eq!(dealer.recv_timeout(WAIT).unwrap(), Message::from("job"));
}

#[test]
fn we_reconnect_when_libzmq_starts_late_and_restarts() {
    let ctx = Context::new().unwrap();
    let port = support::free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(50))))
        .unwrap();
    let events = push.monitor();
    push.connect(&ep).unwrap();
    // Nobody listens yet: the messages wait in the pipe (IMMEDIATE off).
    for i in 0..5 {
        push.send(Message::from(format!("early {i}"))).unwrap();
    }
    let mut pull = PySocket::new("PULL");
    pull.bind(&ep);
    for i in 0..5 {
        assert_eq!(
            text(&pull.recv(5000).expect("queued message")),
            format!("early {i}")
        );
    }
    // The peer goes away and a new one binds the same port.
    drop(pull);
    let mut pull = PySocket::new("PULL");
    pull.bind(&ep);
    let handshakes = || {
        events
            .try_iter()
            .filter(|e| e.kind == EventKind::HandshakeSucceeded)
            .count()
    };
    let mut seen = 0;
    eventually("a second handshake", || {
        seen += handshakes();
        seen >= 2
    });
    push.send(Message::from("after restart")).unwrap();
    assert_eq!(
        text(&pull.recv(5000).expect("after restart")),
        "after restart"
    );
}

#[test]
fn our_sub_replays_its_subscriptions_after_libzmq_pub_restarts() {
    let ctx = Context::new().unwrap();
    let port = support::free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let mut sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(50))))
        .unwrap();
    sub.subscribe("news").unwrap();
    sub.connect(&ep).unwrap();
    for round in 0..2 {
        let mut publisher = PySocket::new("PUB");
        publisher.bind(&ep);
        eventually("the subscription to reach the publisher", || {
            publisher.send(&[Bytes::from(format!("news {round}"))]);
            publisher.send(&[Bytes::from_static(b"other")]);
            matches!(sub.recv_timeout(Duration::from_millis(20)), Ok(m) if m.first().unwrap().starts_with(b"news"))
        });
        // libzmq's PUB filters: "other" never reaches us.
        while let Ok(m) = sub.recv_timeout(Duration::from_millis(100)) {
            assert!(m.first().unwrap().starts_with(b"news"), "{m:?}");
        }
    }
}
