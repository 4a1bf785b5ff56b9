//! The udp:// transport: RADIO/DISH over datagrams in libzmq's format, unicast and multicast.
//!
//! libzmq's (draft) UDP transport carries one RADIO/DISH message per datagram:
//! `[group length: 1 octet][group][body]`, at most [`MAX_DATAGRAM`] octets in all. A DISH binds
//! (`udp://*:5555`, `udp://eth0;239.0.0.1:5555`) and filters by the groups it joined; a RADIO
//! connects and sends every group, since a datagram peer cannot tell it what it joined. Each
//! endpoint runs on a thread of its own, linked to its socket by a pipe like any driver.
//! Decoding is total (every datagram gives a message or a counted drop, never a panic).

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use socket2::{Domain, Protocol, Socket, Type};
use zmtp::{Message, SocketType};

use crate::driver::{Capabilities, Driver, DriverError, EndpointHandle, PeerCaps, SocketLink};
use crate::endpoint::EndpointError;
use crate::message::{spawn_endpoint, wake_on_news};
use crate::monitor::EventKind;
use crate::pipe::PipeEnd;

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
    decode_within(datagram, 0, datagram.len())
}

/// Like [`decode`] for the datagram at `start..end` of a larger buffer (a GRO run): the group
/// and body are sliced from `buf` directly.
pub fn decode_within(
    buf: &Bytes,
    start: usize,
    end: usize,
) -> Result<(Bytes, Bytes), DatagramError> {
    let datagram = buf.get(start..end).unwrap_or_default();
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
    let body_at = start + 1 + declared;
    Ok((
        buf.slice(start + 1..body_at),
        buf.slice(body_at..start + len),
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

/// Receives (each up to a GRO run) gathered into one hand-over to the socket.
const RECV_ROUNDS: usize = 8;

/// The receive buffer a DISH asks the kernel for.
const RECV_BUFFER: usize = 8 << 20;

/// How long an endpoint thread sleeps before it looks at its stop flag again.
const TICK: Duration = Duration::from_millis(50);

/// `udp://`: DISH binds, RADIO connects. Registered by every context.
#[derive(Debug, Default)]
pub struct Udp;

impl Driver for Udp {
    fn scheme(&self) -> &str {
        "udp"
    }

    fn capabilities(&self, address: &str) -> Capabilities {
        Capabilities::MESSAGE
            .with_reliable(false)
            .with_ordered(false)
            .with_bidirectional(false)
            .with_multicast(UdpAddress::parse(address).is_ok_and(|a| a.is_multicast()))
            .with_max_message(Some(MAX_DATAGRAM - 1))
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
        let driver_end = link.attach_peer(&resolved, SocketType::Radio, PeerCaps::default());
        link.monitor(EventKind::Listening, &resolved);
        let link = link.clone();
        let shown = resolved.clone();
        spawn_endpoint(resolved, "zvtran-udp", move |stop| {
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
        let driver_end = link.attach_peer(&endpoint, SocketType::Dish, caps);
        link.monitor(EventKind::Connected, &endpoint);
        spawn_endpoint(endpoint, "zvtran-udp", move |stop| {
            send(socket, driver_end, &stop)
        })
    }
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
    // Datagrams that find the buffer full are lost: ask for room for bursts and stalls of the
    // receiving thread. SO_RCVBUFFORCE (root or CAP_NET_ADMIN) goes past net.core.rmem_max,
    // which is 208 KiB on a stock kernel; otherwise the kernel caps the request there.
    if !batch::force_recv_buffer(&socket, RECV_BUFFER) {
        let _ = socket.set_recv_buffer_size(RECV_BUFFER);
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
    let closed = wake_on_news(&pipe);
    // GRO hands over runs of equal-size datagrams in one buffer; without it, recvmmsg takes
    // up to 32 datagrams per call.
    let gro = batch::enable_gro(&socket);
    let mut buf = BytesMut::new();
    let mut batch = VecDeque::new();
    let mut datagrams = Vec::new();
    let mut dropped = Dropped::default();
    while !stop.load(Ordering::Acquire) && !closed.load(Ordering::Acquire) {
        // JOIN and LEAVE from the DISH have nowhere to go on udp.
        while pipe.try_recv().is_some() {}
        if !gro {
            match batch::recv_many(&socket, &mut buf, true, &mut datagrams) {
                Ok(_) => {
                    for d in datagrams.drain(..) {
                        split(&d, None, &mut batch, &mut dropped);
                    }
                    pipe.send_batch(&mut batch);
                    dropped.full += batch.len() as u64;
                    batch.clear();
                }
                Err(e) if transient(&e) => {}
                Err(_) => std::thread::sleep(TICK),
            }
            dropped.report(link, endpoint);
            continue;
        }
        match batch::recv(&socket, &mut buf, gro, true) {
            Ok((data, segment)) => {
                split(&data, segment, &mut batch, &mut dropped);
                // Whatever else is already waiting joins this batch: one hand-over to the
                // socket (and at most one wake-up) for several receives.
                for _ in 1..RECV_ROUNDS {
                    match batch::recv(&socket, &mut buf, gro, false) {
                        Ok((data, segment)) => split(&data, segment, &mut batch, &mut dropped),
                        Err(_) => break,
                    }
                }
                pipe.send_batch(&mut batch);
                dropped.full += batch.len() as u64;
                batch.clear();
            }
            Err(e) if transient(&e) => {}
            Err(_) => std::thread::sleep(TICK),
        }
        dropped.report(link, endpoint);
    }
    dropped.report_now(link, endpoint);
}

/// Decodes a received buffer: one datagram, or a GRO run of `segment`-octet datagrams (the
/// last may be shorter). Each becomes a message `[group, body]` sliced from the buffer.
fn split(data: &Bytes, segment: Option<usize>, out: &mut VecDeque<Message>, dropped: &mut Dropped) {
    let step = segment.unwrap_or(data.len()).max(1);
    let mut at = 0;
    loop {
        let end = (at + step).min(data.len());
        match decode_within(data, at, end) {
            Ok((group, body)) => out.push_back(Message::from_frames([group, body])),
            Err(_) => dropped.malformed += 1,
        }
        at = end;
        if at >= data.len() {
            return;
        }
    }
}

/// A receive that found nothing in time, or was interrupted.
fn transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
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
    let closed = wake_on_news(&pipe);
    let mut out = batch::Sender::new(socket);
    loop {
        // Read before draining: what the socket queued before it closed goes out too.
        let last = stop.load(Ordering::Acquire) || closed.load(Ordering::Acquire);
        // What is queued goes out now, equal-size runs in one system call; a lone message
        // waits for nothing.
        while let Some(msg) = pipe.try_recv() {
            if let [group, body] = msg.frames() {
                out.push(group, body);
            }
        }
        out.flush();
        if last {
            return;
        }
        std::thread::park_timeout(TICK);
    }
}

/// Moving many datagrams per system call: UDP GSO on send (one buffer of equal-size segments,
/// each still a complete libzmq datagram) and GRO on receive, where the kernel has them.
/// Public for the perf tools' raw ceilings; the driver above is its user.
pub mod batch {
    use std::io;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    use bytes::{Bytes, BytesMut};

    use super::{MAX_DATAGRAM, encode, encoded_len};

    /// Segments per GSO send (the kernel's UDP_MAX_SEGMENTS is 64 on older kernels).
    const MAX_SEGMENTS: usize = 64;
    /// Octets per GSO send: one IPv4 datagram's payload at most.
    const MAX_GSO_BYTES: usize = 65_000;
    /// Room for a receive: a whole coalesced run.
    const RECV_ROOM: usize = 65_536;
    /// Receive buffers are carved from blocks of this size.
    const RECV_BLOCK: usize = 16 * RECV_ROOM;

    /// Room for one control message carrying an int, 8-aligned.
    #[repr(C, align(8))]
    struct Control([u8; 64]);

    /// Gathers datagrams and sends many with one call: with GSO, runs of equal size in one
    /// buffer; without it (an old kernel, a device that refuses it), up to 64 datagrams of any
    /// size per `sendmmsg`.
    pub struct Sender {
        socket: UdpSocket,
        gso: bool,
        buf: Vec<u8>,
        /// GSO: the size of each datagram in the run.
        segment: usize,
        /// Without GSO: the size of each datagram gathered, in order.
        lens: Vec<usize>,
        count: usize,
    }

    impl Sender {
        /// A sender on a connected socket; GSO until the kernel refuses it.
        pub fn new(socket: UdpSocket) -> Sender {
            Sender {
                socket,
                gso: true,
                buf: Vec::with_capacity(MAX_GSO_BYTES + MAX_DATAGRAM),
                segment: 0,
                lens: Vec::with_capacity(MAX_SEGMENTS),
                count: 0,
            }
        }

        /// A sender that never tries GSO: `sendmmsg` only (the fallback, for tests and the
        /// benchmark's ceilings).
        pub fn without_gso(socket: UdpSocket) -> Sender {
            Sender {
                gso: false,
                ..Sender::new(socket)
            }
        }

        /// Whether sends still use GSO (false once the kernel refused it).
        pub fn uses_gso(&self) -> bool {
            self.gso
        }

        /// Adds one message; sends what was gathered first if it cannot join the batch.
        pub fn push(&mut self, group: &[u8], body: &[u8]) {
            let len = encoded_len(group, body);
            if self.count > 0
                && ((self.gso && len != self.segment)
                    || self.count == MAX_SEGMENTS
                    || self.buf.len() + len > MAX_GSO_BYTES)
            {
                self.flush();
            }
            // The socket refused larger messages before they were queued.
            if encode(group, body, &mut self.buf).is_ok() {
                self.segment = len;
                if !self.gso {
                    self.lens.push(len);
                }
                self.count += 1;
            }
        }

        /// Sends what was gathered. Errors are not reported: nobody listening (an ICMP
        /// refusal) or a full socket buffer loses datagrams, as udp does.
        pub fn flush(&mut self) {
            if self.count > 1 && self.gso {
                if let Err(e) = send_gso(&self.socket, &self.buf, self.segment) {
                    if gso_unsupported(&e) {
                        self.gso = false;
                        let each = self.buf.chunks(self.segment.max(1)).map(<[u8]>::len);
                        self.lens.extend(each);
                    }
                }
            } else if self.count == 1 && self.gso {
                let _ = self.socket.send(&self.buf);
            }
            match self.lens.len() {
                0 => {}
                1 => {
                    let _ = self.socket.send(&self.buf);
                }
                _ => send_many(&self.socket, &self.buf, &self.lens),
            }
            self.buf.clear();
            self.lens.clear();
            self.count = 0;
        }
    }

    /// Sends the datagrams laid end to end in `buf` (sizes in `lens`, at most
    /// [`MAX_SEGMENTS`]) with as few `sendmmsg` calls as the kernel allows.
    fn send_many(socket: &UdpSocket, buf: &[u8], lens: &[usize]) {
        debug_assert!(lens.len() <= MAX_SEGMENTS);
        // SAFETY: iovec and mmsghdr are plain data; zeroed is a valid value for both.
        let mut iov: [libc::iovec; MAX_SEGMENTS] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; MAX_SEGMENTS] = unsafe { std::mem::zeroed() };
        let mut at = 0;
        let n = lens.len().min(MAX_SEGMENTS);
        for i in 0..n {
            let len = lens[i].min(buf.len() - at);
            iov[i] = libc::iovec {
                iov_base: buf[at..].as_ptr() as *mut libc::c_void,
                iov_len: len,
            };
            at += len;
        }
        for i in 0..n {
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        let mut done = 0;
        while done < n {
            // SAFETY: msgs[done..n] point at iovecs into `buf`, all alive for the call; the
            // socket is connected, so no addresses are needed.
            let sent = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    msgs[done..].as_mut_ptr(),
                    (n - done) as libc::c_uint,
                    0,
                )
            };
            match usize::try_from(sent) {
                Ok(0) | Err(_) => {
                    // The first one failed (no listener, full buffer): it is lost, as with
                    // send; go on with the rest.
                    if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                        done += 1;
                    }
                }
                Ok(k) => done += k,
            }
        }
    }

    fn gso_unsupported(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EINVAL | libc::EIO | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
        )
    }

    fn send_gso(socket: &UdpSocket, buf: &[u8], segment: usize) -> io::Result<usize> {
        let segment =
            u16::try_from(segment).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let mut iov = libc::iovec {
            iov_base: buf.as_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        let mut control = Control([0; 64]);
        // SAFETY: msghdr is plain data; every pointer set below outlives the call, and the
        // control buffer is 8-aligned and larger than CMSG_SPACE(2).
        let sent = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.0.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(2) as usize;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_UDP;
            (*cmsg).cmsg_type = libc::UDP_SEGMENT;
            (*cmsg).cmsg_len = libc::CMSG_LEN(2) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment);
            libc::sendmsg(socket.as_raw_fd(), &msg, 0)
        };
        usize::try_from(sent).map_err(|_| io::Error::last_os_error())
    }

    /// Sets the receive buffer past net.core.rmem_max (SO_RCVBUFFORCE); false without the
    /// privilege for it.
    pub fn force_recv_buffer(socket: &impl AsRawFd, bytes: usize) -> bool {
        libc::c_int::try_from(bytes)
            .is_ok_and(|size| set_int(socket, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size))
    }

    /// Asks the kernel to coalesce received datagrams; false where it cannot.
    pub fn enable_gro(socket: &UdpSocket) -> bool {
        set_int(socket, libc::SOL_UDP, libc::UDP_GRO, 1)
    }

    /// An int socket option; false if the kernel refused it.
    fn set_int(
        socket: &impl AsRawFd,
        level: libc::c_int,
        name: libc::c_int,
        value: libc::c_int,
    ) -> bool {
        // SAFETY: a valid fd, and a pointer to an int of the size given.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                level,
                name,
                (&value as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        rc == 0
    }

    /// Receives one datagram, or with GRO a run of equal-size ones: the data and, for a run,
    /// the size of each datagram in it (the last may be shorter).
    /// Without `wait` it returns WouldBlock at once when nothing is there.
    pub fn recv(
        socket: &UdpSocket,
        buf: &mut BytesMut,
        gro: bool,
        wait: bool,
    ) -> io::Result<(Bytes, Option<usize>)> {
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        if !gro {
            buf.clear();
            // One octet more than the limit, so that an oversize datagram shows.
            buf.resize(MAX_DATAGRAM + 1, 0);
            // SAFETY: a valid fd and a buffer of the length given.
            let n = unsafe {
                libc::recv(
                    socket.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags,
                )
            };
            let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
            buf.truncate(n);
            return Ok((buf.split().freeze(), None));
        }
        if buf.capacity() < RECV_ROOM {
            // One block serves many receives: each takes its datagrams off the front
            // (`split`), and the messages keep that part alive, not the whole block.
            buf.reserve(RECV_BLOCK);
        }
        let spare = buf.spare_capacity_mut();
        let mut iov = libc::iovec {
            iov_base: spare.as_mut_ptr().cast(),
            iov_len: spare.len(),
        };
        let mut control = Control([0; 64]);
        // SAFETY: msghdr is plain data; the iovec covers the buffer's spare capacity and the
        // control buffer is 8-aligned; both outlive the call, and control messages are read
        // only within the length the kernel reported.
        let (n, segment) = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.0.as_mut_ptr().cast();
            msg.msg_controllen = control.0.len();
            let n = libc::recvmsg(socket.as_raw_fd(), &mut msg, flags);
            let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
            let mut segment = None;
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_UDP && (*cmsg).cmsg_type == libc::UDP_GRO {
                    let size =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                    segment = usize::try_from(size).ok().filter(|s| *s > 0);
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
            (n, segment)
        };
        // SAFETY: the kernel wrote `n` octets at the start of the spare capacity.
        unsafe { buf.set_len(n) };
        Ok((buf.split().freeze(), segment))
    }

    /// Datagrams per `recvmmsg`.
    const RECV_SLOTS: usize = 32;
    /// Room per datagram: one octet more than the limit, so that an oversize one shows.
    const RECV_SLOT: usize = MAX_DATAGRAM + 1;

    /// Receives up to 32 datagrams with one `recvmmsg` (the way without GRO), appending each to
    /// `out`; returns how many. Without `wait` it returns WouldBlock at once when nothing is
    /// there; with it, it waits for the first (up to the socket's read timeout) and takes what
    /// else is already queued.
    pub fn recv_many(
        socket: &UdpSocket,
        buf: &mut BytesMut,
        wait: bool,
        out: &mut Vec<Bytes>,
    ) -> io::Result<usize> {
        buf.clear();
        buf.reserve(RECV_SLOTS * RECV_SLOT);
        let spare = buf.spare_capacity_mut();
        let base: *mut u8 = spare.as_mut_ptr().cast();
        // SAFETY: iovec and mmsghdr are plain data; zeroed is a valid value for both.
        let mut iov: [libc::iovec; RECV_SLOTS] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; RECV_SLOTS] = unsafe { std::mem::zeroed() };
        for i in 0..RECV_SLOTS {
            iov[i] = libc::iovec {
                // SAFETY: slot i lies within the spare capacity reserved above.
                iov_base: unsafe { base.add(i * RECV_SLOT) }.cast(),
                iov_len: RECV_SLOT,
            };
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        let flags = if wait {
            libc::MSG_WAITFORONE
        } else {
            libc::MSG_DONTWAIT
        };
        // SAFETY: every iovec points at its own slot of the buffer's spare capacity, which
        // outlives the call; no timeout pointer (the socket's read timeout applies).
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                RECV_SLOTS as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        // Close the gaps between slots so that every octet up to the length is one the kernel
        // wrote, then hand each datagram out as a slice of one frozen buffer.
        let mut lens = [0usize; RECV_SLOTS];
        let mut total = 0;
        for (i, len) in lens.iter_mut().enumerate().take(n) {
            *len = (msgs[i].msg_len as usize).min(RECV_SLOT);
            if i * RECV_SLOT != total {
                // SAFETY: both ranges lie within the reserved capacity; the source holds
                // `len` octets the kernel wrote; `copy` allows the overlap.
                unsafe { std::ptr::copy(base.add(i * RECV_SLOT), base.add(total), *len) };
            }
            total += *len;
        }
        // SAFETY: the first `total` octets were written by the kernel or moved above.
        unsafe { buf.set_len(total) };
        let all = buf.split().freeze();
        let mut at = 0;
        for len in &lens[..n] {
            out.push(all.slice(at..at + len));
            at += len;
        }
        Ok(n)
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

    /// Sends 300 messages of mixed sizes through `sender`; all arrive in order and intact.
    fn batch_sender_delivers_everything(make: fn(UdpSocket) -> batch::Sender) -> bool {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        let mut sender = make(tx);
        let body = |i: usize| vec![(i % 251) as u8; (i * 7) % 300 + usize::from(i % 3 == 0) * 3000];
        let mut sent = 0;
        for round in 0..10 {
            for i in round * 30..round * 30 + 30 {
                // Equal-size runs and size changes both occur.
                let b = if i % 5 < 3 { vec![9u8; 64] } else { body(i) };
                sender.push(b"grp", &b);
                sent += 1;
            }
            sender.flush();
            // Give the receiver room: this test is about batching, not buffer sizes.
            let mut buf = [0u8; MAX_DATAGRAM];
            for i in round * 30..round * 30 + 30 {
                let n = rx.recv(&mut buf).unwrap();
                let (group, got) = decode(&Bytes::copy_from_slice(&buf[..n])).unwrap();
                assert_eq!(&group[..], b"grp");
                let want = if i % 5 < 3 { vec![9u8; 64] } else { body(i) };
                assert_eq!(got, &want[..], "datagram {i}");
            }
        }
        assert_eq!(sent, 300);
        sender.uses_gso()
    }

    #[test]
    fn batches_of_mixed_sizes_arrive_with_gso_and_with_the_sendmmsg_fallback() {
        // This machine's kernel has GSO; the fallback is forced to check it too.
        assert!(batch_sender_delivers_everything(batch::Sender::new));
        assert!(!batch_sender_delivers_everything(
            batch::Sender::without_gso
        ));
    }

    #[test]
    fn recvmmsg_takes_many_datagrams_of_any_size_in_one_call() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        let sizes = [5usize, 0, 300, 8192, 9000, 1, 64, 64, 64, 7000];
        let mut want = Vec::new();
        for (i, n) in sizes.iter().enumerate() {
            let d = vec![i as u8; *n];
            tx.send(&d).unwrap();
            want.push(d);
        }
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        while got.len() < want.len() {
            let n = batch::recv_many(&rx, &mut buf, true, &mut got).unwrap();
            assert!(n > 0);
        }
        // All ten in one call on loopback, where they are queued before the receive.
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            if w.len() > MAX_DATAGRAM {
                // Oversize: cut at one past the limit, so the decoder refuses it.
                assert_eq!(g.len(), MAX_DATAGRAM + 1, "datagram {i}");
                assert!(g.iter().all(|b| *b == i as u8));
            } else {
                assert_eq!(&g[..], &w[..], "datagram {i}");
            }
        }
        rx.set_nonblocking(true).unwrap();
        let err = batch::recv_many(&rx, &mut buf, false, &mut got).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    }
}
