//! Socket features beyond plain traffic: poller, proxy, monitor, high-water marks, IMMEDIATE,
//! CONFLATE, LINGER, unbind/disconnect, ROUTER_HANDOVER, XPUB_VERBOSE, heartbeats, REQ/REP order,
//! PAIR exclusivity.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use bytes::Bytes;
use support::eventually;
use zvtran::drivers::blocking::BlockingConnection;
use zvtran::zmtp::{Config, Role};
use zvtran::{
    Context, EventKind, Message, PollItem, RecvError, SendError, SocketOption, SocketType, poll,
    proxy,
};

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn poller_waits_on_several_sockets() {
    let ctx = Context::new().unwrap();
    let mut a = ctx.socket(SocketType::Pull).unwrap();
    let mut b = ctx.socket(SocketType::Pull).unwrap();
    a.bind("inproc://poll-a").unwrap();
    b.bind("inproc://poll-b").unwrap();
    let mut push_b = ctx.socket(SocketType::Push).unwrap();
    push_b.connect("inproc://poll-b").unwrap();

    let start = Instant::now();
    {
        let mut items = [PollItem::readable(&mut a), PollItem::readable(&mut b)];
        assert_eq!(poll(&mut items, Some(Duration::from_millis(100))), 0);
    }
    assert!(start.elapsed() >= Duration::from_millis(90));

    // A message sent from another thread wakes the poller.
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        push_b.send(Message::from("wake")).unwrap();
        push_b
    });
    let mut items = [PollItem::readable(&mut a), PollItem::readable(&mut b)];
    assert_eq!(poll(&mut items, Some(WAIT)), 1);
    assert!(!items[0].readable && items[1].readable);
    assert_eq!(items[1].socket().try_recv().unwrap(), Message::from("wake"));
    let _push_b = sender.join().unwrap();

    // POLLOUT: a PUSH with a peer and room is writable.
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://poll-a").unwrap();
    let mut items = [PollItem::writable(&mut push)];
    assert_eq!(poll(&mut items, Some(WAIT)), 1);
}

#[test]
fn proxy_joins_clients_and_workers() {
    let ctx = Context::new().unwrap();
    let mut frontend = ctx.socket(SocketType::Router).unwrap();
    let mut backend = ctx.socket(SocketType::Dealer).unwrap();
    frontend.bind("inproc://front").unwrap();
    backend.bind("inproc://back").unwrap();
    std::thread::spawn(move || proxy(&mut frontend, &mut backend, None));
    let mut worker = ctx.socket(SocketType::Rep).unwrap();
    worker.connect("inproc://back").unwrap();
    let worker = std::thread::spawn(move || {
        for _ in 0..3 {
            let q = worker.recv_timeout(WAIT).unwrap();
            let mut reply = b"re: ".to_vec();
            reply.extend_from_slice(q.first().unwrap());
            worker.send(Message::from(reply)).unwrap();
        }
    });
    let mut client = ctx.socket(SocketType::Req).unwrap();
    client.connect("inproc://front").unwrap();
    for q in ["a", "b", "c"] {
        client.send(Message::from(q)).unwrap();
        assert_eq!(
            client.recv_timeout(WAIT).unwrap(),
            Message::from(format!("re: {q}"))
        );
    }
    worker.join().unwrap();
}

#[test]
fn monitor_reports_the_connection_lifecycle() {
    let ctx = Context::new().unwrap();
    let mut server = ctx.socket(SocketType::Pull).unwrap();
    let server_events = server.monitor();
    let ep = server.bind("tcp://127.0.0.1:*").unwrap();
    let mut client = ctx.socket(SocketType::Push).unwrap();
    let client_events = client.monitor();
    client.connect(&ep).unwrap();
    client.send(Message::from("x")).unwrap();
    server.recv_timeout(WAIT).unwrap();
    drop(client);
    let kinds = |rx: &crossbeam_channel::Receiver<zvtran::MonitorEvent>,
                 until: fn(&EventKind) -> bool| {
        let mut seen = Vec::new();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(e) = rx.recv_timeout(Duration::from_millis(50)) {
                let done = until(&e.kind);
                seen.push(e.kind);
                if done {
                    break;
                }
            }
        }
        seen
    };
    let server_seen = kinds(&server_events, |k| {
        matches!(k, EventKind::Disconnected { .. })
    });
    assert!(
        matches!(server_seen[0], EventKind::Listening),
        "{server_seen:?}"
    );
    assert!(
        server_seen
            .iter()
            .any(|k| matches!(k, EventKind::Accepted { .. }))
    );
    assert!(server_seen.contains(&EventKind::HandshakeSucceeded));
    assert!(
        matches!(server_seen.last(), Some(EventKind::Disconnected { .. })),
        "{server_seen:?}"
    );
    let client_seen: Vec<EventKind> = client_events.try_iter().map(|e| e.kind).collect();
    assert!(
        client_seen.contains(&EventKind::Connected),
        "{client_seen:?}"
    );
    assert!(
        client_seen.contains(&EventKind::HandshakeSucceeded),
        "{client_seen:?}"
    );
}

#[test]
fn push_blocks_at_the_hwm_and_pub_drops() {
    let ctx = Context::new().unwrap();
    // Nobody listens: with IMMEDIATE off the pipe exists and fills to SNDHWM.
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::SndHwm(10)).unwrap();
    push.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    push.connect("tcp://127.0.0.1:1").unwrap();
    for i in 0..10 {
        push.try_send(Message::from(format!("{i}"))).unwrap();
    }
    assert!(matches!(
        push.try_send(Message::from("11th")),
        Err(SendError::WouldBlock(_))
    ));
    let start = Instant::now();
    assert!(matches!(
        push.send_timeout(Message::from("11th"), Duration::from_millis(100)),
        Err(SendError::WouldBlock(_))
    ));
    assert!(start.elapsed() >= Duration::from_millis(90));
    // SNDTIMEO applies to plain send.
    push.set_option(SocketOption::SndTimeo(Some(Duration::from_millis(50))))
        .unwrap();
    assert!(matches!(
        push.send(Message::from("x")),
        Err(SendError::WouldBlock(_))
    ));

    // A PUB never blocks: a slow subscriber misses what does not fit.
    let mut publisher = ctx.socket(SocketType::Pub).unwrap();
    publisher.set_option(SocketOption::SndHwm(10)).unwrap();
    publisher.bind("inproc://hwm-pub").unwrap();
    let mut sub = ctx.socket(SocketType::Sub).unwrap();
    sub.set_option(SocketOption::RcvHwm(10)).unwrap();
    sub.subscribe("").unwrap();
    sub.connect("inproc://hwm-pub").unwrap();
    eventually("the subscription", || {
        publisher.try_send(Message::from("probe")).unwrap();
        sub.try_recv().is_ok()
    });
    while sub.try_recv().is_ok() {}
    for i in 0..1000 {
        publisher.try_send(Message::from(format!("{i}"))).unwrap();
    }
    let mut got = 0;
    while sub.try_recv().is_ok() {
        got += 1;
    }
    assert!(got > 0 && got <= 20, "a PUB drops at the HWM: got {got}");
}

#[test]
fn immediate_queues_only_to_completed_connections() {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::Immediate(true)).unwrap();
    push.connect("tcp://127.0.0.1:1").unwrap();
    assert!(matches!(
        push.try_send(Message::from("nowhere")),
        Err(SendError::WouldBlock(_))
    ));
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    push.connect(&ep).unwrap();
    eventually("a completed connection", || {
        push.try_send(Message::from("ok")).is_ok()
    });
    assert_eq!(pull.recv_timeout(WAIT).unwrap(), Message::from("ok"));
}

#[test]
fn conflate_keeps_only_the_newest() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_option(SocketOption::Conflate(true)).unwrap();
    pull.bind("inproc://conflate").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::Conflate(true)).unwrap();
    push.connect("inproc://conflate").unwrap();
    for i in 0..100 {
        push.send(Message::from(format!("v{i}"))).unwrap();
    }
    assert_eq!(pull.recv_timeout(WAIT).unwrap(), Message::from("v99"));
    assert_eq!(pull.try_recv(), Err(RecvError::WouldBlock));
}

#[test]
fn linger_zero_drops_queued_messages_at_once() {
    let start = Instant::now();
    {
        let ctx = Context::new().unwrap();
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.set_option(SocketOption::Linger(Some(Duration::ZERO)))
            .unwrap();
        push.connect("tcp://127.0.0.1:1").unwrap();
        push.send(Message::from("never delivered")).unwrap();
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn unbind_and_disconnect_stop_traffic() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(20))))
        .unwrap();
    push.connect(&ep).unwrap();
    push.send(Message::from("before")).unwrap();
    assert_eq!(pull.recv_timeout(WAIT).unwrap(), Message::from("before"));
    pull.unbind(&ep).unwrap();
    assert!(pull.unbind(&ep).is_err(), "unbinding twice is an error");
    eventually("the peer to go", || pull.peer_count() == 0);
    // Nothing listens any more: a new connection is refused.
    assert!(std::net::TcpStream::connect(ep.trim_start_matches("tcp://")).is_err());

    let mut pull2 = ctx.socket(SocketType::Pull).unwrap();
    let ep2 = pull2.bind("tcp://127.0.0.1:*").unwrap();
    push.disconnect(&ep).unwrap();
    push.connect(&ep2).unwrap();
    push.send(Message::from("after")).unwrap();
    assert_eq!(pull2.recv_timeout(WAIT).unwrap(), Message::from("after"));
    assert!(push.disconnect("tcp://127.0.0.1:9").is_err());
}

#[test]
fn router_handover_gives_the_id_to_the_newcomer() {
    let ctx = Context::new().unwrap();
    let mut router = ctx.socket(SocketType::Router).unwrap();
    router
        .set_option(SocketOption::RouterHandover(true))
        .unwrap();
    router.bind("inproc://handover").unwrap();
    let connect = |ctx: &Context| {
        let mut d = ctx.socket(SocketType::Dealer).unwrap();
        d.set_option(SocketOption::RoutingId(Bytes::from_static(b"same")))
            .unwrap();
        d.connect("inproc://handover").unwrap();
        d.send(Message::from("hi")).unwrap();
        d
    };
    let mut first = connect(&ctx);
    router.recv_timeout(WAIT).unwrap();
    let mut second = connect(&ctx);
    router.recv_timeout(WAIT).unwrap();
    router
        .send(Message::from_frames(["same", "for the newest"]))
        .unwrap();
    assert_eq!(
        second.recv_timeout(WAIT).unwrap(),
        Message::from("for the newest")
    );
    assert_eq!(first.try_recv(), Err(RecvError::WouldBlock));
}

#[test]
fn xpub_verbose_passes_every_subscribe() {
    let ctx = Context::new().unwrap();
    for verbose in [false, true] {
        let mut xpub = ctx.socket(SocketType::XPub).unwrap();
        xpub.set_option(SocketOption::XpubVerbose(verbose)).unwrap();
        let ep = format!("inproc://verbose-{verbose}");
        xpub.bind(&ep).unwrap();
        let mut subs = Vec::new();
        for _ in 0..2 {
            let mut s = ctx.socket(SocketType::Sub).unwrap();
            s.connect(&ep).unwrap();
            s.subscribe("t").unwrap();
            subs.push(s);
        }
        let mut seen = 0;
        while xpub.recv_timeout(Duration::from_millis(200)).is_ok() {
            seen += 1;
        }
        assert_eq!(seen, if verbose { 2 } else { 1 }, "verbose={verbose}");
    }
}

#[test]
fn heartbeats_drop_a_silent_peer() {
    let ctx = Context::new().unwrap();
    // A peer that completes the handshake and then never reads or answers a PING.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut conn =
            BlockingConnection::new(stream, Config::new(SocketType::Router, Role::Server)).unwrap();
        conn.handshake(WAIT).unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    let mut dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer
        .set_option(SocketOption::HeartbeatIvl(Duration::from_millis(100)))
        .unwrap();
    dealer
        .set_option(SocketOption::HeartbeatTimeout(Duration::from_millis(300)))
        .unwrap();
    dealer.set_option(SocketOption::ReconnectIvl(None)).unwrap();
    let events = dealer.monitor();
    dealer.connect(&format!("tcp://{addr}")).unwrap();
    let start = Instant::now();
    let reason = loop {
        let e = events.recv_timeout(WAIT).expect("an event");
        if let EventKind::Disconnected { reason } = e.kind {
            break reason;
        }
    };
    assert!(reason.contains("heartbeat"), "{reason}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    silent.join().unwrap();
}

#[test]
fn req_and_rep_enforce_their_order() {
    let ctx = Context::new().unwrap();
    let mut rep = ctx.socket(SocketType::Rep).unwrap();
    rep.bind("inproc://order").unwrap();
    let mut req = ctx.socket(SocketType::Req).unwrap();
    req.connect("inproc://order").unwrap();
    assert_eq!(req.try_recv(), Err(RecvError::WrongState));
    assert!(matches!(
        rep.send(Message::from("no")),
        Err(SendError::WrongState(_))
    ));
    req.send(Message::from("q")).unwrap();
    assert!(matches!(
        req.send(Message::from("q2")),
        Err(SendError::WrongState(_))
    ));
    assert_eq!(rep.recv_timeout(WAIT).unwrap(), Message::from("q"));
    assert_eq!(rep.try_recv(), Err(RecvError::WrongState));
    rep.send(Message::from("a")).unwrap();
    assert_eq!(req.recv_timeout(WAIT).unwrap(), Message::from("a"));
    // Types that cannot send or receive say so.
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    assert!(matches!(
        pull.try_send(Message::from("x")),
        Err(SendError::NotSupported(_))
    ));
    let mut publisher = ctx.socket(SocketType::Pub).unwrap();
    assert_eq!(publisher.try_recv(), Err(RecvError::NotSupported));
    assert!(matches!(
        req.send(Message::new()),
        Err(SendError::EmptyMessage)
    ));
}

#[test]
fn pair_takes_one_peer_only() {
    let ctx = Context::new().unwrap();
    let mut server = ctx.socket(SocketType::Pair).unwrap();
    let ep = server.bind("tcp://127.0.0.1:*").unwrap();
    let mut first = ctx.socket(SocketType::Pair).unwrap();
    first.connect(&ep).unwrap();
    first.send(Message::from("first")).unwrap();
    assert_eq!(server.recv_timeout(WAIT).unwrap(), Message::from("first"));
    let mut second = ctx.socket(SocketType::Pair).unwrap();
    second.connect(&ep).unwrap();
    let _ = second.send_timeout(Message::from("second"), Duration::from_millis(200));
    assert_eq!(
        server.recv_timeout(Duration::from_millis(300)),
        Err(RecvError::WouldBlock)
    );
    server.send(Message::from("to first")).unwrap();
    assert_eq!(first.recv_timeout(WAIT).unwrap(), Message::from("to first"));
}

#[test]
fn options_by_name_and_bad_values() {
    let ctx = Context::new().unwrap();
    let mut s = ctx.socket(SocketType::Dealer).unwrap();
    s.set_option_by_name("sndhwm", b"5").unwrap();
    assert!(s.set_option_by_name("routing_id", b"").is_err());
    assert!(s.set_option_by_name("nonsense", b"1").is_err());
    assert!(matches!(
        s.set_option(SocketOption::Subscribe(Bytes::new())),
        Err(zvtran::Error::NotSupported(_))
    ));
    let bound = s.bind("tcp://127.0.0.1:*").unwrap();
    assert_eq!(s.last_endpoint(), bound);
    assert!(bound.starts_with("tcp://127.0.0.1:") && !bound.ends_with(":*"));
    assert!(matches!(s.bind("nope://x"), Err(zvtran::Error::Driver(_))));
}

#[test]
fn reconnection_backs_off_up_to_the_maximum() {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(20))))
        .unwrap();
    push.set_option(SocketOption::ReconnectIvlMax(Duration::from_millis(80)))
        .unwrap();
    push.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    let events = push.monitor();
    // Nothing listens on port 1: every attempt fails and is retried.
    push.connect("tcp://127.0.0.1:1").unwrap();
    let mut delays = Vec::new();
    while delays.len() < 5 {
        let e = events.recv_timeout(WAIT).expect("a retry");
        if let EventKind::ConnectRetried { ivl_ms } = e.kind {
            delays.push(ivl_ms);
        }
    }
    assert_eq!(delays, [20, 40, 80, 80, 80]);
}
