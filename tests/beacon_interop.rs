//! Beacons against czmq's zbeacon (Debian's libczmq-dev): each side hears the other, over IPv4
//! broadcast and over IPv6 multicast (ff02::1), both ways. The czmq side is
//! `tests/czmq-peer`, built by `./scripts/test`.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use zvtran::beacon::{Beacon, BeaconConfig, IPV6_ALL_NODES};

const WAIT: Duration = Duration::from_secs(5);

/// The czmq helper; fails with how to build it when it is missing (never skips).
fn zbeacon_peer() -> PathBuf {
    let path = support::root().join("target/czmq-peer/zbeacon_peer");
    assert!(
        path.exists(),
        "{} is missing: run `scripts/system-deps && tests/czmq-peer/build` (./scripts/test does; \
         it needs Debian's libczmq-dev and gcc)",
        path.display()
    );
    path
}

/// A running czmq peer.
struct Peer(support::Lines);

impl Peer {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Peer {
        let peer = support::Lines::spawn(
            Command::new(zbeacon_peer())
                .args(args)
                .envs(env.iter().copied()),
            "the czmq zbeacon peer",
        );
        let ready = peer.line();
        assert!(ready.starts_with("ready "), "czmq peer said {ready:?}");
        Peer(peer)
    }

    /// The next beacon czmq printed: (sender, payload).
    fn heard(&self) -> Option<(String, Vec<u8>)> {
        let line = self.0.line_within(WAIT)?;
        let (from, hex) = line.split_once('\t').expect("IP<TAB>HEX");
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        Some((from.to_string(), bytes))
    }
}

/// Whether `ip` (as czmq prints it, maybe with `%iface`) is one of this host's addresses.
fn is_local(ip: &str) -> bool {
    let ip = ip.split('%').next().unwrap_or(ip);
    if_addrs::get_if_addrs()
        .unwrap()
        .iter()
        .any(|i| i.ip().to_string() == ip)
}

#[test]
fn a_czmq_beacon_is_heard_by_zvtran() {
    let port = support::free_udp_port();
    let listener = Beacon::new(port).unwrap();
    listener.subscribe("czmq-");
    let _czmq = Peer::spawn(&["publish", &port.to_string(), "czmq-hello", "5000"], &[]);
    let heard = listener.recv_timeout(WAIT).expect("zvtran hears czmq");
    assert_eq!(heard.payload, Bytes::from_static(b"czmq-hello"));
    assert!(is_local(&heard.from.to_string()), "from {}", heard.from);
}

#[test]
fn a_zvtran_beacon_is_heard_by_czmq_which_filters_by_prefix() {
    let port = support::free_udp_port();
    let czmq = Peer::spawn(&["listen", &port.to_string(), "zv-", "4000"], &[]);
    let other = Beacon::new(port).unwrap();
    other
        .publish("not-for-czmq", Duration::from_millis(50))
        .unwrap();
    let ours = Beacon::new(port).unwrap();
    ours.publish("zv-hello tcp://*:5555", Duration::from_millis(100))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut count = 0;
    while Instant::now() < deadline {
        let (from, payload) = czmq.heard().expect("czmq hears zvtran");
        assert_eq!(payload, b"zv-hello tcp://*:5555", "czmq's filter passed it");
        assert!(is_local(&from), "from {from}");
        count += 1;
    }
    // One beacon every 100 ms for 2 s (each interface's broadcast may arrive once).
    assert!(count >= 10, "czmq heard {count} beacons in 2 s");
}

/// A non-loopback interface with an IPv6 address (czmq's IPv6 beacons go to ff02::1 on the
/// interface ZSYS_INTERFACE names).
fn ipv6_interface() -> String {
    if_addrs::get_if_addrs()
        .unwrap()
        .into_iter()
        .find(|i| !i.is_loopback() && i.ip().is_ipv6())
        .map(|i| i.name)
        .expect("this test needs a non-loopback interface with an IPv6 address")
}

#[test]
fn a_czmq_ipv6_beacon_is_heard_by_zvtran() {
    let iface = ipv6_interface();
    let port = support::free_udp_port();
    let listener = Beacon::with_config(
        port,
        &BeaconConfig::ipv6(IPV6_ALL_NODES).interface(iface.clone()),
    )
    .unwrap();
    listener.subscribe("czmq6-");
    let _czmq = Peer::spawn(
        &["publish", &port.to_string(), "czmq6-hello", "5000"],
        &[("ZSYS_IPV6", "1"), ("ZSYS_INTERFACE", iface.as_str())],
    );
    let heard = listener
        .recv_timeout(WAIT)
        .expect("zvtran hears czmq over IPv6");
    assert_eq!(heard.payload, Bytes::from_static(b"czmq6-hello"));
    assert!(heard.from.is_ipv6(), "{}", heard.from);
}

#[test]
fn a_zvtran_ipv6_beacon_is_heard_by_czmq() {
    let iface = ipv6_interface();
    let port = support::free_udp_port();
    let czmq = Peer::spawn(
        &["listen", &port.to_string(), "v6-", "4000"],
        &[("ZSYS_IPV6", "1"), ("ZSYS_INTERFACE", iface.as_str())],
    );
    let ours = Beacon::with_config(
        port,
        &BeaconConfig::ipv6(IPV6_ALL_NODES).interface(iface.clone()),
    )
    .unwrap();
    ours.publish("v6-hello", Duration::from_millis(100))
        .unwrap();
    let (from, payload) = czmq.heard().expect("czmq hears zvtran over IPv6");
    assert_eq!(payload, b"v6-hello");
    // The link-local address of the interface (if-addrs does not list those).
    assert!(
        from.starts_with("fe80:") || is_local(&from),
        "an IPv6 address of this host, got {from}"
    );
}
