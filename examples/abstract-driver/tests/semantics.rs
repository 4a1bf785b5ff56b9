//! The third-party `abstract://` driver with full socket semantics: reconnection after the peer
//! restarts, ROUTER addressing, PUB/SUB filtering, errors, and libzmq (pyzmq's `ipc://@NAME`)
//! on the other end.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zvtran::{Context, Message, SocketOption, SocketType};

const WAIT: Duration = Duration::from_secs(10);

/// A fresh context with the driver registered, and a name no other test uses.
fn setup(test: &str) -> (Context, String) {
    let ctx = Context::new().unwrap();
    zvtran_abstract::register(&ctx);
    (
        ctx,
        format!("abstract://zvtran-{test}-{}", std::process::id()),
    )
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn reconnects_after_its_peer_restarts() {
    let (ctx, endpoint) = setup("restart");
    // Connect first: nobody listens yet, and the core retries with backoff.
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::SndTimeo(Some(WAIT))).unwrap();
    push.connect(&endpoint).unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind(&endpoint).unwrap();
    push.send(Message::from("first")).unwrap();
    assert_eq!(pull.recv_timeout(WAIT).unwrap(), Message::from("first"));

    // The peer goes away and comes back under the same name (once the old listener has let
    // go of it). Messages sent meanwhile wait in the PUSH's queue for the reconnection.
    drop(pull);
    let mut again = ctx.socket(SocketType::Pull).unwrap();
    eventually("the name to be free again", || {
        again.bind(&endpoint).is_ok()
    });
    for i in 0..100 {
        push.send(Message::from(format!("after restart {i}")))
            .unwrap();
    }
    for i in 0..100 {
        assert_eq!(
            again.recv_timeout(WAIT).unwrap(),
            Message::from(format!("after restart {i}"))
        );
    }
}

#[test]
fn router_addresses_each_dealer_by_its_id() {
    let (ctx, endpoint) = setup("router");
    let mut router = ctx.socket(SocketType::Router).unwrap();
    router.bind(&endpoint).unwrap();
    let mut dealers: Vec<_> = ["alpha", "beta"]
        .into_iter()
        .map(|id| {
            let mut d = ctx.socket(SocketType::Dealer).unwrap();
            d.set_option(SocketOption::RoutingId(id.into())).unwrap();
            d.connect(&endpoint).unwrap();
            d.send(Message::from(format!("hello from {id}"))).unwrap();
            d
        })
        .collect();
    for _ in 0..2 {
        let m = router.recv_timeout(WAIT).unwrap();
        let id = String::from_utf8(m.frames()[0].to_vec()).unwrap();
        assert_eq!(m.frames()[1], format!("hello from {id}"));
    }
    router
        .set_option(SocketOption::RouterMandatory(true))
        .unwrap();
    for id in ["beta", "alpha"] {
        router
            .send(Message::from_frames([
                id.to_string(),
                format!("just for {id}"),
            ]))
            .unwrap();
    }
    for (d, id) in dealers.iter_mut().zip(["alpha", "beta"]) {
        assert_eq!(
            d.recv_timeout(WAIT).unwrap(),
            Message::from(format!("just for {id}"))
        );
        assert!(d.recv_timeout(Duration::from_millis(100)).is_err());
    }
    assert!(router.send(Message::from_frames(["nobody", "x"])).is_err());
}

#[test]
fn pub_sub_filters_by_prefix() {
    let (ctx, endpoint) = setup("pubsub");
    let mut publisher = ctx.socket(SocketType::Pub).unwrap();
    publisher.bind(&endpoint).unwrap();
    let mut sub = ctx.socket(SocketType::Sub).unwrap();
    sub.subscribe("weather.").unwrap();
    sub.connect(&endpoint).unwrap();
    eventually("the subscription to arrive", || {
        publisher.subscribes_received() == 1
    });
    for topic in ["weather.paris", "sports.lyon", "weather.oslo"] {
        publisher.send(Message::from(topic)).unwrap();
    }
    assert_eq!(
        sub.recv_timeout(WAIT).unwrap(),
        Message::from("weather.paris")
    );
    assert_eq!(
        sub.recv_timeout(WAIT).unwrap(),
        Message::from("weather.oslo")
    );
    assert!(sub.recv_timeout(Duration::from_millis(200)).is_err());
}

#[test]
fn bad_names_and_taken_names_are_clear_errors() {
    let (ctx, endpoint) = setup("errors");
    let mut a = ctx.socket(SocketType::Pull).unwrap();
    assert!(a.bind("abstract://").is_err());
    let long = format!("abstract://{}", "n".repeat(200));
    let err = a.bind(&long).unwrap_err();
    assert!(err.to_string().contains("at most 107"), "{err}");
    a.bind(&endpoint).unwrap();
    let mut b = ctx.socket(SocketType::Pull).unwrap();
    let err = b.bind(&endpoint).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    // Without registering, the scheme is unknown: nothing in zvtran knows it.
    let plain = Context::new().unwrap();
    let mut c = plain.socket(SocketType::Push).unwrap();
    let err = c.connect(&endpoint).unwrap_err();
    assert!(err.to_string().contains("abstract"), "{err}");
}

/// pyzmq (libzmq 4.3.5) from the workspace's test venv, or ZVTRAN_PYTHON.
fn python() -> PathBuf {
    let python = std::env::var_os("ZVTRAN_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
        PathBuf::from,
    );
    let ok = Command::new(&python)
        .args(["-c", "import zmq"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test needs pyzmq at {} (run scripts/python-env, or set ZVTRAN_PYTHON)",
        python.display()
    );
    python
}

#[test]
fn libzmq_reaches_the_same_sockets_as_ipc_at() {
    let (ctx, endpoint) = setup("libzmq");
    let name = endpoint.strip_prefix("abstract://").unwrap();
    // libzmq binds a PULL at ipc://@NAME, counts 1000 ordered messages, then answers on a PUSH
    // bound at ipc://@NAME-back with what it got.
    let script = format!(
        r#"
import zmq
ctx = zmq.Context()
pull = ctx.socket(zmq.PULL); pull.bind("ipc://@{name}")
push = ctx.socket(zmq.PUSH); push.bind("ipc://@{name}-back")
print("READY", flush=True)
pull.RCVTIMEO = 10000
got = [pull.recv() for _ in range(1000)]
ok = got == [b"m%d" % i for i in range(1000)]
push.send(b"ok" if ok else b"wrong order")
push.close(linger=5000); pull.close(); ctx.term()
"#
    );
    let mut peer = Command::new(python())
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(peer.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "READY");
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap();
    let mut back = ctx.socket(SocketType::Pull).unwrap();
    back.connect(&format!("{endpoint}-back")).unwrap();
    for i in 0..1000 {
        push.send(Message::from(format!("m{i}"))).unwrap();
    }
    assert_eq!(back.recv_timeout(WAIT).unwrap(), Message::from("ok"));
    assert!(peer.wait().unwrap().success());
}
