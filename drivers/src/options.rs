//! The socket options a driver needs, with libzmq's defaults; taken at bind or connect time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use zmtp::{Mechanism, Metadata, SocketType};

use crate::pipe::Capacity;
use crate::zap::Authenticator;

/// Options as a driver sees them. Most are copied when an endpoint is bound or connected, as in
/// libzmq; LINGER is read when the socket closes, so it is shared.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The socket type announced in READY.
    pub socket_type: SocketType,
    /// ZMQ_SNDHWM (0 = no limit). Default 1000.
    pub sndhwm: usize,
    /// ZMQ_RCVHWM (0 = no limit). Default 1000.
    pub rcvhwm: usize,
    /// ZMQ_ROUTING_ID, sent as Identity by REQ, DEALER and ROUTER.
    pub routing_id: Option<Bytes>,
    /// ZMQ_CONNECT_ROUTING_ID, for the next connect only: the id a ROUTER gives that peer.
    pub connect_routing_id: Option<Bytes>,
    /// ZMQ_RECONNECT_IVL; `None` (-1) disables reconnection. Default 100 ms.
    pub reconnect_ivl: Option<Duration>,
    /// ZMQ_RECONNECT_IVL_MAX; zero keeps the interval constant. Default 0.
    pub reconnect_ivl_max: Duration,
    /// ZMQ_HANDSHAKE_IVL; zero disables the limit. Default 30 s.
    pub handshake_ivl: Duration,
    /// ZMQ_HEARTBEAT_IVL; zero disables heartbeats.
    pub heartbeat_ivl: Duration,
    /// ZMQ_HEARTBEAT_TIMEOUT; `None` uses the interval.
    pub heartbeat_timeout: Option<Duration>,
    /// ZMQ_HEARTBEAT_TTL.
    pub heartbeat_ttl: Duration,
    /// ZMQ_MAXMSGSIZE; `None` (-1) for no limit.
    pub max_msg_size: Option<u64>,
    /// ZMQ_IMMEDIATE: queue messages only to completed connections.
    pub immediate: bool,
    /// ZMQ_CONFLATE: keep only the newest message in each queue.
    pub conflate: bool,
    /// Extra READY properties (ZMQ_METADATA).
    pub metadata: Metadata,
    /// ZMQ_LINGER in milliseconds (-1 = forever), shared with the socket.
    pub linger: Arc<AtomicI64>,
    /// ZMQ_MULTICAST_HOPS: time-to-live of multicast datagrams (udp). Default 1.
    pub multicast_hops: u32,
    /// ZMQ_MULTICAST_LOOP: multicast datagrams also reach this host (udp). Default on.
    pub multicast_loop: bool,
    /// The security mechanism (NULL, PLAIN or CURVE, client or server).
    pub mechanism: Mechanism,
    /// ZMQ_ZAP_DOMAIN: sent in ZAP requests; with NULL, a non-empty domain turns ZAP on.
    pub zap_domain: String,
    /// ZMQ_ZAP_ENFORCE_DOMAIN: refuse clients when no ZAP handler answers.
    pub zap_enforce_domain: bool,
    /// Who answers ZAP requests for this socket's server connections (the context's ZAP
    /// service); `None` applies libzmq's no-handler defaults.
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// Options of registered drivers, by name (e.g. `TLS_CERT_CHAIN`).
    pub transport: TransportOptions,
}

/// Options that drivers declare (`Driver::option_names`), by name. Debug output shows the
/// names only: values may be secrets such as private keys.
#[derive(Clone, Default)]
pub struct TransportOptions(std::collections::BTreeMap<String, Bytes>);

impl TransportOptions {
    /// Sets `name` to `value`.
    pub fn set(&mut self, name: &str, value: Bytes) {
        self.0.insert(name.to_string(), value);
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.0.get(name)
    }
}

impl std::fmt::Debug for TransportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Options {
    /// libzmq's defaults for a socket of this type.
    pub fn new(socket_type: SocketType) -> Options {
        Options {
            socket_type,
            sndhwm: 1000,
            rcvhwm: 1000,
            routing_id: None,
            connect_routing_id: None,
            reconnect_ivl: Some(Duration::from_millis(100)),
            reconnect_ivl_max: Duration::ZERO,
            handshake_ivl: Duration::from_secs(30),
            heartbeat_ivl: Duration::ZERO,
            heartbeat_timeout: None,
            heartbeat_ttl: Duration::ZERO,
            max_msg_size: None,
            immediate: false,
            conflate: false,
            metadata: Metadata::new(),
            linger: Arc::new(AtomicI64::new(-1)),
            multicast_hops: 1,
            multicast_loop: true,
            mechanism: Mechanism::Null,
            zap_domain: String::new(),
            zap_enforce_domain: false,
            authenticator: None,
            transport: TransportOptions::default(),
        }
    }

    /// A transport option a driver declared, if the socket set it.
    pub fn transport_option(&self, name: &str) -> Option<&Bytes> {
        self.transport.get(name)
    }

    /// Capacity of the queue from the socket to a peer.
    pub fn outbound_capacity(&self) -> Capacity {
        if self.conflate {
            Capacity::Conflate
        } else {
            Capacity::from_hwm(self.sndhwm)
        }
    }

    /// Capacity of the queue from a peer to the socket.
    pub fn inbound_capacity(&self) -> Capacity {
        if self.conflate {
            Capacity::Conflate
        } else {
            Capacity::from_hwm(self.rcvhwm)
        }
    }

    /// LINGER now: `None` means wait forever.
    pub fn linger(&self) -> Option<Duration> {
        let ms = self.linger.load(Ordering::Relaxed);
        u64::try_from(ms).ok().map(Duration::from_millis)
    }

    /// The ZMTP configuration for one connection.
    pub fn zmtp_config(&self, role: zmtp::Role) -> zmtp::Config {
        let mut c = zmtp::Config::new(self.socket_type, role);
        c.routing_id = self.routing_id.clone();
        c.metadata = self.metadata.clone();
        c.max_msg_size = self.max_msg_size;
        c.handshake_timeout = (!self.handshake_ivl.is_zero()).then_some(self.handshake_ivl);
        c.heartbeat_interval = (!self.heartbeat_ivl.is_zero()).then_some(self.heartbeat_ivl);
        c.heartbeat_timeout = self.heartbeat_timeout;
        c.heartbeat_ttl = (!self.heartbeat_ttl.is_zero()).then_some(self.heartbeat_ttl);
        c.mechanism = self.mechanism.clone();
        c.authenticate = self.uses_zap();
        c
    }

    /// Whether server connections ask ZAP about each client: a PLAIN or CURVE server always
    /// does (as libzmq), NULL only with a ZAP domain.
    pub fn uses_zap(&self) -> bool {
        self.mechanism.as_server()
            || (self.mechanism == Mechanism::Null && !self.zap_domain.is_empty())
    }

    /// Whether received messages carry their connection's properties (`Message::property`):
    /// on secured or ZAP-authenticated connections, where `User-Id` and the handler's
    /// metadata matter. Plain connections skip it to keep the per-message path lean.
    pub fn attaches_properties(&self) -> bool {
        self.mechanism != Mechanism::Null || self.uses_zap()
    }

    /// Whether this type sends subscriptions (its pipe is refreshed on each reconnection so
    /// stale ones are not sent twice).
    pub fn is_subscriber(&self) -> bool {
        matches!(
            self.socket_type,
            SocketType::Sub | SocketType::XSub | SocketType::Dish
        )
    }
}
