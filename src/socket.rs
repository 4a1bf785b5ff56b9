//! `Socket`: a pattern over a set of peer pipes that drivers attach, with blocking send and receive.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use crossbeam_queue::SegQueue;
use parking_lot::Mutex;
use zmtp::{Message, PeerInfo, SocketType};
use zvtran_drivers::driver::{EndpointHandle, PeerCaps, SocketCommand, SocketLink, SocketSink};
use zvtran_drivers::monitor::MonitorEvent;
use zvtran_drivers::options::Options;
use zvtran_drivers::pipe::{PipeEnd, PipeEvent, Queue, Wake};
use zvtran_patterns::{self as patterns, Pattern, PeerId, PeerMeta, PeerPipes};

use crate::context::ContextInner;
use crate::error::{Error, RecvError, SendError};
use crate::options::SocketOption;
use crate::signal::Signal;

/// What drivers and pipes leave for the socket; it acts on it at its next call.
enum Mail {
    /// Boxed: commands are rare and larger than pipe events.
    Cmd(Box<SocketCommand>),
    Pipe(u64, PipeEvent),
}

/// The part of a socket other threads reach.
pub(crate) struct Shared {
    mailbox: SegQueue<Mail>,
    pub(crate) signal: Signal,
    monitor: Mutex<Option<Sender<MonitorEvent>>>,
    next_peer: AtomicU64,
    closed: AtomicBool,
}

impl SocketSink for Shared {
    fn post(&self, cmd: SocketCommand) {
        if self.closed.load(Ordering::Acquire) {
            // Dropping the command drops any pipe end in it, which tells the driver.
            return;
        }
        self.mailbox.push(Mail::Cmd(Box::new(cmd)));
        self.signal.notify();
    }

    fn monitor(&self, event: MonitorEvent) {
        if let Some(tx) = &*self.monitor.lock() {
            let _ = tx.send(event);
        }
    }

    fn next_peer_id(&self) -> u64 {
        self.next_peer.fetch_add(1, Ordering::Relaxed)
    }
}

impl Wake for Shared {
    fn wake(&self, token: u64, event: PipeEvent) {
        self.mailbox.push(Mail::Pipe(token, event));
        self.signal.notify();
    }
}

/// Peer ids are unique sequential numbers: they need no hashing on the per-message path.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; this fold keeps other input correct, if slower.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type PeerMap = HashMap<u64, Peer, std::hash::BuildHasherDefault<IdHasher>>;

struct Peer {
    pipe: PipeEnd,
    meta: PeerMeta,
    /// The endpoint the peer came through, for `disconnect`/`unbind`.
    endpoint: String,
    /// The most message octets its transport carries (udp), if limited.
    max_message: Option<usize>,
}

/// The peer table as strategies see it.
struct Pipes<'a>(&'a PeerMap);

impl PeerPipes for Pipes<'_> {
    fn try_send(&mut self, peer: PeerId, msg: Message) -> Result<(), Message> {
        match self.0.get(&peer.0) {
            Some(p) => p.pipe.try_send(msg),
            None => Err(msg),
        }
    }

    fn try_recv(&mut self, peer: PeerId) -> Option<Message> {
        self.0.get(&peer.0)?.pipe.try_recv()
    }

    fn has_message(&self, peer: PeerId) -> bool {
        self.0.get(&peer.0).is_some_and(|p| p.pipe.has_message())
    }

    fn has_room(&self, peer: PeerId) -> bool {
        self.0.get(&peer.0).is_some_and(|p| p.pipe.has_room())
    }
}

struct Endpoint {
    /// As the user gave it.
    given: String,
    handle: Box<dyn EndpointHandle>,
}

/// A ZeroMQ socket. Its type decides how messages are routed (see [`zvtran_patterns`]); its
/// endpoints (bind, connect) decide where peers come from. A socket is used from one thread at
/// a time (it is `Send`, not `Sync`), like a libzmq socket.
pub struct Socket {
    ctx: Arc<ContextInner>,
    shared: Arc<Shared>,
    pattern: Pattern,
    peers: PeerMap,
    /// Peers whose other end closed: they leave once their last messages are read.
    closing: Vec<u64>,
    options: Options,
    sndtimeo: Option<Duration>,
    rcvtimeo: Option<Duration>,
    survey_time: Duration,
    /// When the open survey (SURVEYOR) closes.
    survey_deadline: Option<Instant>,
    endpoints: Vec<Endpoint>,
    last_endpoint: String,
    io: zvtran_drivers::io_thread::IoHandle,
    security: Security,
    /// Peers whose transport limits the message size (udp); sends check them first.
    limited_peers: usize,
}

/// Which side of which mechanism the security options chose, as libzmq tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum SecurityKind {
    #[default]
    Null,
    PlainClient,
    PlainServer,
    CurveClient,
    CurveServer,
}

/// The security options; the mechanism is built from them at each bind or connect.
#[derive(Debug, Clone, Default)]
struct Security {
    kind: SecurityKind,
    username: Bytes,
    password: Bytes,
    public_key: Option<zmtp::PublicKey>,
    secret_key: Option<zmtp::SecretKey>,
    server_key: Option<zmtp::PublicKey>,
}

impl Security {
    /// The mechanism for the next endpoint, or why the options do not make one.
    fn mechanism(&self) -> Result<zmtp::Mechanism, Error> {
        use zmtp::{Curve, KeyPair, Mechanism, Plain};
        let keys = || -> Result<Option<KeyPair>, Error> {
            match (&self.secret_key, &self.public_key) {
                (None, None) => Ok(None),
                (None, Some(_)) => Err(Error::Security(
                    "CURVE_PUBLICKEY is set without CURVE_SECRETKEY".into(),
                )),
                (Some(secret), public) => {
                    let pair = KeyPair::from_secret(secret.clone());
                    match public {
                        Some(p) if *p != pair.public => Err(Error::Security(format!(
                            "CURVE_PUBLICKEY {p} is not the public key of CURVE_SECRETKEY (that is {})",
                            pair.public
                        ))),
                        _ => Ok(Some(pair)),
                    }
                }
            }
        };
        Ok(match self.kind {
            SecurityKind::Null => Mechanism::Null,
            SecurityKind::PlainServer => Mechanism::Plain(Plain::Server),
            SecurityKind::PlainClient => Mechanism::Plain(Plain::Client {
                username: self.username.clone(),
                password: self.password.clone(),
            }),
            SecurityKind::CurveServer => Mechanism::Curve(Curve::Server {
                keys: keys()?.ok_or_else(|| {
                    Error::Security("a CURVE server needs CURVE_SECRETKEY".into())
                })?,
            }),
            SecurityKind::CurveClient => Mechanism::Curve(Curve::Client {
                // A client without long-term keys gets a fresh pair: it can reach a server
                // that accepts any client, as when libzmq's ZAP handler allows any key.
                keys: keys()?.unwrap_or_else(KeyPair::generate),
                server_key: self.server_key.ok_or_else(|| {
                    Error::Security("a CURVE client needs CURVE_SERVERKEY".into())
                })?,
            }),
        })
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("type", &self.pattern.socket_type())
            .field("peers", &self.peers.len())
            .finish()
    }
}

impl Socket {
    pub(crate) fn new(ctx: Arc<ContextInner>, pattern: Pattern) -> Socket {
        let socket_type = pattern.socket_type();
        let mut options = Options::new(socket_type);
        options.conflate = pattern.conflate();
        let io = ctx.next_io();
        Socket {
            shared: Arc::new(Shared {
                mailbox: SegQueue::new(),
                signal: Signal::default(),
                monitor: Mutex::new(None),
                next_peer: AtomicU64::new(1),
                closed: AtomicBool::new(false),
            }),
            ctx,
            pattern,
            peers: PeerMap::default(),
            closing: Vec::new(),
            options,
            sndtimeo: None,
            rcvtimeo: None,
            survey_time: Duration::from_secs(1),
            survey_deadline: None,
            endpoints: Vec::new(),
            last_endpoint: String::new(),
            io,
            security: Security::default(),
            limited_peers: 0,
        }
    }

    /// The socket type.
    pub fn socket_type(&self) -> SocketType {
        self.pattern.socket_type()
    }

    // ---- endpoints ----

    fn link(&self) -> Result<SocketLink, Error> {
        let mut options = self.options.clone();
        options.mechanism = self.security.mechanism()?;
        options.authenticator = self.ctx.authenticator(&options);
        Ok(SocketLink::new(
            Arc::new(options),
            self.shared.clone(),
            self.io.clone(),
        ))
    }

    /// Accepts peers at `endpoint` (`tcp://127.0.0.1:5555`, `tcp://*:*`, `ipc:///tmp/s`,
    /// `inproc://name`). Returns the endpoint with the address resolved (also LAST_ENDPOINT).
    pub fn bind(&mut self, endpoint: &str) -> Result<String, Error> {
        let (driver, address) = self.ctx.registry.resolve(endpoint)?;
        self.check_capabilities(driver.as_ref(), endpoint, address, true)?;
        let handle = driver.bind(address, &self.link()?)?;
        Ok(self.add_endpoint(endpoint, handle))
    }

    /// Connects to `endpoint`, reconnecting whenever the connection drops. With IMMEDIATE off
    /// (the default) messages queue for the peer before it is there.
    pub fn connect(&mut self, endpoint: &str) -> Result<String, Error> {
        let (driver, address) = self.ctx.registry.resolve(endpoint)?;
        self.check_capabilities(driver.as_ref(), endpoint, address, false)?;
        let handle = driver.connect(address, &self.link()?)?;
        // CONNECT_ROUTING_ID applies to one connect only, as in libzmq.
        self.options.connect_routing_id = None;
        Ok(self.add_endpoint(endpoint, handle))
    }

    /// Refuses a transport that cannot carry this socket's pattern (see
    /// [`zvtran_drivers::driver::Capabilities`]).
    fn check_capabilities(
        &self,
        driver: &dyn zvtran_drivers::driver::Driver,
        endpoint: &str,
        address: &str,
        bind: bool,
    ) -> Result<(), Error> {
        let secured = !matches!(self.security.mechanism()?, zmtp::Mechanism::Null);
        let kind = format!("a {} socket", self.pattern.socket_type());
        let needs = self.pattern.needs();
        match crate::capabilities::refusal(
            &driver.capabilities(address),
            &needs,
            bind,
            secured,
            &kind,
        ) {
            None => Ok(()),
            Some(reason) => Err(zvtran_drivers::driver::DriverError::NotSupported {
                endpoint: endpoint.to_string(),
                reason,
            }
            .into()),
        }
    }

    fn add_endpoint(&mut self, given: &str, handle: Box<dyn EndpointHandle>) -> String {
        let resolved = handle.endpoint().to_string();
        self.last_endpoint = resolved.clone();
        self.endpoints.push(Endpoint {
            given: given.to_string(),
            handle,
        });
        self.process_mailbox();
        resolved
    }

    /// Stops accepting at `endpoint` (as given, or as resolved) and closes its connections.
    pub fn unbind(&mut self, endpoint: &str) -> Result<(), Error> {
        self.remove_endpoint(endpoint)
    }

    /// Stops connecting to `endpoint` and closes the connection.
    pub fn disconnect(&mut self, endpoint: &str) -> Result<(), Error> {
        self.remove_endpoint(endpoint)
    }

    fn remove_endpoint(&mut self, endpoint: &str) -> Result<(), Error> {
        let at = self
            .endpoints
            .iter()
            .position(|e| e.given == endpoint || e.handle.endpoint() == endpoint)
            .ok_or_else(|| Error::NoSuchEndpoint(endpoint.to_string()))?;
        let gone = self.endpoints.remove(at);
        let resolved = gone.handle.endpoint().to_string();
        gone.handle.close();
        // Peers that came through it go at once, so nothing more is routed to them; dropping a
        // pipe tells its driver to flush what it holds within LINGER and close.
        let peers: Vec<u64> = self
            .peers
            .iter()
            .filter(|(_, p)| p.endpoint == resolved || p.endpoint == endpoint)
            .map(|(id, _)| *id)
            .collect();
        for id in peers {
            self.remove_peer(id);
        }
        self.process_mailbox();
        Ok(())
    }

    /// The endpoint of the last bind or connect, with the address resolved.
    pub fn last_endpoint(&self) -> &str {
        &self.last_endpoint
    }

    // ---- options ----

    /// Sets an option; most apply to endpoints bound or connected afterwards, as in libzmq.
    pub fn set_option(&mut self, option: SocketOption) -> Result<(), Error> {
        option.validate()?;
        let o = &mut self.options;
        match option {
            SocketOption::SndHwm(n) => o.sndhwm = n,
            SocketOption::RcvHwm(n) => o.rcvhwm = n,
            SocketOption::Linger(l) => o.linger.store(
                l.map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                Ordering::Relaxed,
            ),
            SocketOption::RoutingId(id) => o.routing_id = Some(id),
            SocketOption::ConnectRoutingId(id) => o.connect_routing_id = Some(id),
            SocketOption::ReconnectIvl(d) => o.reconnect_ivl = d,
            SocketOption::ReconnectIvlMax(d) => o.reconnect_ivl_max = d,
            SocketOption::HandshakeIvl(d) => o.handshake_ivl = d,
            SocketOption::HeartbeatIvl(d) => o.heartbeat_ivl = d,
            SocketOption::HeartbeatTimeout(d) => o.heartbeat_timeout = Some(d),
            SocketOption::HeartbeatTtl(d) => o.heartbeat_ttl = d,
            SocketOption::MaxMsgSize(n) => o.max_msg_size = n,
            SocketOption::Conflate(on) => o.conflate = on,
            SocketOption::Immediate(on) => o.immediate = on,
            SocketOption::SndTimeo(d) => self.sndtimeo = d,
            SocketOption::RcvTimeo(d) => self.rcvtimeo = d,
            SocketOption::RouterMandatory(on) => self.pattern.set_router_mandatory(on),
            SocketOption::RouterHandover(on) => self.pattern.set_router_handover(on),
            SocketOption::XpubVerbose(on) => self.pattern.set_xpub_verbose(on),
            SocketOption::Subscribe(topic) => self.subscription(&topic, true, false)?,
            SocketOption::Unsubscribe(topic) => self.subscription(&topic, false, false)?,
            SocketOption::Join(group) => self.subscription(&group, true, true)?,
            SocketOption::Leave(group) => self.subscription(&group, false, true)?,
            SocketOption::SurveyTime(d) => self.survey_time = d,
            // As libzmq: the last of these options decides the mechanism and the side.
            SocketOption::PlainServer(on) => {
                self.security.kind = if on {
                    SecurityKind::PlainServer
                } else {
                    SecurityKind::Null
                };
            }
            SocketOption::PlainUsername(name) => {
                self.security.kind = if name.is_empty() {
                    SecurityKind::Null
                } else {
                    SecurityKind::PlainClient
                };
                self.security.username = name;
            }
            SocketOption::PlainPassword(password) => {
                self.security.kind = SecurityKind::PlainClient;
                self.security.password = password.0;
            }
            SocketOption::CurveServer(on) => {
                self.security.kind = if on {
                    SecurityKind::CurveServer
                } else {
                    SecurityKind::Null
                };
            }
            SocketOption::CurvePublicKey(key) => {
                self.security.public_key = Some(key);
                if !matches!(self.security.kind, SecurityKind::CurveServer) {
                    self.security.kind = SecurityKind::CurveClient;
                }
            }
            SocketOption::CurveSecretKey(key) => {
                self.security.secret_key = Some(key);
                if !matches!(self.security.kind, SecurityKind::CurveServer) {
                    self.security.kind = SecurityKind::CurveClient;
                }
            }
            SocketOption::CurveServerKey(key) => {
                self.security.server_key = Some(key);
                self.security.kind = SecurityKind::CurveClient;
            }
            SocketOption::ZapDomain(domain) => o.zap_domain = domain,
            SocketOption::ZapEnforceDomain(on) => o.zap_enforce_domain = on,
            SocketOption::MulticastHops(h) => o.multicast_hops = h,
            SocketOption::MulticastLoop(on) => o.multicast_loop = on,
            SocketOption::Transport { name, value } => {
                if !self.ctx.registry.knows_option(&name) {
                    return Err(Error::UnknownOption(name));
                }
                o.transport.set(&name, value.0);
            }
        }
        Ok(())
    }

    /// Sets an option by libzmq name (any case, without `ZMQ_`) from raw value octets.
    pub fn set_option_by_name(&mut self, name: &str, value: &[u8]) -> Result<(), Error> {
        match SocketOption::parse(name, value) {
            // Not libzmq's: maybe one that a registered driver declares (TLS_CERT_CHAIN).
            Err(Error::UnknownOption(_)) => {
                let upper = name.trim_start_matches("ZMQ_").to_ascii_uppercase();
                if !self.ctx.registry.knows_option(&upper) {
                    return Err(Error::UnknownOption(name.to_string()));
                }
                self.set_option(SocketOption::Transport {
                    name: upper,
                    value: crate::options::Secret(Bytes::copy_from_slice(value)),
                })
            }
            other => self.set_option(other?),
        }
    }

    fn subscription(&mut self, topic: &[u8], on: bool, group: bool) -> Result<(), Error> {
        match (self.pattern.subscribes_by_call(), group) {
            (Some(false), false) | (Some(true), true) => {}
            (_, false) => {
                return Err(Error::NotSupported(
                    "SUBSCRIBE and UNSUBSCRIBE are for subscribers such as SUB (XSUB sends \\x01topic)",
                ));
            }
            (_, true) => {
                return Err(Error::NotSupported(
                    "JOIN and LEAVE are for sockets that join groups, such as DISH",
                ));
            }
        }
        self.process_mailbox();
        let mut pipes = Pipes(&self.peers);
        if on {
            self.pattern.subscribe(topic, &mut pipes);
        } else {
            self.pattern.unsubscribe(topic, &mut pipes);
        }
        Ok(())
    }

    /// Subscribes a SUB socket to messages starting with `topic` (ZMQ_SUBSCRIBE).
    pub fn subscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<(), Error> {
        self.set_option(SocketOption::Subscribe(Bytes::copy_from_slice(
            topic.as_ref(),
        )))
    }

    /// Removes one subscription of a SUB socket (ZMQ_UNSUBSCRIBE).
    pub fn unsubscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<(), Error> {
        self.set_option(SocketOption::Unsubscribe(Bytes::copy_from_slice(
            topic.as_ref(),
        )))
    }

    /// Joins a group (DISH): messages of that group are received.
    pub fn join(&mut self, group: impl AsRef<[u8]>) -> Result<(), Error> {
        self.set_option(SocketOption::Join(Bytes::copy_from_slice(group.as_ref())))
    }

    /// Leaves a group (DISH).
    pub fn leave(&mut self, group: impl AsRef<[u8]>) -> Result<(), Error> {
        self.set_option(SocketOption::Leave(Bytes::copy_from_slice(group.as_ref())))
    }

    /// Connects (like [`connect`](Self::connect)) and returns the routing id this socket knows
    /// the new peer by, for types with generated ids (PEER's `zmq_connect_peer`).
    pub fn connect_peer(&mut self, endpoint: &str) -> Result<Bytes, Error> {
        let resolved = self.connect(endpoint)?;
        let newest = self
            .peers
            .iter()
            .filter(|(_, p)| p.endpoint == resolved)
            .map(|(id, _)| *id)
            .max();
        newest
            .and_then(|id| self.pattern.routing_id(PeerId(id)).cloned())
            .ok_or(Error::NotSupported(
                "connect_peer needs a socket type with generated routing ids, such as PEER",
            ))
    }

    /// Monitor events from now on (listening, accepted, connected, handshake, disconnected...).
    pub fn monitor(&mut self) -> Receiver<MonitorEvent> {
        let (tx, rx) = crossbeam_channel::unbounded();
        *self.shared.monitor.lock() = Some(tx);
        rx
    }

    /// Number of peers attached now (connecting pipes included).
    pub fn peer_count(&mut self) -> usize {
        self.process_mailbox();
        self.peers.len()
    }

    /// Number of peers whose handshake is complete.
    pub fn ready_peer_count(&mut self) -> usize {
        self.process_mailbox();
        self.peers
            .values()
            .filter(|p| p.meta.socket_type.is_some())
            .count()
    }

    /// SUBSCRIBEs a PUB or XPUB has received so far, each counted once.
    pub fn subscribes_received(&mut self) -> u64 {
        self.process_mailbox();
        self.pattern.subscribes_received()
    }

    // ---- traffic ----

    /// Sends a message, waiting as long as SNDTIMEO allows if no peer can take it.
    pub fn send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        let deadline = self.sndtimeo.map(|t| Instant::now() + t);
        self.send_until(msg.into(), deadline)
    }

    /// Sends without waiting (ZMQ_DONTWAIT).
    pub fn try_send(&mut self, msg: impl Into<Message>) -> Result<(), SendError> {
        self.send_until(msg.into(), Some(Instant::now()))
    }

    /// Sends, waiting at most `timeout`.
    pub fn send_timeout(
        &mut self,
        msg: impl Into<Message>,
        timeout: Duration,
    ) -> Result<(), SendError> {
        self.send_until(msg.into(), Some(Instant::now() + timeout))
    }

    fn send_until(&mut self, mut msg: Message, deadline: Option<Instant>) -> Result<(), SendError> {
        if msg.is_empty() {
            return Err(SendError::EmptyMessage);
        }
        if self.limited_peers > 0 {
            let len = msg.byte_len();
            if let Some(max) = self.peers.values().filter_map(|p| p.max_message).min() {
                if len > max {
                    return Err(SendError::TooLarge { msg, max });
                }
            }
        }
        loop {
            let seen = self.shared.signal.seq();
            self.process_mailbox();
            let mut pipes = Pipes(&self.peers);
            match self.pattern.send(msg, &mut pipes) {
                Ok(()) => {
                    if self.pattern.is_surveyor() {
                        self.survey_deadline = Some(Instant::now() + self.survey_time);
                    }
                    return Ok(());
                }
                Err(patterns::SendError::WouldBlock(back)) => {
                    msg = back;
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(SendError::WouldBlock(msg));
                    }
                    if !self.shared.signal.wait(seen, deadline) {
                        // One more try: the wait may have raced with a wake.
                        self.process_mailbox();
                        let mut pipes = Pipes(&self.peers);
                        return match self.pattern.send(msg, &mut pipes) {
                            Ok(()) => Ok(()),
                            Err(e) => Err(convert_send(e)),
                        };
                    }
                }
                Err(e) => return Err(convert_send(e)),
            }
        }
    }

    /// Receives a message, waiting as long as RCVTIMEO allows.
    pub fn recv(&mut self) -> Result<Message, RecvError> {
        let deadline = self.rcvtimeo.map(|t| Instant::now() + t);
        self.recv_until(deadline)
    }

    /// Receives without waiting (ZMQ_DONTWAIT).
    pub fn try_recv(&mut self) -> Result<Message, RecvError> {
        if self.pattern.is_surveyor() {
            return self.recv_until(Some(Instant::now()));
        }
        // No deadline to compute: one look, no clock read (it costs on a busy receive path).
        self.process_mailbox();
        let mut pipes = Pipes(&self.peers);
        let result = self.pattern.recv(&mut pipes).map_err(convert_recv);
        self.reap_closing();
        result
    }

    /// Receives, waiting at most `timeout`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Message, RecvError> {
        self.recv_until(Some(Instant::now() + timeout))
    }

    fn recv_until(&mut self, deadline: Option<Instant>) -> Result<Message, RecvError> {
        if !self.pattern.is_surveyor() {
            return self.recv_loop(deadline);
        }
        // A SURVEYOR receives replies only while its survey is open; the first receive that
        // meets the deadline closes it.
        let end = self.survey_deadline.ok_or(RecvError::WrongState)?;
        let result = if Instant::now() >= end {
            Err(RecvError::WouldBlock)
        } else {
            self.recv_loop(Some(deadline.map_or(end, |d| d.min(end))))
        };
        if result.is_err() && Instant::now() >= end {
            self.pattern.end_survey();
            self.survey_deadline = None;
        }
        result
    }

    fn recv_loop(&mut self, deadline: Option<Instant>) -> Result<Message, RecvError> {
        loop {
            let seen = self.shared.signal.seq();
            self.process_mailbox();
            let mut pipes = Pipes(&self.peers);
            match self.pattern.recv(&mut pipes) {
                Ok(msg) => {
                    self.reap_closing();
                    return Ok(msg);
                }
                Err(patterns::RecvError::WouldBlock) => {
                    self.reap_closing();
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(RecvError::WouldBlock);
                    }
                    if !self.shared.signal.wait(seen, deadline) {
                        self.process_mailbox();
                        let mut pipes = Pipes(&self.peers);
                        return self.pattern.recv(&mut pipes).map_err(convert_recv);
                    }
                }
                Err(e) => return Err(convert_recv(e)),
            }
        }
    }

    /// Whether `recv` would return a message now (POLLIN).
    pub fn can_recv(&mut self) -> bool {
        self.process_mailbox();
        self.pattern.can_recv(&ArmingPipes(&self.peers))
    }

    /// Whether `send` would not block now (POLLOUT).
    pub fn can_send(&mut self) -> bool {
        self.process_mailbox();
        self.pattern.can_send(&ArmingPipes(&self.peers))
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    // ---- mailbox ----

    /// Acts on what drivers and pipes left: new peers, handshakes, pipe activity.
    pub(crate) fn process_mailbox(&mut self) {
        while let Some(mail) = self.shared.mailbox.pop() {
            match mail {
                Mail::Cmd(cmd) => match *cmd {
                    SocketCommand::Attach {
                        peer,
                        pipe,
                        endpoint,
                        info,
                        assigned_id,
                        caps,
                    } => self.attach(peer, pipe, endpoint, info, assigned_id, caps),
                    SocketCommand::Ready { peer, info, fresh } => self.ready(peer, info, fresh),
                },
                Mail::Pipe(peer, PipeEvent::Readable) => {
                    if self.peers.contains_key(&peer) {
                        let mut pipes = Pipes(&self.peers);
                        self.pattern.peer_readable(PeerId(peer), &mut pipes);
                    }
                }
                Mail::Pipe(peer, PipeEvent::Writable) => self.pattern.peer_writable(PeerId(peer)),
                Mail::Pipe(peer, PipeEvent::Closed) => {
                    if self.peers.contains_key(&peer) && !self.closing.contains(&peer) {
                        // Route nothing more to it; read what it sent, then let it go.
                        self.pattern.peer_closing(PeerId(peer));
                        self.closing.push(peer);
                    }
                }
            }
        }
        self.reap_closing();
    }

    fn attach(
        &mut self,
        peer: u64,
        pipe: PipeEnd,
        endpoint: String,
        info: Option<PeerInfo>,
        assigned_id: Option<Bytes>,
        caps: PeerCaps,
    ) {
        pipe.set_waker(self.shared.clone(), peer);
        if self.pattern.peer_attached(PeerId(peer)).is_err() {
            // Refused (a PAIR's second peer): dropping the pipe closes it.
            return;
        }
        if caps.takes_every_group {
            self.pattern.peer_takes_everything(PeerId(peer));
        }
        if caps.max_message.is_some() {
            self.limited_peers += 1;
        }
        self.peers.insert(
            peer,
            Peer {
                pipe,
                meta: PeerMeta {
                    assigned_id,
                    ..PeerMeta::unknown()
                },
                endpoint,
                max_message: caps.max_message,
            },
        );
        let mut pipes = Pipes(&self.peers);
        self.pattern.replay_subscriptions(PeerId(peer), &mut pipes);
        if let Some(info) = info {
            self.ready(peer, info, None);
        }
        // Messages may have arrived before the waker was set.
        if self.peers.contains_key(&peer) {
            let mut pipes = Pipes(&self.peers);
            self.pattern.peer_readable(PeerId(peer), &mut pipes);
        }
    }

    fn ready(&mut self, peer: u64, info: PeerInfo, fresh: Option<Arc<Queue>>) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        let refreshed = fresh.is_some();
        if let Some(queue) = fresh {
            p.pipe.accept_hiccup(queue);
        }
        p.meta.socket_type = Some(info.socket_type);
        p.meta.routing_id = info.identity.filter(|id| !id.is_empty());
        let meta = p.meta.clone();
        let mut pipes = Pipes(&self.peers);
        if refreshed {
            self.pattern.replay_subscriptions(PeerId(peer), &mut pipes);
        }
        match self.pattern.peer_ready(PeerId(peer), &meta, &mut pipes) {
            Ok(None) => {}
            Ok(Some(displaced)) => self.remove_peer(displaced.0),
            // A routing id clash without ROUTER_HANDOVER: libzmq ignores the newcomer.
            Err(_) => self.remove_peer(peer),
        }
    }

    fn remove_peer(&mut self, peer: u64) {
        self.pattern.peer_removed(PeerId(peer));
        if self
            .peers
            .remove(&peer)
            .is_some_and(|p| p.max_message.is_some())
        {
            self.limited_peers -= 1;
        }
        self.closing.retain(|p| *p != peer);
    }

    fn reap_closing(&mut self) {
        if self.closing.is_empty() {
            return;
        }
        let drained: Vec<u64> = self
            .closing
            .iter()
            .copied()
            .filter(|id| self.peers.get(id).is_none_or(|p| !p.pipe.has_message()))
            .collect();
        for id in drained {
            self.remove_peer(id);
        }
    }
}

/// Like [`Pipes`], but a poller's question arms the wake-up it will wait for.
struct ArmingPipes<'a>(&'a PeerMap);

impl PeerPipes for ArmingPipes<'_> {
    fn try_send(&mut self, _: PeerId, msg: Message) -> Result<(), Message> {
        Err(msg)
    }

    fn try_recv(&mut self, _: PeerId) -> Option<Message> {
        None
    }

    fn has_message(&self, peer: PeerId) -> bool {
        self.0.get(&peer.0).is_some_and(|p| p.pipe.poll_readable())
    }

    fn has_room(&self, peer: PeerId) -> bool {
        self.0.get(&peer.0).is_some_and(|p| p.pipe.poll_writable())
    }
}

fn convert_send(e: patterns::SendError) -> SendError {
    match e {
        patterns::SendError::WouldBlock(m) => SendError::WouldBlock(m),
        patterns::SendError::Unroutable(m) => SendError::Unroutable(m),
        patterns::SendError::WrongState(m) => SendError::WrongState(m),
        patterns::SendError::NotSupported(m) => SendError::NotSupported(m),
        patterns::SendError::Multipart(m) => SendError::Multipart(m),
        _ => SendError::EmptyMessage,
    }
}

fn convert_recv(e: patterns::RecvError) -> RecvError {
    match e {
        patterns::RecvError::WouldBlock => RecvError::WouldBlock,
        patterns::RecvError::WrongState => RecvError::WrongState,
        _ => RecvError::NotSupported,
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        *self.shared.monitor.lock() = None;
        // Endpoints first (listeners stop, connectors stop reconnecting), then the pipes:
        // dropping a pipe end tells its driver to flush within LINGER and close.
        self.endpoints.clear();
        self.peers.clear();
        while self.shared.mailbox.pop().is_some() {}
    }
}
