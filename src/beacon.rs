//! UDP beacons for zero-configuration discovery, in the manner of czmq's zbeacon, and ZRE's beacon format.
//!
//! A [`Beacon`] broadcasts a payload of at most 255 octets on a UDP port every interval and
//! hears the payloads others broadcast on that port, with each sender's address. Beacons equal
//! to the one it publishes itself are not delivered back (czmq's "no echo").

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
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

#[derive(Default)]
struct State {
    /// What we publish, and how often.
    transmit: Option<(Bytes, Duration)>,
    next_send: Option<Instant>,
    /// The prefix beacons must start with to be delivered; `None`: not listening.
    filter: Option<Bytes>,
}

/// Broadcasts and hears beacons on one UDP port (IPv4 broadcast to 255.255.255.255). A thread
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
    /// A beacon on `port`: several may share a port on one host.
    pub fn new(port: u16) -> std::io::Result<Beacon> {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_broadcast(true)?;
        socket.bind(&SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port).into())?;
        socket.set_read_timeout(Some(TICK))?;
        let socket: UdpSocket = socket.into();
        let state = Arc::new(Mutex::new(State::default()));
        let (tx, heard) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::Builder::new()
                .name("zvtran-beacon".into())
                .spawn(move || run(&socket, port, &state, &tx, &stop))?
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

fn run(socket: &UdpSocket, port: u16, state: &Mutex<State>, tx: &Sender<Heard>, stop: &AtomicBool) {
    let target = SocketAddr::new(Ipv4Addr::BROADCAST.into(), port);
    let mut buf = [0u8; MAX_BEACON + 1];
    while !stop.load(Ordering::Acquire) {
        {
            let mut s = state.lock();
            let now = Instant::now();
            if let (Some((payload, interval)), Some(at)) = (&s.transmit, s.next_send) {
                if now >= at {
                    // A network that is down now may be up at the next interval.
                    let _ = socket.send_to(payload, target);
                    s.next_send = Some(now + *interval);
                }
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
