//! The udp:// transport: RADIO/DISH over datagrams in libzmq's format, unicast and multicast.
//!
//! libzmq's (draft) UDP transport carries one RADIO/DISH message per datagram:
//! `[group length: 1 octet][group][body]`, at most [`MAX_DATAGRAM`] octets in all. A DISH binds
//! (`udp://*:5555`, `udp://eth0;239.0.0.1:5555`) and filters by the groups it joined; a RADIO
//! connects and sends every group, since a datagram peer cannot tell it what it joined. Each
//! endpoint runs on a thread of its own, linked to its socket by a pipe like any driver.
//! Decoding is total (every datagram gives a message or a counted drop, never a panic).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};
use zmtp::{Message, Metadata, PeerInfo, SocketType};

use crate::driver::{Driver, DriverError, EndpointHandle, PeerCaps, SocketCommand, SocketLink};
use crate::endpoint::EndpointError;
use crate::monitor::EventKind;
use crate::pipe::{PipeEnd, PipeEvent, Wake, pipe};

/// The largest datagram libzmq's UDP transport sends or accepts.
pub const MAX_DATAGRAM: usize = 8192;

/// The longest group name (RFC 48, and the one-octet length on the wire).
pub const MAX_GROUP: usize = 255;

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatagramError {
    /// A datagram with no octet at all.
    #[error("empty datagram")]
    Empty,
    /// The group length points past the end of the datagram.
    #[error("group of {declared} octets declared in a datagram of {len}")]
    GroupPastEnd {
        /// The declared group length.
        declared: usize,
        /// The datagram's length.
        len: usize,
    },
    /// Larger than [`MAX_DATAGRAM`].
    #[error("datagram of {len} octets (at most {MAX_DATAGRAM})")]
    TooLarge {
        /// The datagram's length.
        len: usize,
    },
}

/// Why a message cannot be sent as a datagram: an error for the caller, never a silent drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The group is longer than [`MAX_GROUP`].
    #[error("group of {len} octets (at most {MAX_GROUP})")]
    GroupTooLong {
        /// The group's length.
        len: usize,
    },
    /// Group and body do not fit in one datagram.
    #[error(
        "message of {len} octets does not fit a udp datagram (at most {MAX_DATAGRAM} with its group)"
    )]
    TooLarge {
        /// The datagram it would need.
        len: usize,
    },
}

/// The datagram length a message needs.
pub fn encoded_len(group: &[u8], body: &[u8]) -> usize {
    1 + group.len() + body.len()
}

/// Appends one message's datagram to `out`.
pub fn encode(group: &[u8], body: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let Ok(group_len) = u8::try_from(group.len()) else {
        return Err(EncodeError::GroupTooLong { len: group.len() });
    };
    let len = encoded_len(group, body);
    if len > MAX_DATAGRAM {
        return Err(EncodeError::TooLarge { len });
    }
    out.reserve(len);
    out.push(group_len);
    out.extend_from_slice(group);
    out.extend_from_slice(body);
    Ok(())
}

/// Splits a datagram into its group and body, both slices of it.
pub fn decode(datagram: &Bytes) -> Result<(Bytes, Bytes), DatagramError> {
    let len = datagram.len();
    if len > MAX_DATAGRAM {
        return Err(DatagramError::TooLarge { len });
    }
    let Some(&declared) = datagram.first() else {
        return Err(DatagramError::Empty);
    };
    let declared = usize::from(declared);
    if 1 + declared > len {
        return Err(DatagramError::GroupPastEnd { declared, len });
    }
    Ok((
        datagram.slice(1..1 + declared),
        datagram.slice(1 + declared..),
    ))
}

/// A udp endpoint's address, in the forms libzmq accepts: `host:port`, `*:port` (bind),
/// `[ipv6]:port`, and `interface;multicast-group:port` (the interface by name or address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpAddress {
    /// The interface before `;`, if given (a name such as `eth0`, or an address).
    pub interface: Option<String>,
    /// The host, without IPv6 brackets; `*` for any.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl UdpAddress {
    /// Parses the part after `udp://`.
    pub fn parse(address: &str) -> Result<UdpAddress, EndpointError> {
        let endpoint = || format!("udp://{address}");
        let (interface, rest) = match address.split_once(';') {
            Some((i, r)) if i.is_empty() => {
                return Err(EndpointError::EmptyAddress(format!("udp://{i};{r}")));
            }
            Some((i, r)) => (Some(i.to_string()), r),
            None => (None, address),
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| EndpointError::NoPort(endpoint()))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(EndpointError::EmptyAddress(endpoint()));
        }
        let port = port.parse::<u16>().map_err(|_| EndpointError::BadPort {
            endpoint: endpoint(),
            port: port.to_string(),
        })?;
        Ok(UdpAddress {
            interface,
            host: host.to_string(),
            port,
        })
    }

    /// The host as an IP address, if it is one (not `*` or a name).
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Whether the host is a multicast group.
    pub fn is_multicast(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_multicast())
    }
}

/// How long an endpoint thread sleeps before it looks at its stop flag again.
const TICK: Duration = Duration::from_millis(50);

/// `udp://`: DISH binds, RADIO connects. Registered by every context.
#[derive(Debug, Default)]
pub struct Udp;

impl Driver for Udp {
    fn scheme(&self) -> &str {
        "udp"
    }

    fn bind(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        let endpoint = format!("udp://{address}");
        need_type(link, SocketType::Dish, "bind", &endpoint)?;
        let addr = UdpAddress::parse(address)?;
        let socket = open_receiver(&addr).map_err(|source| DriverError::Io {
            endpoint: endpoint.clone(),
            source,
        })?;
        let resolved = match (socket.local_addr(), addr.is_multicast()) {
            (Ok(local), false) if addr.port == 0 => format!("udp://{local}"),
            _ => endpoint.clone(),
        };
        let driver_end = attach(link, &resolved, SocketType::Radio, PeerCaps::default());
        link.monitor(EventKind::Listening, &resolved);
        let link = link.clone();
        let shown = resolved.clone();
        spawn(resolved, move |stop| {
            receive(socket, driver_end, &link, &shown, &stop);
        })
    }

    fn connect(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        let endpoint = format!("udp://{address}");
        need_type(link, SocketType::Radio, "connect", &endpoint)?;
        let addr = UdpAddress::parse(address)?;
        let options = link.options();
        let socket = open_sender(&addr, options.multicast_hops, options.multicast_loop).map_err(
            |source| DriverError::Io {
                endpoint: endpoint.clone(),
                source,
            },
        )?;
        let caps = PeerCaps {
            max_message: Some(MAX_DATAGRAM - 1),
            takes_every_group: true,
        };
        let driver_end = attach(link, &endpoint, SocketType::Dish, caps);
        link.monitor(EventKind::Connected, &endpoint);
        spawn(endpoint, move |stop| send(socket, driver_end, &stop))
    }
}

/// A flag set when the socket's end of the pipe goes away.
fn socket_end_gone() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// Refuses socket types the udp transport cannot carry, as libzmq does.
fn need_type(
    link: &SocketLink,
    wanted: SocketType,
    what: &'static str,
    endpoint: &str,
) -> Result<(), DriverError> {
    let ours = link.options().socket_type;
    if ours == wanted {
        return Ok(());
    }
    Err(DriverError::NotSupported {
        endpoint: endpoint.to_string(),
        reason: format!(
            "udp carries RADIO and DISH only: a DISH binds and a RADIO connects ({ours} cannot {what} here)"
        ),
    })
}

/// Hands the socket its end of a new pipe to the udp peer; returns the driver's end.
fn attach(link: &SocketLink, endpoint: &str, peer_type: SocketType, caps: PeerCaps) -> PipeEnd {
    let options = link.options();
    let (socket_end, driver_end) = pipe(options.outbound_capacity(), options.inbound_capacity());
    link.post(SocketCommand::Attach {
        peer: link.next_peer_id(),
        pipe: socket_end,
        endpoint: endpoint.to_string(),
        info: Some(PeerInfo {
            socket_type: peer_type,
            identity: None,
            metadata: Metadata::new(),
            version: zmtp::Version::V3_1,
            user_id: None,
            auth_metadata: Metadata::new(),
        }),
        assigned_id: None,
        caps,
    });
    driver_end
}

/// Wakes an endpoint thread when its pipe has news; remembers when the socket let go.
struct ThreadWake {
    thread: Thread,
    closed: Arc<AtomicBool>,
}

impl Wake for ThreadWake {
    fn wake(&self, _token: u64, event: PipeEvent) {
        if matches!(event, PipeEvent::Closed) {
            self.closed.store(true, Ordering::Release);
        }
        self.thread.unpark();
    }
}

/// A running udp endpoint; closing it stops its thread and frees the port.
struct UdpEndpoint {
    endpoint: String,
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<()>>,
}

fn spawn(
    endpoint: String,
    run: impl FnOnce(Arc<AtomicBool>) + Send + 'static,
) -> Result<Box<dyn EndpointHandle>, DriverError> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let join = std::thread::Builder::new()
        .name("zvtran-udp".into())
        .spawn(move || run(flag))
        .map_err(|source| DriverError::Io {
            endpoint: endpoint.clone(),
            source,
        })?;
    Ok(Box::new(UdpEndpoint {
        endpoint,
        stop,
        join: Some(join),
    }))
}

impl UdpEndpoint {
    fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(join) = self.join.take() {
            join.thread().unpark();
            let _ = join.join();
        }
    }
}

impl EndpointHandle for UdpEndpoint {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn close(mut self: Box<Self>) {
        self.stop();
    }
}

impl Drop for UdpEndpoint {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The address to bind or send to: an IP literal, `*` (any IPv4 address), or a name.
fn resolve(addr: &UdpAddress) -> std::io::Result<SocketAddr> {
    if addr.host == "*" {
        return Ok(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            addr.port,
        ));
    }
    if let Some(ip) = addr.ip() {
        return Ok(SocketAddr::new(ip, addr.port));
    }
    (addr.host.as_str(), addr.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "the host has no address"))
}

/// The interface named before `;`: an IPv4 address, or a name turned into an index.
enum Interface {
    Any,
    V4(Ipv4Addr),
    Index(u32),
}

fn interface(addr: &UdpAddress) -> std::io::Result<Interface> {
    let Some(name) = addr.interface.as_deref().filter(|n| *n != "*") else {
        return Ok(Interface::Any);
    };
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Ok(Interface::V4(ip));
    }
    let c = std::ffi::CString::new(name)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad interface name"))?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no network interface named {name:?}"),
        ));
    }
    Ok(Interface::Index(index))
}

fn open_receiver(addr: &UdpAddress) -> std::io::Result<UdpSocket> {
    let target = resolve(addr)?;
    let socket = Socket::new(
        Domain::for_address(target),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if target.ip().is_multicast() {
        // Several receivers on one host may join the same group and port.
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        let any: IpAddr = match target {
            SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        socket.bind(&SocketAddr::new(any, target.port()).into())?;
        match (target.ip(), interface(addr)?) {
            (IpAddr::V4(group), Interface::Any) => {
                socket.join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)?;
            }
            (IpAddr::V4(group), Interface::V4(ip)) => socket.join_multicast_v4(&group, &ip)?,
            (IpAddr::V4(group), Interface::Index(i)) => {
                socket.join_multicast_v4_n(&group, &socket2::InterfaceIndexOrAddress::Index(i))?
            }
            (IpAddr::V6(group), Interface::Index(i)) => socket.join_multicast_v6(&group, i)?,
            (IpAddr::V6(group), _) => socket.join_multicast_v6(&group, 0)?,
        }
    } else {
        socket.bind(&target.into())?;
    }
    socket.set_read_timeout(Some(TICK))?;
    Ok(socket.into())
}

fn open_sender(addr: &UdpAddress, hops: u32, multicast_loop: bool) -> std::io::Result<UdpSocket> {
    let target = resolve(addr)?;
    let socket = Socket::new(
        Domain::for_address(target),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if target.ip().is_multicast() {
        match (target, interface(addr)?) {
            (SocketAddr::V4(_), iface) => {
                socket.set_multicast_ttl_v4(hops)?;
                socket.set_multicast_loop_v4(multicast_loop)?;
                if let Interface::V4(ip) = iface {
                    socket.set_multicast_if_v4(&ip)?;
                }
            }
            (SocketAddr::V6(_), iface) => {
                socket.set_multicast_hops_v6(hops)?;
                socket.set_multicast_loop_v6(multicast_loop)?;
                if let Interface::Index(i) = iface {
                    socket.set_multicast_if_v6(i)?;
                }
            }
        }
    }
    socket.connect(&target.into())?;
    Ok(socket.into())
}

/// DISH side: datagrams in, messages `[group, body]` out to the socket, which filters by the
/// groups it joined. Malformed datagrams and those that find the socket's queue full are
/// dropped and counted; the counts go to the monitor at most once a second.
fn receive(socket: UdpSocket, pipe: PipeEnd, link: &SocketLink, endpoint: &str, stop: &AtomicBool) {
    let closed = socket_end_gone();
    pipe.set_waker(
        Arc::new(ThreadWake {
            thread: std::thread::current(),
            closed: closed.clone(),
        }),
        0,
    );
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    let mut dropped = Dropped::default();
    while !stop.load(Ordering::Acquire) && !closed.load(Ordering::Acquire) {
        // JOIN and LEAVE from the DISH have nowhere to go on udp.
        while pipe.try_recv().is_some() {}
        match socket.recv(&mut buf) {
            Ok(n) => {
                let datagram = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                match decode(&datagram) {
                    Ok((group, body)) => {
                        if pipe.try_send(Message::from_frames([group, body])).is_err() {
                            dropped.full += 1;
                        }
                    }
                    Err(_) => dropped.malformed += 1,
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(_) => std::thread::sleep(TICK),
        }
        dropped.report(link, endpoint);
    }
    dropped.report_now(link, endpoint);
}

/// Datagrams dropped since the last report.
#[derive(Default)]
struct Dropped {
    malformed: u64,
    full: u64,
    last: Option<Instant>,
}

impl Dropped {
    fn report(&mut self, link: &SocketLink, endpoint: &str) {
        if self.malformed + self.full == 0 {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.report_now(link, endpoint);
    }

    fn report_now(&mut self, link: &SocketLink, endpoint: &str) {
        if self.malformed + self.full == 0 {
            return;
        }
        link.monitor(
            EventKind::DatagramsDropped {
                malformed: self.malformed,
                queue_full: self.full,
            },
            endpoint,
        );
        self.malformed = 0;
        self.full = 0;
        self.last = Some(Instant::now());
    }
}

/// RADIO side: messages `[group, body]` from the socket out as datagrams. The socket refused
/// anything too large before it was queued; a message of another shape cannot come from a
/// RADIO and is skipped.
fn send(socket: UdpSocket, pipe: PipeEnd, stop: &AtomicBool) {
    let closed = socket_end_gone();
    pipe.set_waker(
        Arc::new(ThreadWake {
            thread: std::thread::current(),
            closed: closed.clone(),
        }),
        0,
    );
    let mut datagram = Vec::with_capacity(MAX_DATAGRAM);
    loop {
        while let Some(msg) = pipe.try_recv() {
            let [group, body] = msg.frames() else {
                continue;
            };
            datagram.clear();
            if encode(group, body, &mut datagram).is_ok() {
                // Nobody listening (an ICMP refusal) is not an error for a datagram sender.
                let _ = socket.send(&datagram);
            }
        }
        if stop.load(Ordering::Acquire) || closed.load(Ordering::Acquire) {
            return;
        }
        std::thread::park_timeout(TICK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_libzmq_datagrams() {
        let mut out = Vec::new();
        encode(b"weather", b"sunny", &mut out).unwrap();
        assert_eq!(out, b"\x07weathersunny");
        out.clear();
        encode(b"", b"", &mut out).unwrap();
        assert_eq!(out, b"\x00");
        assert_eq!(
            encode(&[b'g'; 256], b"", &mut out),
            Err(EncodeError::GroupTooLong { len: 256 })
        );
        assert_eq!(
            encode(b"g", &[0; MAX_DATAGRAM - 1], &mut out),
            Err(EncodeError::TooLarge {
                len: MAX_DATAGRAM + 1
            })
        );
        out.clear();
        encode(b"g", &[0; MAX_DATAGRAM - 2], &mut out).unwrap();
        assert_eq!(out.len(), MAX_DATAGRAM);
    }

    #[test]
    fn refuses_malformed_datagrams() {
        assert_eq!(decode(&Bytes::new()), Err(DatagramError::Empty));
        assert_eq!(
            decode(&Bytes::from_static(b"\x05abc")),
            Err(DatagramError::GroupPastEnd {
                declared: 5,
                len: 4
            })
        );
        assert_eq!(
            decode(&Bytes::from(vec![0; MAX_DATAGRAM + 1])),
            Err(DatagramError::TooLarge {
                len: MAX_DATAGRAM + 1
            })
        );
        let (g, b) = decode(&Bytes::from_static(b"\x03abc")).unwrap();
        assert_eq!((&g[..], &b[..]), (&b"abc"[..], &b""[..]));
    }

    #[test]
    fn parses_the_address_forms_libzmq_takes() {
        let a = UdpAddress::parse("127.0.0.1:5555").unwrap();
        assert_eq!(
            (a.interface, a.host.as_str(), a.port),
            (None, "127.0.0.1", 5555)
        );
        let a = UdpAddress::parse("*:5556").unwrap();
        assert_eq!((a.host.as_str(), a.ip()), ("*", None));
        let a = UdpAddress::parse("eth0;239.0.0.1:5555").unwrap();
        assert_eq!(a.interface.as_deref(), Some("eth0"));
        assert!(a.is_multicast());
        let a = UdpAddress::parse("192.168.1.2;239.0.0.1:5555").unwrap();
        assert_eq!(a.interface.as_deref(), Some("192.168.1.2"));
        let a = UdpAddress::parse("[ff02::1]:5555").unwrap();
        assert_eq!(a.host, "ff02::1");
        assert!(a.is_multicast());
        assert!(!UdpAddress::parse("[::1]:1").unwrap().is_multicast());
        for bad in ["127.0.0.1", "127.0.0.1:x", ":5", ";239.0.0.1:5", "h:70000"] {
            assert!(UdpAddress::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(group in proptest::collection::vec(any::<u8>(), 0..=255),
                                 body in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut out = Vec::new();
            encode(&group, &body, &mut out).unwrap();
            let (g, b) = decode(&Bytes::from(out)).unwrap();
            prop_assert_eq!(&g[..], &group[..]);
            prop_assert_eq!(&b[..], &body[..]);
        }

        #[test]
        fn any_datagram_decodes_or_is_refused(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let datagram = Bytes::from(data.clone());
            if let Ok((g, b)) = decode(&datagram) {
                let mut again = Vec::new();
                encode(&g, &b, &mut again).unwrap();
                prop_assert_eq!(again, data);
            }
        }
    }
}
