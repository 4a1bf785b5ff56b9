//! Composed sockets that present a classic wire type, talking to libzmq (pyzmq) peers.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use support::{PySocket, eventually};
use zvtran::{Context, Filter, Inbound, Message, Outbound, Pattern, SocketType};

fn text(frames: &[Bytes]) -> String {
    String::from_utf8_lossy(&frames[0]).into_owned()
}

#[test]
fn competing_consumers_with_libzmq_subscribers() {
    let ctx = Context::new().unwrap();
    let mut dispatcher = ctx.socket_with(
        Pattern::builder()
            .wire_type(SocketType::Pub)
            .outbound(Outbound::LoadBalance)
            .filter(Filter::PeerSubscriptions)
            .build()
            .unwrap(),
    );
    let ep = dispatcher.bind("tcp://127.0.0.1:*").unwrap();
    let mut subs: Vec<PySocket> = Vec::new();
    for topic in ["job", "job", "log"] {
        let mut s = PySocket::new("SUB");
        s.opt_bytes("SUBSCRIBE", topic.as_bytes());
        s.connect(&ep);
        subs.push(s);
    }
    eventually("three subscriptions", || {
        for s in &mut subs {
            // libzmq attaches its pipe when its socket is used.
            let _ = s.recv(1);
        }
        dispatcher.subscribes_received() >= 3
    });
    for i in 0..10 {
        dispatcher.send(Message::from(format!("job {i}"))).unwrap();
    }
    dispatcher.send(Message::from("log 1")).unwrap();
    let mut seen = HashSet::new();
    for (n, s) in subs.iter_mut().take(2).enumerate() {
        let mut got = Vec::new();
        while let Some(m) = s.recv(300) {
            got.push(text(&m));
        }
        assert_eq!(got.len(), 5, "worker {n} gets half the jobs: {got:?}");
        for j in got {
            assert!(seen.insert(j), "a job went to two workers");
        }
    }
    assert_eq!(seen.len(), 10);
    assert_eq!(text(&subs[2].recv(2000).unwrap()), "log 1");
    assert_eq!(subs[2].recv(200), None);
}

#[test]
fn exclusive_dealer_refuses_a_second_libzmq_peer() {
    let ctx = Context::new().unwrap();
    let mut device = ctx.socket_with(
        Pattern::builder()
            .wire_type(SocketType::Dealer)
            .outbound(Outbound::LoadBalance)
            .inbound(Inbound::FairQueue)
            .max_peers(1)
            .build()
            .unwrap(),
    );
    let ep = device.bind("tcp://127.0.0.1:*").unwrap();
    let mut first = PySocket::new("DEALER");
    first.connect(&ep);
    first.send(&[Bytes::from_static(b"first")]);
    assert_eq!(
        device.recv_timeout(Duration::from_secs(5)).unwrap(),
        Message::from("first")
    );
    let mut second = PySocket::new("DEALER");
    second.connect(&ep);
    second.send(&[Bytes::from_static(b"second")]);
    assert!(
        device.recv_timeout(Duration::from_millis(500)).is_err(),
        "the second is refused"
    );
    for i in 0..3 {
        device
            .send(Message::from(format!("to the owner {i}")))
            .unwrap();
    }
    for i in 0..3 {
        assert_eq!(
            text(&first.recv(2000).unwrap()),
            format!("to the owner {i}")
        );
    }
    assert_eq!(second.recv(200), None);
}

#[test]
fn capped_pub_serves_two_libzmq_subscribers_only() {
    let ctx = Context::new().unwrap();
    let mut publisher = ctx.socket_with(
        Pattern::builder()
            .wire_type(SocketType::Pub)
            .outbound(Outbound::FanOut)
            .filter(Filter::PeerSubscriptions)
            .max_peers(2)
            .build()
            .unwrap(),
    );
    let ep = publisher.bind("tcp://127.0.0.1:*").unwrap();
    let mut subs: Vec<PySocket> = (0..3)
        .map(|_| {
            let mut s = PySocket::new("SUB");
            s.opt_bytes("SUBSCRIBE", b"");
            s.connect(&ep);
            s
        })
        .collect();
    eventually("two subscriptions", || {
        for s in &mut subs {
            let _ = s.recv(1);
        }
        publisher.subscribes_received() >= 2
    });
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..5 {
        publisher.send(Message::from(format!("u{i}"))).unwrap();
    }
    let counts: Vec<usize> = subs
        .iter_mut()
        .map(|s| std::iter::from_fn(|| s.recv(300)).count())
        .collect();
    assert_eq!(counts.iter().filter(|c| **c == 5).count(), 2, "{counts:?}");
    assert_eq!(counts.iter().filter(|c| **c == 0).count(), 1, "{counts:?}");
}

#[test]
fn latest_value_sub_behind_a_fast_libzmq_pub() {
    let ctx = Context::new().unwrap();
    let mut publisher = PySocket::new("PUB");
    let ep = publisher.bind("tcp://127.0.0.1:*");
    let mut prices = ctx.socket_with(
        Pattern::builder()
            .wire_type(SocketType::Sub)
            .inbound(Inbound::LatestPerTopic)
            .filter(Filter::Subscribe)
            .build()
            .unwrap(),
    );
    prices.subscribe("").unwrap();
    prices.connect(&ep).unwrap();
    eventually("the subscription", || {
        publisher.send(&[Bytes::from_static(b"probe"), Bytes::from_static(b"x")]);
        prices.recv_timeout(Duration::from_millis(20)).is_ok()
    });
    publisher.begin("sendseq 300 455552");
    assert_eq!(publisher.end(), "OK");
    publisher.begin("sendseq 300 474250");
    assert_eq!(publisher.end(), "OK");
    std::thread::sleep(Duration::from_millis(300));
    let mut got = Vec::new();
    while let Ok(m) = prices.recv_timeout(Duration::from_millis(200)) {
        got.push(
            m.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    got.retain(|m| !m.starts_with("probe"));
    assert_eq!(got, ["EUR 299", "GBP 299"], "one current value per topic");
}
