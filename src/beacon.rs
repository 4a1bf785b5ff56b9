//! UDP beacons for zero-configuration discovery, in the manner of czmq's zbeacon, and ZRE's beacon format.
//!
//! A [`Beacon`] sends a payload of at most 255 octets on a UDP port every interval and hears the
//! payloads others send on that port, with each sender's address. Beacons equal to the one it
//! publishes itself are not delivered back (czmq's "no echo"). By default beacons are IPv4
//! broadcasts on every interface that has a broadcast address; [`BeaconConfig`] narrows them to
//! one interface, or uses IPv4 or IPv6 multicast instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use socket2::{Domain, Protocol, Socket, Type};

/// The largest beacon payload (czmq's limit).
pub const MAX_BEACON: usize = 255;

/// The default interval between two beacons.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1000);

/// A beacon heard from another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The sender's address.
    pub from: IpAddr,
    /// What it broadcast.
    pub payload: Bytes,
}

/// Why a beacon could not be published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BeaconError {
    /// Payloads are at most [`MAX_BEACON`] octets.
    #[error("a beacon is at most {MAX_BEACON} octets, this one is {0}")]
    TooLong(usize),
    /// The interval must be above zero.
    #[error("the beacon interval must be above zero")]
    ZeroInterval,
}

/// How beacons travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BeaconMode {
    /// IPv4 broadcast (czmq's default): to the broadcast address of the chosen interface, or of
    /// every interface that has one.
    #[default]
    Broadcast,
    /// IPv4 multicast to this group.
    Multicast(Ipv4Addr),
    /// IPv6 multicast to this group; [`IPV6_ALL_NODES`] (link-local) is what czmq uses.
    Ipv6(Ipv6Addr),
}

/// The link-local all-nodes group, czmq's IPv6 beacon address.
pub const IPV6_ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Where a [`Beacon`] sends and listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeaconConfig {
    /// Broadcast or multicast.
    pub mode: BeaconMode,
    /// The interface, by name (`eth0`) or IPv4 address; `None` (or `*`): every broadcast
    /// interface, or the system's choice for multicast. czmq's ZSYS_INTERFACE.
    pub interface: Option<String>,
    /// Multicast hops (TTL); 1 keeps beacons on the local link.
    pub hops: u32,
}

impl Default for BeaconConfig {
    fn default() -> BeaconConfig {
        BeaconConfig {
            mode: BeaconMode::Broadcast,
            interface: None,
            hops: 1,
        }
    }
}

impl BeaconConfig {
    /// IPv4 broadcast on every interface (the default).
    pub fn broadcast() -> BeaconConfig {
        BeaconConfig::default()
    }

    /// IPv4 multicast to `group`.
    pub fn multicast(group: Ipv4Addr) -> BeaconConfig {
        BeaconConfig {
            mode: BeaconMode::Multicast(group),
            ..BeaconConfig::default()
        }
    }

    /// IPv6 multicast to `group` (e.g. [`IPV6_ALL_NODES`]).
    pub fn ipv6(group: Ipv6Addr) -> BeaconConfig {
        BeaconConfig {
            mode: BeaconMode::Ipv6(group),
            ..BeaconConfig::default()
        }
    }

    /// Only this interface: a name such as `eth0`, or one of its IPv4 addresses.
    pub fn interface(mut self, interface: impl Into<String>) -> BeaconConfig {
        self.interface = Some(interface.into()).filter(|i| i != "*");
        self
    }
}

/// An interface that [`BeaconConfig::interface`] named.
#[derive(Debug, Clone)]
struct Chosen {
    name: String,
    index: u32,
    v4: Option<Ipv4Addr>,
}

/// Finds the named interface (by name or by one of its addresses).
fn choose(wanted: &str) -> std::io::Result<Chosen> {
    let addrs = if_addrs::get_if_addrs()?;
    let by_ip: Option<IpAddr> = wanted.parse().ok();
    let name = addrs
        .iter()
        .find(|i| i.name == wanted || Some(i.ip()) == by_ip)
        .map(|i| i.name.clone())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no network interface named or addressed {wanted:?}"),
            )
        })?;
    let mine = || addrs.iter().filter(|i| i.name == name);
    Ok(Chosen {
        index: mine().find_map(|i| i.index).unwrap_or(0),
        v4: mine().find_map(|i| match &i.addr {
            if_addrs::IfAddr::V4(a) => Some(a.ip),
            if_addrs::IfAddr::V6(_) => None,
        }),
        name,
    })
}

/// The broadcast address of each IPv4 interface (only `only`, if given) that has one.
fn broadcast_targets(only: Option<&str>) -> Vec<Ipv4Addr> {
    let Ok(addrs) = if_addrs::get_if_addrs() else {
        return vec![Ipv4Addr::BROADCAST];
    };
    let mut out = Vec::new();
    for i in addrs {
        let if_addrs::IfAddr::V4(a) = &i.addr else {
            continue;
        };
        if only.is_some_and(|n| n != i.name) || (only.is_none() && i.is_loopback()) {
            continue;
        }
        if i.is_p2p || a.prefixlen >= 31 {
            continue;
        }
        // Some set-ups leave the broadcast field empty or equal to the address: derive it.
        let derived = Ipv4Addr::from(u32::from(a.ip) | !u32::from(a.netmask));
        let b = a.broadcast.filter(|b| *b != a.ip).unwrap_or(derived);
        if !out.contains(&b) {
            out.push(b);
        }
    }
    if out.is_empty() {
        out.push(Ipv4Addr::BROADCAST);
    }
    out
}

/// Opens the socket for `config` on `port`, and says where beacons go.
fn open(port: u16, config: &BeaconConfig) -> std::io::Result<(UdpSocket, Targets)> {
    let chosen = config.interface.as_deref().map(choose).transpose()?;
    let domain = match config.mode {
        BeaconMode::Ipv6(_) => Domain::IPV6,
        _ => Domain::IPV4,
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    let targets = match config.mode {
        BeaconMode::Broadcast => {
            socket.set_broadcast(true)?;
            socket.bind(&SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port).into())?;
            Targets::Broadcast(chosen.map(|c| c.name))
        }
        BeaconMode::Multicast(group) => {
            if !group.is_multicast() {
                return Err(not_multicast(group.into()));
            }
            socket.bind(&SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port).into())?;
            let iface = match &chosen {
                Some(c) => c.v4.ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("interface {} has no IPv4 address", c.name),
                    )
                })?,
                None => Ipv4Addr::UNSPECIFIED,
            };
            socket.join_multicast_v4(&group, &iface)?;
            if chosen.is_some() {
                socket.set_multicast_if_v4(&iface)?;
            }
            socket.set_multicast_ttl_v4(config.hops)?;
            socket.set_multicast_loop_v4(true)?;
            Targets::Fixed(SocketAddr::new(group.into(), port))
        }
        BeaconMode::Ipv6(group) => {
            if !group.is_multicast() {
                return Err(not_multicast(group.into()));
            }
            socket.set_only_v6(true)?;
            socket.bind(&SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port).into())?;
            let index = chosen.as_ref().map_or(0, |c| c.index);
            socket.join_multicast_v6(&group, index)?;
            if index != 0 {
                socket.set_multicast_if_v6(index)?;
            }
            socket.set_multicast_hops_v6(config.hops)?;
            socket.set_multicast_loop_v6(true)?;
            Targets::Fixed(SocketAddrV6::new(group, port, 0, index).into())
        }
    };
    socket.set_read_timeout(Some(TICK))?;
    Ok((socket.into(), targets))
}

fn not_multicast(ip: IpAddr) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{ip} is not a multicast address"),
    )
}

/// Where each beacon is sent.
enum Targets {
    /// The broadcast addresses of this interface, or of all, looked up at each send (interfaces
    /// come and go).
    Broadcast(Option<String>),
    Fixed(SocketAddr),
}

impl Targets {
    fn resolve(&self, port: u16) -> Vec<SocketAddr> {
        match self {
            Targets::Broadcast(only) => broadcast_targets(only.as_deref())
                .into_iter()
                .map(|b| SocketAddr::new(b.into(), port))
                .collect(),
            Targets::Fixed(a) => vec![*a],
        }
    }
}

#[derive(Default)]
struct State {
    /// What we publish, and how often.
    transmit: Option<(Bytes, Duration)>,
    next_send: Option<Instant>,
    /// The prefix beacons must start with to be delivered; `None`: not listening.
    filter: Option<Bytes>,
}

/// Sends and hears beacons on one UDP port, as its [`BeaconConfig`] says. A thread
/// does both; dropping the beacon stops it.
pub struct Beacon {
    port: u16,
    state: Arc<Mutex<State>>,
    heard: Receiver<Heard>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Beacon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Beacon").field("port", &self.port).finish()
    }
}

/// How long the thread waits for a datagram before it looks at its schedule again.
const TICK: Duration = Duration::from_millis(20);

impl Beacon {
    /// A beacon on `port` with the default [`BeaconConfig`] (IPv4 broadcast on every
    /// interface): several may share a port on one host.
    pub fn new(port: u16) -> std::io::Result<Beacon> {
        Beacon::with_config(port, &BeaconConfig::default())
    }

    /// A beacon on `port` that sends and listens as `config` says. Fails if the interface is
    /// unknown or the group is not a multicast address.
    pub fn with_config(port: u16, config: &BeaconConfig) -> std::io::Result<Beacon> {
        let (socket, targets) = open(port, config)?;
        let state = Arc::new(Mutex::new(State::default()));
        let (tx, heard) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::Builder::new()
                .name("zvtran-beacon".into())
                .spawn(move || run(&socket, port, &targets, &state, &tx, &stop))?
        };
        Ok(Beacon {
            port,
            state,
            heard,
            stop,
            thread: Some(thread),
        })
    }

    /// The UDP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Broadcasts `payload` now and then every `interval`, replacing what was published.
    pub fn publish(
        &self,
        payload: impl Into<Bytes>,
        interval: Duration,
    ) -> Result<(), BeaconError> {
        let payload = payload.into();
        if payload.len() > MAX_BEACON {
            return Err(BeaconError::TooLong(payload.len()));
        }
        if interval.is_zero() {
            return Err(BeaconError::ZeroInterval);
        }
        let mut state = self.state.lock();
        state.transmit = Some((payload, interval));
        state.next_send = Some(Instant::now());
        Ok(())
    }

    /// Stops broadcasting.
    pub fn silence(&self) {
        let mut state = self.state.lock();
        state.transmit = None;
        state.next_send = None;
    }

    /// Delivers beacons that start with `prefix` (empty: all of them).
    pub fn subscribe(&self, prefix: impl Into<Bytes>) {
        self.state.lock().filter = Some(prefix.into());
    }

    /// Stops delivering beacons.
    pub fn unsubscribe(&self) {
        self.state.lock().filter = None;
    }

    /// The next beacon heard, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Heard> {
        self.heard.recv_timeout(timeout).ok()
    }
}

impl Drop for Beacon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    socket: &UdpSocket,
    port: u16,
    targets: &Targets,
    state: &Mutex<State>,
    tx: &Sender<Heard>,
    stop: &AtomicBool,
) {
    let mut buf = [0u8; MAX_BEACON + 1];
    while !stop.load(Ordering::Acquire) {
        let due = {
            let mut s = state.lock();
            let now = Instant::now();
            match (&s.transmit, s.next_send) {
                (Some((payload, interval)), Some(at)) if now >= at => {
                    let payload = payload.clone();
                    s.next_send = Some(now + *interval);
                    Some(payload)
                }
                _ => None,
            }
        };
        if let Some(payload) = due {
            for target in targets.resolve(port) {
                // A network that is down now may be up at the next interval.
                let _ = socket.send_to(&payload, target);
            }
        }
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        // Longer than any beacon: not one of ours to deliver.
        let Some(payload) = buf.get(..n).filter(|_| n <= MAX_BEACON) else {
            continue;
        };
        let s = state.lock();
        let Some(prefix) = &s.filter else {
            continue;
        };
        let echo = s
            .transmit
            .as_ref()
            .is_some_and(|(own, _)| own[..] == *payload);
        if !echo && payload.starts_with(prefix) {
            let _ = tx.send(Heard {
                from: from.ip(),
                payload: Bytes::copy_from_slice(payload),
            });
        }
    }
}

/// A ZRE beacon (the zyre discovery protocol, RFC 36): `"ZRE"`, version 1, the node's 16-octet
/// UUID, and the port of its ROUTER, 0 when the node is leaving. zyre broadcasts it on UDP
/// port [`ZRE_PORT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZreBeacon {
    /// The node's identity.
    pub uuid: [u8; 16],
    /// The node's mailbox port; 0 announces that it leaves.
    pub port: u16,
}

/// The UDP port zyre nodes beacon on.
pub const ZRE_PORT: u16 = 5670;

impl ZreBeacon {
    /// The 22 octets as they travel.
    pub fn encode(&self) -> [u8; 22] {
        let mut out = [0u8; 22];
        out[..4].copy_from_slice(b"ZRE\x01");
        out[4..20].copy_from_slice(&self.uuid);
        out[20..].copy_from_slice(&self.port.to_be_bytes());
        out
    }

    /// Reads a ZRE beacon; `None` for anything else (another protocol, another version, a
    /// wrong length).
    pub fn decode(payload: &[u8]) -> Option<ZreBeacon> {
        let (head, rest) = payload.split_first_chunk::<4>()?;
        if head != b"ZRE\x01" {
            return None;
        }
        let (uuid, port) = rest.split_first_chunk::<16>()?;
        let port: [u8; 2] = port.try_into().ok()?;
        Some(ZreBeacon {
            uuid: *uuid,
            port: u16::from_be_bytes(port),
        })
    }

    /// Whether the node announces that it leaves (port 0).
    pub fn is_leaving(&self) -> bool {
        self.port == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zre_beacons_round_trip_and_refuse_others() {
        let b = ZreBeacon {
            uuid: [7; 16],
            port: 49152,
        };
        let wire = b.encode();
        assert_eq!(&wire[..4], b"ZRE\x01");
        assert_eq!(&wire[20..], &[0xc0, 0x00]);
        assert_eq!(ZreBeacon::decode(&wire), Some(b));
        assert!(!b.is_leaving());
        assert!(ZreBeacon::decode(&wire[..21]).is_none());
        let mut v2 = wire;
        v2[3] = 2;
        assert!(ZreBeacon::decode(&v2).is_none());
        assert!(ZreBeacon::decode(b"XYZ\x01").is_none());
        let mut longer = wire.to_vec();
        longer.push(0);
        assert!(ZreBeacon::decode(&longer).is_none());
    }
}
