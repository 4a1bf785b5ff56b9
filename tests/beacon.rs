//! UDP beacons: publishing, hearing with a prefix filter, no echo of our own, ZRE beacons, and
//! `zvtran beacon publish|listen`.

mod support;

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use zvtran::beacon::{Beacon, BeaconConfig, IPV6_ALL_NODES, MAX_BEACON, ZreBeacon};

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

/// The first up, non-loopback interface with an address of the wanted family.
fn interface(v6: bool) -> String {
    if_addrs::get_if_addrs()
        .unwrap()
        .into_iter()
        .find(|i| !i.is_loopback() && i.ip().is_ipv6() == v6)
        .map(|i| i.name)
        .expect("this test needs a non-loopback network interface")
}

/// Two beacons with `config` hear each other (multicast loops back on one host).
fn heard_both_ways(config: &BeaconConfig) -> Vec<std::net::IpAddr> {
    let port = support::free_udp_port();
    let a = Beacon::with_config(port, config).unwrap();
    let b = Beacon::with_config(port, config).unwrap();
    a.subscribe("cfg-");
    b.subscribe("cfg-");
    a.publish("cfg-a", Duration::from_millis(100)).unwrap();
    b.publish("cfg-b", Duration::from_millis(100)).unwrap();
    let ha = a.recv_timeout(WAIT).expect("a hears b");
    let hb = b.recv_timeout(WAIT).expect("b hears a");
    assert_eq!(ha.payload, Bytes::from_static(b"cfg-b"));
    assert_eq!(hb.payload, Bytes::from_static(b"cfg-a"));
    vec![ha.from, hb.from]
}

#[test]
fn beacons_over_ipv4_multicast_on_a_named_interface() {
    let iface = interface(false);
    let config = BeaconConfig::multicast("239.192.77.1".parse().unwrap()).interface(iface);
    for from in heard_both_ways(&config) {
        assert!(from.is_ipv4(), "{from}");
    }
}

#[test]
fn beacons_over_ipv6_link_local_multicast() {
    let config = BeaconConfig::ipv6(IPV6_ALL_NODES).interface(interface(true));
    for from in heard_both_ways(&config) {
        assert!(from.is_ipv6(), "{from}");
    }
}

#[test]
fn broadcast_on_one_interface_named_by_its_address() {
    let iface = if_addrs::get_if_addrs()
        .unwrap()
        .into_iter()
        .find(|i| !i.is_loopback() && i.ip().is_ipv4())
        .expect("a non-loopback IPv4 interface");
    let config = BeaconConfig::broadcast().interface(iface.ip().to_string());
    for from in heard_both_ways(&config) {
        assert_eq!(from, iface.ip());
    }
}

#[test]
fn bad_beacon_configs_are_refused_clearly() {
    let port = support::free_udp_port();
    let err =
        Beacon::with_config(port, &BeaconConfig::broadcast().interface("no-such-if0")).unwrap_err();
    assert!(err.to_string().contains("no-such-if0"), "{err}");
    let err = Beacon::with_config(port, &BeaconConfig::multicast("10.1.2.3".parse().unwrap()))
        .unwrap_err();
    assert!(err.to_string().contains("not a multicast"), "{err}");
    let err =
        Beacon::with_config(port, &BeaconConfig::ipv6("fe80::1".parse().unwrap())).unwrap_err();
    assert!(err.to_string().contains("not a multicast"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["beacon", "listen", "--interface", "no-such-if0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
