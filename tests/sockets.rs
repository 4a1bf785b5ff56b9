//! Sockets of zvtran talking to each other over inproc, tcp and ipc.

use std::time::Duration;

use zvtran::{Context, Message, SocketOption, SocketType};

const WAIT: Duration = Duration::from_secs(5);

fn endpoints(name: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("zvtran-test-{}-{name}", std::process::id()));
    vec![
        format!("inproc://{name}"),
        "tcp://127.0.0.1:*".to_string(),
        format!("ipc://{}", dir.display()),
    ]
}

#[test]
fn push_pull_every_transport() {
    let ctx = Context::new().unwrap();
    for ep in endpoints("push-pull") {
        let mut pull = ctx.socket(SocketType::Pull).unwrap();
        let bound = pull.bind(&ep).unwrap();
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&bound).unwrap();
        for i in 0..1000 {
            push.send(Message::from(format!("m{i}"))).unwrap();
        }
        for i in 0..1000 {
            let m = pull
                .recv_timeout(WAIT)
                .unwrap_or_else(|e| panic!("{ep}: message {i}: {e}"));
            assert_eq!(m, Message::from(format!("m{i}")), "{ep}");
        }
    }
}

#[test]
fn req_rep_every_transport() {
    let ctx = Context::new().unwrap();
    for ep in endpoints("req-rep") {
        let mut rep = ctx.socket(SocketType::Rep).unwrap();
        let bound = rep.bind(&ep).unwrap();
        let mut req = ctx.socket(SocketType::Req).unwrap();
        req.connect(&bound).unwrap();
        for i in 0..50 {
            req.send(Message::from_frames(
                ["ask".to_string(), i.to_string()].map(bytes::Bytes::from),
            ))
            .unwrap();
            let q = rep.recv_timeout(WAIT).unwrap();
            assert_eq!(q.len(), 2, "{ep}");
            rep.send(Message::from(format!("answer {i}"))).unwrap();
            assert_eq!(
                req.recv_timeout(WAIT).unwrap(),
                Message::from(format!("answer {i}")),
                "{ep}"
            );
        }
    }
}

#[test]
fn pub_sub_filters_every_transport() {
    let ctx = Context::new().unwrap();
    for ep in endpoints("pub-sub") {
        let mut publisher = ctx.socket(SocketType::Pub).unwrap();
        let bound = publisher.bind(&ep).unwrap();
        let mut sub = ctx.socket(SocketType::Sub).unwrap();
        sub.connect(&bound).unwrap();
        sub.subscribe("a").unwrap();
        // Publish until the subscription has arrived.
        let mut got = None;
        for _ in 0..200 {
            publisher.send(Message::from("b-skip")).unwrap();
            publisher.send(Message::from("a-hit")).unwrap();
            if let Ok(m) = sub.recv_timeout(Duration::from_millis(20)) {
                got = Some(m);
                break;
            }
        }
        assert_eq!(got, Some(Message::from("a-hit")), "{ep}");
    }
}

#[test]
fn dealer_router_addressing_every_transport() {
    let ctx = Context::new().unwrap();
    for ep in endpoints("dealer-router") {
        let mut router = ctx.socket(SocketType::Router).unwrap();
        let bound = router.bind(&ep).unwrap();
        let mut dealer = ctx.socket(SocketType::Dealer).unwrap();
        dealer
            .set_option(SocketOption::RoutingId(bytes::Bytes::from_static(b"d1")))
            .unwrap();
        dealer.connect(&bound).unwrap();
        dealer.send(Message::from("hello")).unwrap();
        let m = router.recv_timeout(WAIT).unwrap();
        assert_eq!(m, Message::from_frames(["d1", "hello"]), "{ep}");
        router.send(Message::from_frames(["d1", "back"])).unwrap();
        assert_eq!(
            dealer.recv_timeout(WAIT).unwrap(),
            Message::from("back"),
            "{ep}"
        );
    }
}
