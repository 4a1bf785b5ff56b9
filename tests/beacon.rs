//! UDP beacons: publishing, hearing with a prefix filter, no echo of our own, ZRE beacons, and
//! `zvtran beacon publish|listen`.

mod support;

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use zvtran::beacon::{Beacon, MAX_BEACON, ZreBeacon};

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn beacons_are_heard_by_others_filtered_by_prefix_and_not_echoed() {
    let port = support::free_udp_port();
    let a = Beacon::new(port).unwrap();
    let b = Beacon::new(port).unwrap();
    let c = Beacon::new(port).unwrap();
    a.subscribe("");
    b.subscribe("svc-");
    c.subscribe("other-");
    a.publish("svc-a tcp://10.0.0.1:5555", Duration::from_millis(100))
        .unwrap();
    b.publish("svc-b tcp://10.0.0.2:5555", Duration::from_millis(100))
        .unwrap();
    let heard = b.recv_timeout(WAIT).expect("b hears a");
    assert_eq!(
        heard.payload,
        Bytes::from_static(b"svc-a tcp://10.0.0.1:5555")
    );
    assert!(!heard.from.is_unspecified());
    // a hears b, and only b: never its own beacon.
    for _ in 0..5 {
        let h = a.recv_timeout(WAIT).expect("a hears b");
        assert_eq!(h.payload, Bytes::from_static(b"svc-b tcp://10.0.0.2:5555"));
    }
    // c's prefix matches neither.
    assert!(c.recv_timeout(Duration::from_millis(400)).is_none());
    // Silenced and unsubscribed: nothing more.
    a.silence();
    std::thread::sleep(Duration::from_millis(200));
    while b.recv_timeout(Duration::from_millis(50)).is_some() {}
    assert!(b.recv_timeout(Duration::from_millis(400)).is_none());
    a.unsubscribe();
    while a.recv_timeout(Duration::from_millis(50)).is_some() {}
    assert!(a.recv_timeout(Duration::from_millis(400)).is_none());
    assert!(
        a.publish(vec![0u8; MAX_BEACON + 1], Duration::from_secs(1))
            .is_err()
    );
    assert!(a.publish("x", Duration::ZERO).is_err());
}

#[test]
fn zre_beacons_from_the_wire() {
    let port = support::free_udp_port();
    let listener = Beacon::new(port).unwrap();
    listener.subscribe("ZRE");
    let node = ZreBeacon {
        uuid: *b"0123456789abcdef",
        port: 40123,
    };
    let raw = UdpSocket::bind("0.0.0.0:0").unwrap();
    raw.set_broadcast(true).unwrap();
    raw.send_to(&node.encode(), ("255.255.255.255", port))
        .unwrap();
    let heard = listener.recv_timeout(WAIT).expect("a ZRE beacon");
    assert_eq!(ZreBeacon::decode(&heard.payload), Some(node));
    let leaving = ZreBeacon { port: 0, ..node };
    raw.send_to(&leaving.encode(), ("255.255.255.255", port))
        .unwrap();
    let heard = listener.recv_timeout(WAIT).expect("the leaving beacon");
    assert!(ZreBeacon::decode(&heard.payload).unwrap().is_leaving());
}

#[test]
fn cli_publish_and_listen() {
    let port = support::free_udp_port().to_string();
    let mut publisher = Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args([
            "beacon",
            "publish",
            "hello\\tworld",
            "--port",
            &port,
            "--interval",
            "100",
            "--duration",
            "3000",
        ])
        .spawn()
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args([
            "beacon",
            "listen",
            "--port",
            &port,
            "--prefix",
            "hello",
            "-n",
            "2",
            "--timeout",
            "3000",
        ])
        .output()
        .unwrap();
    let _ = publisher.kill();
    let _ = publisher.wait();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for line in lines {
        let (from, payload) = line.split_once('\t').unwrap();
        assert!(from.parse::<std::net::IpAddr>().is_ok(), "{line}");
        assert_eq!(payload, "hello\\tworld");
    }
    // Nothing on a quiet port: exit 3.
    let quiet = support::free_udp_port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["beacon", "listen", "--port", &quiet, "--timeout", "300"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
