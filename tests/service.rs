//! Service names over beacons: `beacon://NAME` connects to what an Announcer announces, and
//! lets go when it leaves or falls silent.

mod support;

use std::time::Duration;

use support::eventually;
use zvtran::{Announcer, Context, Message, SocketOption, SocketType};

#[test]
fn a_socket_connects_by_service_name_and_lets_go_when_the_service_leaves() {
    let port = support::free_udp_port();
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap();
    let announcer = Announcer::new("jobs", &endpoint, port).unwrap();

    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::SndTimeo(Some(Duration::from_secs(10))))
        .unwrap();
    push.connect(&format!("beacon://jobs:{port}")).unwrap();
    // Blocks until the announced endpoint is connected.
    push.send(Message::from("found by name")).unwrap();
    assert_eq!(
        pull.recv_timeout(Duration::from_secs(10)).unwrap(),
        Message::from("found by name")
    );
    assert_eq!(push.peer_count(), 1);

    // Another name is not followed.
    let mut other = ctx.socket(SocketType::Push).unwrap();
    other.connect(&format!("beacon://logs:{port}")).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(other.peer_count(), 0);

    drop(announcer);
    eventually("the peer to go after the service left", || {
        push.peer_count() == 0
    });
    let mut pull2 = ctx.socket(SocketType::Pull).unwrap();
    let endpoint2 = pull2.bind("tcp://127.0.0.1:*").unwrap();
    let _again = Announcer::new("jobs", &endpoint2, port).unwrap();
    push.send(Message::from("found again")).unwrap();
    assert_eq!(
        pull2.recv_timeout(Duration::from_secs(10)).unwrap(),
        Message::from("found again")
    );
}

#[test]
fn beacon_endpoints_are_for_connecting() {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let err = pull.bind("beacon://jobs").unwrap_err();
    assert!(err.to_string().contains("for connecting"), "{err}");
    assert!(pull.connect("beacon://jobs:notaport").is_err());
}

#[test]
fn an_endpoint_whose_beacons_stop_is_let_go_after_the_ttl() {
    let port = support::free_udp_port();
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap();
    // A bare beacon in the service format, which vanishes without saying it leaves.
    let raw = zvtran::Beacon::new(port).unwrap();
    // Magic, name length, name, here, an 8-octet instance id, the endpoint.
    let mut payload = b"ZVS\x01\x04jobs\x01instance".to_vec();
    payload.extend_from_slice(endpoint.as_bytes());
    raw.publish(payload, Duration::from_millis(200)).unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&format!("beacon://jobs:{port}")).unwrap();
    eventually("the announced endpoint", || push.peer_count() == 1);
    let silent_since = std::time::Instant::now();
    drop(raw);
    eventually("the silent endpoint to be let go", || {
        push.peer_count() == 0
    });
    assert!(
        silent_since.elapsed() >= Duration::from_secs(2),
        "let go after {:?}, before the 3 s TTL",
        silent_since.elapsed()
    );
}

#[test]
fn a_wildcard_endpoint_is_reached_at_the_address_its_beacon_came_from() {
    let port = support::free_udp_port();
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let endpoint = pull.bind("tcp://*:*").unwrap();
    assert!(endpoint.starts_with("tcp://0.0.0.0:"), "{endpoint}");
    let _announcer = Announcer::new("wild", &endpoint, port).unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::SndTimeo(Some(Duration::from_secs(10))))
        .unwrap();
    push.connect(&format!("beacon://wild:{port}")).unwrap();
    push.send(Message::from("via the sender's address"))
        .unwrap();
    assert_eq!(
        pull.recv_timeout(Duration::from_secs(10)).unwrap(),
        Message::from("via the sender's address")
    );
    // Heard on one path or several, the announcer is connected once.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(push.peer_count(), 1);
}
