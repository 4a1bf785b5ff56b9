//! The `Driver` trait, the link from a driver to its socket, and the registry by URI scheme.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use zmtp::PeerInfo;

use crate::endpoint::EndpointError;
use crate::io_thread::IoHandle;
use crate::monitor::MonitorEvent;
use crate::options::Options;
use crate::pipe::{PipeEnd, Queue};

/// A transport. A driver owns one kind of transport at one edge and hands whole messages to a
/// socket at the other, through pipes it attaches with [`SocketLink::post`]. Drivers are
/// registered by scheme on a context at run time, so adding one changes nothing in the core.
///
/// Byte-stream transports (tcp, ipc) implement [`crate::stream::StreamDriver`] instead and get
/// ZMTP, reconnection and heartbeats from [`crate::stream::Stream`], which implements this trait.
pub trait Driver: Send + Sync + 'static {
    /// The URI scheme, e.g. `"tcp"`.
    fn scheme(&self) -> &str;
    /// Starts accepting peers at `address` (the part after `scheme://`).
    fn bind(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError>;
    /// Starts connecting to `address`; peers are attached as they come.
    fn connect(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError>;
    /// What the transport can carry at `address` (the part after `scheme://`). The socket
    /// checks it against its pattern before [`Driver::bind`] or [`Driver::connect`] and refuses
    /// what cannot work with [`DriverError::NotSupported`]. The default is a ZMTP byte stream's:
    /// reliable, ordered, both ways, one peer per connection.
    fn capabilities(&self, address: &str) -> Capabilities {
        let _ = address;
        Capabilities::STREAM
    }
    /// Socket options this driver takes by name, beyond libzmq's (e.g. `TLS_CERT_CHAIN`): a
    /// socket of a context where the driver is registered accepts them in
    /// `set_option_by_name`, and the driver reads them with
    /// [`crate::options::Options::transport_option`].
    fn option_names(&self) -> &[&'static str] {
        &[]
    }
}

/// What a transport can carry, declared by its driver ([`Driver::capabilities`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Messages between live peers are never lost.
    pub reliable: bool,
    /// Messages from one peer arrive in the order sent.
    pub ordered: bool,
    /// Messages go both ways. When false, the connecting side only sends and the binding side
    /// only receives (udp).
    pub bidirectional: bool,
    /// One endpoint reaches a group of receivers that look like one peer (a multicast group).
    pub multicast: bool,
    /// The largest message (all frames together), if the transport has a limit.
    pub max_message: Option<usize>,
    /// The core runs ZMTP over it (greeting, security mechanism, framing): true for stream
    /// drivers, false for message drivers with their own wire format.
    pub zmtp: bool,
    /// The transport authenticates and encrypts by itself (TLS), whatever the ZMTP mechanism.
    pub own_security: bool,
}

impl Capabilities {
    /// A ZMTP byte stream (tcp, ipc, and any [`crate::stream::StreamDriver`]).
    pub const STREAM: Capabilities = Capabilities {
        reliable: true,
        ordered: true,
        bidirectional: true,
        multicast: false,
        max_message: None,
        zmtp: true,
        own_security: false,
    };

    /// A message transport with its own wire format, reliable and ordered, both ways; the
    /// setters below adjust what differs.
    pub const MESSAGE: Capabilities = Capabilities {
        zmtp: false,
        ..Capabilities::STREAM
    };

    /// Sets [`Capabilities::reliable`].
    pub const fn with_reliable(mut self, on: bool) -> Capabilities {
        self.reliable = on;
        self
    }

    /// Sets [`Capabilities::ordered`].
    pub const fn with_ordered(mut self, on: bool) -> Capabilities {
        self.ordered = on;
        self
    }

    /// Sets [`Capabilities::bidirectional`].
    pub const fn with_bidirectional(mut self, on: bool) -> Capabilities {
        self.bidirectional = on;
        self
    }

    /// Sets [`Capabilities::multicast`].
    pub const fn with_multicast(mut self, on: bool) -> Capabilities {
        self.multicast = on;
        self
    }

    /// Sets [`Capabilities::max_message`].
    pub const fn with_max_message(mut self, max: Option<usize>) -> Capabilities {
        self.max_message = max;
        self
    }

    /// Sets [`Capabilities::own_security`].
    pub const fn with_own_security(mut self, on: bool) -> Capabilities {
        self.own_security = on;
        self
    }
}

/// A bound or connected endpoint; closing it (or dropping it) unbinds or disconnects.
pub trait EndpointHandle: Send {
    /// The endpoint with its address resolved (a bound port `*` becomes a number).
    fn endpoint(&self) -> &str;
    /// Stops the endpoint; its connections finish their linger.
    fn close(self: Box<Self>);
}

/// Why a bind or connect failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The endpoint string is malformed.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// No driver is registered for this scheme.
    #[error("no transport is registered for {scheme}:// (known: {known})")]
    UnknownScheme {
        /// The scheme asked for.
        scheme: String,
        /// The schemes that are registered.
        known: String,
    },
    /// Another socket is bound here.
    #[error("{endpoint}: address already in use")]
    AddressInUse {
        /// The endpoint.
        endpoint: String,
    },
    /// The two socket types cannot talk (found without a handshake, e.g. over inproc).
    #[error("{endpoint}: a {theirs} socket cannot talk to a {ours} socket")]
    Incompatible {
        /// The endpoint.
        endpoint: String,
        /// Our socket type.
        ours: zmtp::SocketType,
        /// The other socket's type.
        theirs: zmtp::SocketType,
    },
    /// The transport cannot serve this socket or operation.
    #[error("{endpoint}: {reason}")]
    NotSupported {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The transport's own options are missing or wrong (e.g. no certificate for TLS).
    #[error("{endpoint}: {reason}")]
    Options {
        /// The endpoint.
        endpoint: String,
        /// What is missing or wrong.
        reason: String,
    },
    /// The operating system refused.
    #[error("{endpoint}: {source}")]
    Io {
        /// The endpoint.
        endpoint: String,
        /// The error.
        source: io::Error,
    },
}

impl DriverError {
    /// A bind that the operating system refused: [`DriverError::AddressInUse`] when the address
    /// is taken, [`DriverError::Io`] otherwise.
    pub fn bind_failed(endpoint: &str, source: io::Error) -> DriverError {
        if source.kind() == io::ErrorKind::AddrInUse {
            DriverError::AddressInUse {
                endpoint: endpoint.to_string(),
            }
        } else {
            DriverError::Io {
                endpoint: endpoint.to_string(),
                source,
            }
        }
    }
}

/// What the transport under one peer can carry, when it differs from a ZMTP stream's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCaps {
    /// The most message octets (all frames together) one message may have; larger sends fail
    /// for the caller instead of being dropped (a udp datagram holds 8191 after its group
    /// length).
    pub max_message: Option<usize>,
    /// The peer filters groups itself and cannot tell us what it joined (a DISH behind udp):
    /// a RADIO sends it every group.
    pub takes_every_group: bool,
}

/// What a driver tells its socket.
pub enum SocketCommand {
    /// A pipe to a new peer. `info` is known when the peer is already identified (an accepted
    /// connection after its handshake, an inproc peer); a connecting pipe gets it later with
    /// [`SocketCommand::Ready`].
    Attach {
        /// The peer's id, from [`SocketLink::next_peer_id`].
        peer: u64,
        /// The socket's end of the pipe.
        pipe: PipeEnd,
        /// The endpoint the peer came through.
        endpoint: String,
        /// The peer's handshake, if complete.
        info: Option<PeerInfo>,
        /// ZMQ_CONNECT_ROUTING_ID given at connect time.
        assigned_id: Option<Bytes>,
        /// What the transport under this peer can carry.
        caps: PeerCaps,
    },
    /// A peer completed a handshake (again). `fresh` replaces the socket's outbound queue: the
    /// driver made a new one and dropped what the old one held (subscribers only).
    Ready {
        /// The peer's id.
        peer: u64,
        /// What it announced.
        info: PeerInfo,
        /// The new outbound queue, if the old one was dropped.
        fresh: Option<Arc<Queue>>,
    },
}

impl fmt::Debug for SocketCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketCommand::Attach { peer, endpoint, .. } => {
                write!(f, "Attach {{ peer: {peer}, endpoint: {endpoint} }}")
            }
            SocketCommand::Ready { peer, .. } => write!(f, "Ready {{ peer: {peer} }}"),
        }
    }
}

/// The socket side of a link: implemented by the socket, called from driver threads.
pub trait SocketSink: Send + Sync {
    /// Delivers a command; the socket acts on it at its next call. A closed socket drops it
    /// (and with it any pipe end, which tells the driver).
    fn post(&self, cmd: SocketCommand);
    /// Reports a monitor event.
    fn monitor(&self, event: MonitorEvent);
    /// A fresh peer id, never reused by this socket.
    fn next_peer_id(&self) -> u64;
}

/// What a driver gets from the socket it serves: its options, a way to reach it, and the I/O
/// thread it runs on.
#[derive(Clone)]
pub struct SocketLink {
    options: Arc<Options>,
    sink: Arc<dyn SocketSink>,
    io: IoHandle,
}

impl fmt::Debug for SocketLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketLink")
            .field("socket_type", &self.options.socket_type)
            .finish()
    }
}

impl SocketLink {
    /// Links a socket with `options` (a snapshot) to drivers running on `io`.
    pub fn new(options: Arc<Options>, sink: Arc<dyn SocketSink>, io: IoHandle) -> SocketLink {
        SocketLink { options, sink, io }
    }

    /// The socket's options when the endpoint was bound or connected.
    pub fn options(&self) -> &Arc<Options> {
        &self.options
    }

    /// The I/O thread this socket's connections run on.
    pub fn io(&self) -> &IoHandle {
        &self.io
    }

    /// Sends a command to the socket.
    pub fn post(&self, cmd: SocketCommand) {
        self.sink.post(cmd);
    }

    /// Reports a monitor event.
    pub fn monitor(&self, kind: crate::monitor::EventKind, endpoint: &str) {
        self.sink.monitor(MonitorEvent {
            kind,
            endpoint: endpoint.to_string(),
        });
    }

    /// A fresh peer id for this socket.
    pub fn next_peer_id(&self) -> u64 {
        self.sink.next_peer_id()
    }

    /// Attaches a peer that needs no handshake (the usual start of a message driver's bind or
    /// connect): makes a pipe with the socket's high-water marks, gives the socket its end
    /// with the peer's socket type and `caps`, and returns the driver's end. The driver then
    /// sends what arrives from the network into that end, takes what the socket queued out
    /// of it, and learns through [`crate::pipe::PipeEnd::set_waker`] when there is news or
    /// the socket let go.
    pub fn attach_peer(
        &self,
        endpoint: &str,
        peer_type: zmtp::SocketType,
        caps: PeerCaps,
    ) -> PipeEnd {
        let options = &self.options;
        let (socket_end, driver_end) =
            crate::pipe::pipe(options.outbound_capacity(), options.inbound_capacity());
        self.post(SocketCommand::Attach {
            peer: self.next_peer_id(),
            pipe: socket_end,
            endpoint: endpoint.to_string(),
            info: Some(PeerInfo {
                socket_type: peer_type,
                identity: None,
                metadata: zmtp::Metadata::new(),
                version: zmtp::Version::V3_1,
                user_id: None,
                auth_metadata: zmtp::Metadata::new(),
            }),
            assigned_id: None,
            caps,
        });
        driver_end
    }

    /// What a peer that reaches this socket without a handshake (inproc) learns of it.
    pub fn peer_info(&self) -> PeerInfo {
        let o = &self.options;
        PeerInfo {
            socket_type: o.socket_type,
            identity: o
                .socket_type
                .sends_identity()
                .then(|| o.routing_id.clone().unwrap_or_default()),
            metadata: o.metadata.clone(),
            version: zmtp::Version::V3_1,
            user_id: None,
            auth_metadata: zmtp::Metadata::new(),
        }
    }
}

/// Drivers by scheme. Cloning shares the registry.
#[derive(Clone, Default)]
pub struct Registry {
    drivers: Arc<RwLock<HashMap<String, Arc<dyn Driver>>>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.drivers.read().keys()).finish()
    }
}

/// A registry reference that does not keep it alive (for drivers that reach other drivers
/// through it, such as `beacon://`, which the registry itself holds).
#[derive(Clone, Default)]
pub struct WeakRegistry {
    drivers: std::sync::Weak<RwLock<HashMap<String, Arc<dyn Driver>>>>,
}

impl WeakRegistry {
    /// The registry, while its context lives.
    pub fn upgrade(&self) -> Option<Registry> {
        self.drivers.upgrade().map(|drivers| Registry { drivers })
    }
}

impl Registry {
    /// A reference that does not keep the registry alive.
    pub fn downgrade(&self) -> WeakRegistry {
        WeakRegistry {
            drivers: Arc::downgrade(&self.drivers),
        }
    }

    /// Whether a registered driver takes the socket option `name` (see
    /// [`Driver::option_names`]).
    pub fn knows_option(&self, name: &str) -> bool {
        self.drivers
            .read()
            .values()
            .any(|d| d.option_names().contains(&name))
    }

    /// Registers a driver under its scheme; returns the one it replaced.
    pub fn register(&self, driver: Arc<dyn Driver>) -> Option<Arc<dyn Driver>> {
        self.drivers
            .write()
            .insert(driver.scheme().to_string(), driver)
    }

    /// The driver for `scheme`.
    pub fn get(&self, scheme: &str) -> Result<Arc<dyn Driver>, DriverError> {
        let drivers = self.drivers.read();
        drivers.get(scheme).cloned().ok_or_else(|| {
            let mut known: Vec<&str> = drivers.keys().map(String::as_str).collect();
            known.sort_unstable();
            DriverError::UnknownScheme {
                scheme: scheme.to_string(),
                known: known.join(", "),
            }
        })
    }

    /// Splits `scheme://address` and finds the driver.
    pub fn resolve<'a>(
        &self,
        endpoint: &'a str,
    ) -> Result<(Arc<dyn Driver>, &'a str), DriverError> {
        let (scheme, address) = endpoint
            .split_once("://")
            .ok_or_else(|| EndpointError::NoScheme(endpoint.to_string()))?;
        Ok((self.get(scheme)?, address))
    }
}
