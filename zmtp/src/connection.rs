//! One ZMTP connection driven from outside: bytes in; events, bytes and deadlines out.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};

use crate::command::{Command, ErrorReason, Ping, Pong, Subscription, group};
use crate::error::{Error, Malformed, ProtocolError, UsageError, printable};
use crate::frame::{Frame, Header, Limits};
use crate::greeting::{GREETING_LEN, Greeting, Version};
use crate::mechanism::curve::{Cipher, MESSAGE_OVERHEAD, Opened};
use crate::mechanism::{AuthOutcome, AuthRequest, Handshake, Mechanism, Role, Step};
use crate::message::Message;
use crate::metadata::{self, Metadata};
use crate::recycle;
use crate::socket_type::SocketType;

/// Largest frame accepted before the handshake completes. Handshake commands carry a greeting's
/// worth of keys and a few metadata properties; a peer that declares more is refused before it
/// has authenticated.
pub const HANDSHAKE_MAX_FRAME: u64 = 32 * 1024;

/// libzmq's default ZMQ_HANDSHAKE_IVL.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Commands after the handshake may always be this large, whatever `max_msg_size` says, so that
/// PING, PONG, JOIN and LEAVE keep working with a tiny message limit.
const MIN_COMMAND_LIMIT: u64 = 512;

/// A message with a size limit may have at most `max(limit, MIN_FRAME_CAP)` frames, so that the
/// memory a peer can make us hold stays proportional to the limit even with empty frames.
const MIN_FRAME_CAP: u64 = 16;

/// Frame bodies at least this large are queued by reference instead of being copied next to
/// their header, so a driver can write them with `writev`.
const ZERO_COPY_MIN: usize = 8 * 1024;

/// Spare capacity [`Connection::read_buffer`] ensures for the next read.
const READ_CHUNK: usize = 64 * 1024;
/// The largest read buffer made ahead of data, from the size of the last frame.
pub const LARGE_FRAME_HINT: usize = 4 << 20;

/// How a connection is set up. Start from [`Config::new`] and change fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Our socket type, announced in READY and checked against the peer's (RFC 37).
    pub socket_type: SocketType,
    /// Which side of the handshake we play.
    pub role: Role,
    /// The security mechanism.
    pub mechanism: Mechanism,
    /// Sent as the Identity property by REQ, DEALER and ROUTER (as libzmq does); 1 to 255
    /// octets, not starting with a zero octet.
    pub routing_id: Option<Bytes>,
    /// Extra properties for READY, such as `X-` application properties.
    pub metadata: Metadata,
    /// ZMQ_MAXMSGSIZE: the largest message (all frames together) a peer may send; `None` for
    /// no limit. A bigger declared frame closes the connection before anything is reserved.
    pub max_msg_size: Option<u64>,
    /// ZMQ_HANDSHAKE_IVL: the greeting and handshake must complete within this; `None` for no
    /// limit.
    pub handshake_timeout: Option<Duration>,
    /// ZMQ_HEARTBEAT_IVL: send a PING this often once the handshake is complete.
    pub heartbeat_interval: Option<Duration>,
    /// ZMQ_HEARTBEAT_TIMEOUT: close if nothing arrives this long after a PING; defaults to the
    /// interval, as in libzmq.
    pub heartbeat_timeout: Option<Duration>,
    /// ZMQ_HEARTBEAT_TTL: asks the peer to close if it hears nothing from us this long; sent
    /// in each PING, in deciseconds, at most 6553.5 s.
    pub heartbeat_ttl: Option<Duration>,
    /// A server asks the application about each client with [`Event::Authenticate`] and
    /// waits for [`Connection::authenticate`] (ZAP, RFC 27). When false, libzmq's defaults
    /// for a socket without a ZAP handler apply: PLAIN servers refuse every client, CURVE
    /// and NULL servers accept. NULL asks only when this is set.
    pub authenticate: bool,
}

impl Config {
    /// Defaults: NULL mechanism, no routing id, no size limit, a 30 s handshake timeout and
    /// no heartbeats.
    pub fn new(socket_type: SocketType, role: Role) -> Config {
        Config {
            socket_type,
            role,
            mechanism: Mechanism::Null,
            routing_id: None,
            metadata: Metadata::new(),
            max_msg_size: None,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            heartbeat_interval: None,
            heartbeat_timeout: None,
            heartbeat_ttl: None,
            authenticate: false,
        }
    }

    /// The READY properties: Socket-Type, Identity where the type sends one, then the extras.
    fn our_metadata(&self) -> Result<Metadata, UsageError> {
        let mut m = Metadata::new();
        m.insert(metadata::SOCKET_TYPE, self.socket_type.as_str())?;
        if let Some(id) = &self.routing_id {
            if id.len() > 255 {
                return Err(UsageError::RoutingIdTooLong { len: id.len() });
            }
            if id.first() == Some(&0) {
                return Err(UsageError::RoutingIdStartsWithZero);
            }
        }
        if self.socket_type.sends_identity() {
            m.insert(
                metadata::IDENTITY,
                self.routing_id.clone().unwrap_or_default(),
            )?;
        }
        for (name, value) in self.metadata.iter() {
            m.insert(name, value.clone())?;
        }
        Ok(m)
    }
}

/// What the peer told us in its handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's socket type (already checked to be compatible with ours).
    pub socket_type: SocketType,
    /// The peer's Identity property, if it sent one (at most 255 octets).
    pub identity: Option<Bytes>,
    /// Every property the peer sent.
    pub metadata: Metadata,
    /// The version the peer announced; [`Connection::version`] is the one in use.
    pub version: Version,
    /// The user our authentication named (ZAP's User-Id), if it ran and gave one.
    pub user_id: Option<Bytes>,
    /// Properties our authentication attached to this peer (ZAP's metadata).
    pub auth_metadata: Metadata,
}

/// What a connection produces for the socket above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed; messages may flow.
    Ready(PeerInfo),
    /// A whole message arrived.
    Message(Message),
    /// The peer subscribed to a prefix (a SUBSCRIBE command, or on a PUB/XPUB a `\x01topic`
    /// message from a ZMTP 3.0 peer).
    Subscribe(Bytes),
    /// The peer cancelled one subscription to a prefix.
    Cancel(Bytes),
    /// The peer (a DISH) joined a group.
    Join(Bytes),
    /// The peer left a group.
    Leave(Bytes),
    /// A server needs a decision about a client (only with [`Config::authenticate`]): answer
    /// with [`Connection::authenticate`]. The handshake waits until then.
    Authenticate(AuthRequest),
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the peer's 64-octet greeting.
    ExpectGreeting,
    /// Running the security mechanism's handshake.
    Handshake,
    /// Messages and commands flow.
    Traffic,
    /// Failed or closed; see [`Connection::error`].
    Closed,
}

/// Counters for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Transport octets handed to the connection.
    pub bytes_received: u64,
    /// Whole messages delivered as events (subscription messages included).
    pub messages_received: u64,
    /// Whole messages queued by [`Connection::send`].
    pub messages_sent: u64,
    /// PING commands received.
    pub pings_received: u64,
    /// PONG commands sent in answer.
    pub pongs_sent: u64,
    /// PING commands sent by our heartbeat.
    pub pings_sent: u64,
    /// PONG commands received.
    pub pongs_received: u64,
    /// Commands after the handshake that were not for us and were ignored.
    pub commands_ignored: u64,
}

/// A ZMTP 3.1 connection with no I/O of its own.
///
/// The driver that owns the transport calls, in any order and as often as needed:
/// - [`handle_bytes`](Self::handle_bytes) (or [`read_buffer`](Self::read_buffer) then
///   [`handle_read`](Self::handle_read)) with what the transport delivered;
/// - [`handle_timeout`](Self::handle_timeout) once [`poll_timeout`](Self::poll_timeout) is due;
/// - [`send`](Self::send), [`subscribe`](Self::subscribe) and friends for outgoing traffic;
///
/// and after each call drains [`poll_event`](Self::poll_event) and writes what
/// [`transmit_slices`](Self::transmit_slices) (or [`poll_transmit`](Self::poll_transmit)) holds.
/// The greeting is queued for transmission by [`new`](Self::new).
///
/// An `Err` from a `handle_*` call is final: write what is still queued (it may hold an ERROR
/// command for the peer), then drop the transport.
///
/// ```
/// use std::time::Instant;
/// use zmtp::{Config, Connection, Event, Message, Role, SocketType};
///
/// let now = Instant::now();
/// let mut client = Connection::new(Config::new(SocketType::Push, Role::Client), now).unwrap();
/// let mut server = Connection::new(Config::new(SocketType::Pull, Role::Server), now).unwrap();
/// // Shuttle bytes until both sides are quiet.
/// loop {
///     let mut moved = false;
///     while let Some(b) = client.poll_transmit() { server.handle_bytes(&b, now).unwrap(); moved = true; }
///     while let Some(b) = server.poll_transmit() { client.handle_bytes(&b, now).unwrap(); moved = true; }
///     if !moved { break; }
/// }
/// assert!(matches!(client.poll_event(), Some(Event::Ready(_))));
/// client.send(Message::from("hello")).unwrap();
/// let bytes = client.poll_transmit().unwrap();
/// server.handle_bytes(&bytes, now).unwrap();
/// assert!(matches!(server.poll_event(), Some(Event::Ready(_))));
/// assert_eq!(server.poll_event(), Some(Event::Message(Message::from("hello"))));
/// ```
#[derive(Debug)]
pub struct Connection {
    socket_type: SocketType,
    mechanism: Mechanism,
    max_msg_size: Option<u64>,
    heartbeat_interval: Option<Duration>,
    heartbeat_timeout: Option<Duration>,
    /// The TTL our PINGs carry, already in deciseconds.
    ping_ttl: u16,
    ours: Metadata,
    phase: Phase,
    handshake: Handshake,
    /// Whether the server application has been asked about the client and not yet answered.
    authenticating: bool,
    /// Whether to ask the application about clients.
    ask_application: bool,
    /// What our authentication said about the peer.
    auth: Option<(Bytes, Metadata)>,
    /// CURVE's MESSAGE boxes, once its handshake is complete.
    cipher: Option<Cipher>,
    version: Version,
    /// The version in the peer's greeting.
    announced: Version,
    peer: Option<PeerInfo>,
    rbuf: BytesMut,
    /// `rbuf.len()` when the last `handle_read` returned, to see how much arrived since.
    seen: usize,
    /// Size (header included) of the last frame, when it was larger than [`READ_CHUNK`]: the
    /// next read buffer is made that large, so that a stream of large frames gets one
    /// allocation per frame, read to its end and never copied to a larger one.
    large_frame: usize,
    /// `rbuf` is a recycled buffer made for one frame of `large_frame` octets, untouched but
    /// for reading into it: when that frame fills it, the whole buffer becomes the body.
    recyclable: bool,
    out: Outbox,
    events: VecDeque<Event>,
    partial: Message,
    partial_bytes: u64,
    handshake_deadline: Option<Instant>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    peer_ttl: Option<Duration>,
    last_rx: Instant,
    stats: Stats,
    error: Option<Error>,
}

impl Connection {
    /// Creates a connection and queues our greeting.
    pub fn new(config: Config, now: Instant) -> Result<Connection, UsageError> {
        let ours = config.our_metadata()?;
        config.mechanism.check()?;
        // Refuse a TTL that PING cannot carry now rather than at the first heartbeat.
        let ping_ttl =
            Ping::new(config.heartbeat_ttl.unwrap_or_default(), Bytes::new())?.ttl_deciseconds;
        let mut out = Outbox::default();
        Greeting {
            version: Version::V3_1,
            mechanism: config.mechanism.name(),
            as_server: config.mechanism.as_server(),
        }
        .encode(&mut out.tail);
        Ok(Connection {
            socket_type: config.socket_type,
            handshake: Handshake::new(&config.mechanism, config.role, config.authenticate),
            authenticating: false,
            ask_application: config.authenticate,
            auth: None,
            cipher: None,
            mechanism: config.mechanism,
            max_msg_size: config.max_msg_size,
            heartbeat_interval: config.heartbeat_interval.filter(|d| !d.is_zero()),
            heartbeat_timeout: config.heartbeat_timeout,
            ping_ttl,
            ours,
            phase: Phase::ExpectGreeting,
            version: Version::V3_1,
            announced: Version::V3_1,
            peer: None,
            rbuf: BytesMut::new(),
            seen: 0,
            large_frame: 0,
            recyclable: false,
            out,
            events: VecDeque::new(),
            partial: Message::new(),
            partial_bytes: 0,
            handshake_deadline: config.handshake_timeout.map(|t| now + t),
            next_ping: None,
            pong_deadline: None,
            peer_ttl: None,
            last_rx: now,
            stats: Stats::default(),
            error: None,
        })
    }

    // ---- inputs ----

    /// Feeds octets the transport delivered.
    pub fn handle_bytes(&mut self, data: &[u8], now: Instant) -> Result<(), Error> {
        if self.error.is_some() {
            return Err(Error::Closed);
        }
        self.rbuf.extend_from_slice(data);
        self.handle_read(now)
    }

    /// The read buffer, with spare capacity for the next read: a driver may read straight into
    /// it (appending after its current contents, at most up to its capacity) and then call
    /// [`handle_read`](Self::handle_read). Frames are later split out of this buffer without
    /// copying. While a large frame is arriving, the buffer grows at most geometrically with
    /// what has actually been received, never to the size the peer declared. Between frames,
    /// after a frame larger than the usual read, the buffer is made as large as that frame
    /// (bounded by [`LARGE_FRAME_HINT`]): the peer really sent that much, and a stream of
    /// same-sized large frames then needs no buffer copy.
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        let len = self.rbuf.len();
        let want = match self.pending_frame() {
            // What the frame still lacks, growth bounded by what already arrived.
            Some((_, rest)) => rest.min(len.max(READ_CHUNK)),
            None if len == 0 && self.large_frame > 0 => {
                // Exactly the expected frame: a read ends where it ends.
                if !self.recyclable || self.rbuf.capacity() != self.large_frame {
                    self.rbuf = recycle::take(self.large_frame);
                    self.recyclable = true;
                }
                return &mut self.rbuf;
            }
            None => READ_CHUNK,
        };
        if self.rbuf.capacity() - len < want.max(1) {
            self.rbuf.reserve(want.max(READ_CHUNK));
        }
        &mut self.rbuf
    }

    /// The most a driver should read next into [`read_buffer`](Self::read_buffer), besides its
    /// spare capacity: the rest of a frame larger than the usual read, so that the read ends
    /// with that frame and the next frame starts in a buffer of its own (one extra read per
    /// large frame, and no copy of a next frame's beginning). Unbounded otherwise.
    pub fn read_limit(&self) -> usize {
        match self.pending_frame() {
            Some((total, rest)) if total > READ_CHUNK && rest > 0 => rest,
            _ => usize::MAX,
        }
    }

    /// Processes what was appended to [`read_buffer`](Self::read_buffer).
    pub fn handle_read(&mut self, now: Instant) -> Result<(), Error> {
        if self.error.is_some() {
            return Err(Error::Closed);
        }
        if self.rbuf.len() > self.seen {
            // RFC 37: "a peer SHOULD treat any incoming traffic (not just a PONG reply) as a
            // sign of life".
            self.stats.bytes_received += (self.rbuf.len() - self.seen) as u64;
            self.last_rx = now;
            self.pong_deadline = None;
        }
        let result = self.process(now);
        self.seen = self.rbuf.len();
        result.map_err(|e| self.fail(e))
    }

    /// Fires due deadlines: the handshake timeout, heartbeat PINGs and heartbeat timeouts.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if self.error.is_some() {
            return Err(Error::Closed);
        }
        self.check_timers(now).map_err(|e| self.fail(e))
    }

    /// Answers the [`Event::Authenticate`] request. Ignored when no request is pending (the
    /// connection may have failed meanwhile, or the answer came twice).
    pub fn authenticate(&mut self, outcome: AuthOutcome, now: Instant) -> Result<(), Error> {
        if self.error.is_some() {
            return Err(Error::Closed);
        }
        if !self.authenticating {
            return Ok(());
        }
        self.authenticating = false;
        let result = self
            .apply_outcome(outcome, now)
            .and_then(|()| self.process(now));
        self.seen = self.rbuf.len();
        result.map_err(|e| self.fail(e))
    }

    // ---- outputs ----

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Closed {
            return None;
        }
        let ttl_deadline = self.peer_ttl.map(|ttl| self.last_rx + ttl);
        [
            self.handshake_deadline,
            self.handshake.deadline(),
            self.next_ping,
            self.pong_deadline,
            ttl_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Octets queued for the transport.
    pub fn transmit_len(&self) -> usize {
        self.out.len()
    }

    /// Fills `dst` with the queued octets in order, for a vectored write; returns how many
    /// slices it filled. Then call [`advance_transmit`](Self::advance_transmit) with the
    /// number of octets written.
    pub fn transmit_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.out.slices(dst)
    }

    /// Drops `n` written octets from the front of the queue.
    pub fn advance_transmit(&mut self, n: usize) {
        self.out.advance(n);
    }

    /// Takes the next chunk of queued octets; the caller must write all of it.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.pop()
    }

    // ---- sending ----

    /// Queues a message. Frames of 8 KiB or more are queued by reference, not copied.
    pub fn send(&mut self, msg: Message) -> Result<(), UsageError> {
        self.check_traffic()?;
        if msg.is_empty() {
            return Err(UsageError::EmptyMessage);
        }
        self.queue_message(msg)
    }

    /// Subscribes the peer's filter for us to `topic`: a SUBSCRIBE command to a 3.1 peer, a
    /// `\x01topic` message to a 3.0 peer.
    pub fn subscribe(&mut self, topic: Bytes) -> Result<(), UsageError> {
        self.send_subscription(Subscription::Subscribe(topic))
    }

    /// Cancels one subscription to `topic`: CANCEL to a 3.1 peer, `\x00topic` to a 3.0 peer.
    pub fn cancel(&mut self, topic: Bytes) -> Result<(), UsageError> {
        self.send_subscription(Subscription::Cancel(topic))
    }

    /// Sends JOIN for a group (at most 255 octets).
    pub fn join(&mut self, group: Bytes) -> Result<(), UsageError> {
        group::check_group(&group)?;
        self.check_traffic()?;
        self.queue_command(&Command::Join(group))
    }

    /// Sends LEAVE for a group (at most 255 octets).
    pub fn leave(&mut self, group: Bytes) -> Result<(), UsageError> {
        group::check_group(&group)?;
        self.check_traffic()?;
        self.queue_command(&Command::Leave(group))
    }

    // ---- state ----

    /// Where the connection is in its life.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether messages may be sent.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Traffic
    }

    /// The peer's handshake information, once the handshake is complete.
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    /// The protocol version in use: the lower of ours (3.1) and the peer's.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Our socket type.
    pub fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    /// Why the connection closed, if it did.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    // ---- internals ----

    fn check_traffic(&self) -> Result<(), UsageError> {
        match self.phase {
            Phase::Traffic => Ok(()),
            Phase::Closed => Err(UsageError::Closed),
            Phase::ExpectGreeting | Phase::Handshake => Err(UsageError::NotReady),
        }
    }

    fn queue_message(&mut self, msg: Message) -> Result<(), UsageError> {
        let last = msg.len().saturating_sub(1);
        match &mut self.cipher {
            Some(cipher) => {
                for (i, frame) in msg.iter().enumerate() {
                    cipher.seal_frame(i < last, false, frame, &mut self.out.tail)?;
                }
            }
            None => {
                for (i, frame) in msg.into_iter().enumerate() {
                    self.out.frame(i < last, frame);
                }
            }
        }
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Queues a command after the handshake: in a MESSAGE box under CURVE.
    fn queue_command(&mut self, cmd: &Command) -> Result<(), UsageError> {
        match &mut self.cipher {
            Some(cipher) => {
                let mut body = BytesMut::with_capacity(cmd.body_len());
                cmd.encode_body(&mut body);
                cipher.seal_frame(false, true, &body, &mut self.out.tail)
            }
            None => {
                cmd.encode(&mut self.out.tail);
                Ok(())
            }
        }
    }

    fn send_subscription(&mut self, sub: Subscription) -> Result<(), UsageError> {
        self.check_traffic()?;
        if self.version.has_subscription_commands() {
            let cmd = match sub {
                Subscription::Subscribe(t) => Command::Subscribe(t),
                Subscription::Cancel(t) => Command::Cancel(t),
            };
            self.queue_command(&cmd)
        } else {
            self.queue_message(sub.to_message())
        }
    }

    /// Records a fatal error. During the handshake RFC 37 lets us tell the peer with ERROR.
    fn fail(&mut self, error: Error) -> Error {
        if let (Phase::Handshake, Error::Protocol(p)) = (self.phase, &error) {
            Command::Error(ErrorReason::new(&p.to_string())).encode(&mut self.out.tail);
        }
        self.phase = Phase::Closed;
        self.rbuf = BytesMut::new();
        self.recyclable = false;
        self.seen = 0;
        self.partial = Message::new();
        self.events.clear();
        self.cipher = None;
        self.authenticating = false;
        self.error = Some(error.clone());
        error
    }

    fn process(&mut self, now: Instant) -> Result<(), Error> {
        loop {
            match self.phase {
                Phase::ExpectGreeting => {
                    Greeting::check_prefix(&self.rbuf)?;
                    if self.rbuf.len() < GREETING_LEN {
                        return Ok(());
                    }
                    let head = self.rbuf.split_to(GREETING_LEN);
                    let mut raw = [0u8; GREETING_LEN];
                    raw.copy_from_slice(&head);
                    self.on_greeting(&raw)?;
                }
                Phase::Handshake if self.authenticating => {
                    // A client waits for our answer; anything it sends now is out of turn.
                    if self.rbuf.is_empty() {
                        return Ok(());
                    }
                    return Err(ProtocolError::UnexpectedCommand {
                        command: "(any)".into(),
                        mechanism: self.mechanism.label(),
                    }
                    .into());
                }
                Phase::Traffic if self.cipher.is_some() => {
                    let Some(opened) = self.open_next()? else {
                        return Ok(());
                    };
                    self.on_opened(opened)?;
                }
                Phase::Handshake | Phase::Traffic => {
                    let limits = self.limits();
                    if let Some(frame) = self.whole_buffer_frame(limits) {
                        self.on_frame(frame, now)?;
                        continue;
                    }
                    let before = self.rbuf.len();
                    let frame = match Frame::decode(&mut self.rbuf, limits) {
                        Ok(Some(frame)) => {
                            // Split: the rest of the buffer is no longer its own.
                            self.recyclable = false;
                            self.note_frame(before - self.rbuf.len());
                            frame
                        }
                        Ok(None) => return Ok(()),
                        Err(ProtocolError::FrameTooLarge { declared, limit })
                            if self.partial_bytes > 0 && limit == limits.message =>
                        {
                            // Report the whole message against the configured limit.
                            // A peer may declare up to 2^64-1: saturate, never overflow.
                            return Err(ProtocolError::FrameTooLarge {
                                declared: declared.saturating_add(self.partial_bytes),
                                limit: limit.saturating_add(self.partial_bytes),
                            }
                            .into());
                        }
                        Err(e) => return Err(e.into()),
                    };
                    self.on_frame(frame, now)?;
                }
                Phase::Closed => return Err(Error::Closed),
            }
        }
    }

    fn limits(&self) -> Limits {
        match (self.phase, self.max_msg_size) {
            (Phase::Traffic, None) => Limits::uniform(u64::MAX),
            (Phase::Traffic, Some(max)) => Limits {
                message: max.saturating_sub(self.partial_bytes),
                command: max.max(MIN_COMMAND_LIMIT),
            },
            _ => Limits::uniform(HANDSHAKE_MAX_FRAME),
        }
    }

    /// The frame that exactly fills a recycled read buffer, with that whole buffer as its body
    /// (returned to [`recycle`] when the body is dropped). `None` otherwise: the usual
    /// [`Frame::decode`] then checks the header again and reports its errors.
    fn whole_buffer_frame(&mut self, limits: Limits) -> Option<Frame> {
        if !self.recyclable || self.rbuf.len() != self.large_frame {
            return None;
        }
        let Ok(Some((header, size))) = Frame::sized_header(&self.rbuf, limits) else {
            return None;
        };
        if header.len + size != self.rbuf.len() {
            return None;
        }
        self.recyclable = false;
        let whole = std::mem::take(&mut self.rbuf);
        self.note_frame(whole.len());
        let body = recycle::into_bytes(whole).slice(header.len..);
        Some(Frame {
            more: header.more,
            command: header.command,
            body,
        })
    }

    /// Remembers a large frame's size for [`read_buffer`](Self::read_buffer); a usual-sized one
    /// forgets it.
    fn note_frame(&mut self, total: usize) {
        self.large_frame = if total > READ_CHUNK && total <= LARGE_FRAME_HINT {
            total
        } else {
            0
        };
    }

    /// The size (header included) of the frame at the front of the read buffer, and the octets
    /// it still lacks, if its header is in.
    fn pending_frame(&self) -> Option<(usize, usize)> {
        if self.phase == Phase::ExpectGreeting {
            return None;
        }
        let header = Header::decode(&self.rbuf).ok()??;
        let total = usize::try_from(header.size).ok()?.checked_add(header.len)?;
        Some((total, total.checked_sub(self.rbuf.len())?))
    }

    fn on_greeting(&mut self, raw: &[u8; GREETING_LEN]) -> Result<(), Error> {
        let peer = Greeting::decode(raw)?;
        let ours = self.mechanism.name();
        // RFC 37: "If the mechanism that the peer received does not exactly match the
        // mechanism it sent, it MUST close the connection."
        if peer.mechanism != ours {
            return Err(ProtocolError::MechanismMismatch {
                ours: ours.to_printable(),
                theirs: peer.mechanism.to_printable(),
            }
            .into());
        }
        // RFC 37: a peer MUST accept versions >= 3.1 and MAY downgrade to a lower one.
        self.version = Version::negotiate(Version::V3_1, peer.version);
        // A mechanism with a server and a client needs one of each.
        if !self.mechanism.accepts_peer_role(peer.as_server) {
            return Err(ProtocolError::RoleMismatch {
                as_server: peer.as_server,
            }
            .into());
        }
        self.phase = Phase::Handshake;
        self.announced = peer.version;
        self.handshake.start(&self.ours, &mut self.out.tail)?;
        Ok(())
    }

    fn on_frame(&mut self, frame: Frame, now: Instant) -> Result<(), Error> {
        if frame.command {
            if self.phase == Phase::Handshake {
                let step =
                    self.handshake
                        .handle(frame.body, &self.ours, &mut self.out.tail, now)?;
                return self.on_step(step, now);
            }
            return self.on_command(Command::decode(frame.body)?);
        }
        if self.phase != Phase::Traffic {
            return Err(ProtocolError::MessageBeforeReady.into());
        }
        self.on_message_frame(frame.more, frame.body)
    }

    fn on_step(&mut self, step: Step, now: Instant) -> Result<(), Error> {
        match step {
            Step::Continue => Ok(()),
            Step::Authenticate(request) if self.ask_application => {
                self.authenticating = true;
                self.events.push_back(Event::Authenticate(request));
                Ok(())
            }
            Step::Authenticate(_) => self.apply_outcome(AuthOutcome::NoHandler, now),
            Step::PeerReady(meta) => self.on_peer_ready(meta, now),
        }
    }

    fn apply_outcome(&mut self, outcome: AuthOutcome, now: Instant) -> Result<(), Error> {
        match outcome {
            AuthOutcome::Allow { user_id, metadata } => {
                self.auth = Some((user_id, metadata));
                let step = self.handshake.allowed(&mut self.out.tail);
                self.on_step(step, now)
            }
            AuthOutcome::NoHandler if self.handshake.accepts_without_handler() => {
                self.apply_outcome(AuthOutcome::allow(), now)
            }
            AuthOutcome::NoHandler => Err(Error::NoAuthenticator),
            AuthOutcome::Deny { status, text } => {
                // libzmq tells the client the status code; anything else becomes 500.
                let status = if (300..600).contains(&status) {
                    status
                } else {
                    500
                };
                if let Handshake::Plain(_) = self.handshake {
                    crate::mechanism::plain::encode_refusal(
                        &status.to_string(),
                        &mut self.out.tail,
                    );
                } else {
                    Command::Error(ErrorReason::new(&status.to_string()))
                        .encode(&mut self.out.tail);
                }
                Err(Error::Denied { status, text })
            }
        }
    }

    /// Splits the next MESSAGE command off the read buffer and opens it (CURVE traffic).
    fn open_next(&mut self) -> Result<Option<Opened>, Error> {
        let Some(header) = Header::decode(&self.rbuf)? else {
            return Ok(None);
        };
        // The frame's own flags carry nothing: libzmq sends MESSAGE boxes as plain frames,
        // and the flags inside the box decide.
        // The limits apply to what the box holds.
        let limits = self.limits();
        let limit = limits
            .message
            .max(limits.command)
            .saturating_add(MESSAGE_OVERHEAD as u64);
        if header.size > limit {
            return Err(ProtocolError::FrameTooLarge {
                declared: header.size.saturating_sub(MESSAGE_OVERHEAD as u64),
                limit: limit.saturating_sub(MESSAGE_OVERHEAD as u64),
            }
            .into());
        }
        let Some(total) = usize::try_from(header.size)
            .ok()
            .and_then(|size| size.checked_add(header.len))
        else {
            return Err(ProtocolError::FrameTooLarge {
                declared: header.size,
                limit,
            }
            .into());
        };
        if self.rbuf.len() < total {
            return Ok(None);
        }
        let mut raw = self.rbuf.split_to(total);
        self.recyclable = false;
        self.note_frame(total);
        let _ = raw.split_to(header.len);
        let Some(cipher) = self.cipher.as_mut() else {
            return Err(Error::Cipher);
        };
        Ok(Some(cipher.open_frame(raw)?))
    }

    fn on_opened(&mut self, opened: Opened) -> Result<(), Error> {
        let limits = self.limits();
        let len = opened.body.len() as u64;
        if opened.command {
            if len > limits.command {
                return Err(ProtocolError::FrameTooLarge {
                    declared: len,
                    limit: limits.command,
                }
                .into());
            }
            return self.on_command(Command::decode(opened.body)?);
        }
        if len > limits.message {
            return Err(ProtocolError::FrameTooLarge {
                declared: len.saturating_add(self.partial_bytes),
                limit: limits.message.saturating_add(self.partial_bytes),
            }
            .into());
        }
        self.on_message_frame(opened.more, opened.body)
    }

    fn on_message_frame(&mut self, more: bool, body: Bytes) -> Result<(), Error> {
        self.partial_bytes += body.len() as u64;
        self.partial.push(body);
        if let Some(max) = self.max_msg_size {
            let cap = max.max(MIN_FRAME_CAP);
            if self.partial.len() as u64 > cap {
                return Err(ProtocolError::TooManyFrames {
                    limit: usize::try_from(cap).unwrap_or(usize::MAX),
                }
                .into());
            }
        }
        if !more {
            let msg = std::mem::take(&mut self.partial);
            self.partial_bytes = 0;
            self.deliver(msg);
        }
        Ok(())
    }

    fn on_peer_ready(&mut self, meta: Metadata, now: Instant) -> Result<(), Error> {
        let name = meta
            .get(metadata::SOCKET_TYPE)
            .ok_or(ProtocolError::MissingSocketType)?;
        let theirs =
            SocketType::from_wire(name).ok_or_else(|| ProtocolError::UnknownSocketType {
                name: printable(name),
            })?;
        // RFC 37: "When a peer validates the socket type, it SHOULD handle errors by returning
        // an ERROR command, and then disconnecting the peer."
        if !self.socket_type.is_compatible(theirs) {
            return Err(ProtocolError::IncompatibleSocketType {
                ours: self.socket_type,
                theirs,
            }
            .into());
        }
        let identity = meta.get(metadata::IDENTITY).cloned();
        // RFC 37: `identity = 0*255OCTET`.
        if identity.as_ref().is_some_and(|id| id.len() > 255) {
            return Err(ProtocolError::MalformedCommand {
                command: "READY".into(),
                reason: Malformed::IdentityTooLong,
            }
            .into());
        }
        self.handshake.finish(&self.ours, &mut self.out.tail)?;
        self.cipher = self.handshake.take_cipher();
        self.phase = Phase::Traffic;
        self.handshake_deadline = None;
        self.next_ping = self.heartbeat_interval.map(|ivl| now + ivl);
        let (user_id, auth_metadata) = match self.auth.take() {
            Some((user_id, metadata)) => (Some(user_id).filter(|u| !u.is_empty()), metadata),
            None => (None, Metadata::new()),
        };
        let info = PeerInfo {
            socket_type: theirs,
            identity,
            metadata: meta,
            version: self.announced,
            user_id,
            auth_metadata,
        };
        self.peer = Some(info.clone());
        self.events.push_back(Event::Ready(info));
        Ok(())
    }

    fn on_command(&mut self, cmd: Command) -> Result<(), Error> {
        match cmd {
            Command::Ping(ping) => {
                self.stats.pings_received += 1;
                // A TTL of zero withdraws an earlier one.
                self.peer_ttl = ping.ttl();
                // RFC 37: "When a peer receives a PING command it SHALL respond with a PONG
                // command that echoes the ping-context".
                self.queue_command(&Command::Pong(Pong {
                    context: ping.context,
                }))
                .map_err(|_| Error::Cipher)?;
                self.stats.pongs_sent += 1;
            }
            Command::Pong(_) => self.stats.pongs_received += 1,
            Command::Subscribe(topic) => self.events.push_back(Event::Subscribe(topic)),
            Command::Cancel(topic) => self.events.push_back(Event::Cancel(topic)),
            Command::Join(group) => self.events.push_back(Event::Join(group)),
            Command::Leave(group) => self.events.push_back(Event::Leave(group)),
            Command::Error(e) => {
                return Err(Error::Refused {
                    reason: printable(&e.reason),
                });
            }
            // libzmq sends PING to any 3.x peer, and later versions may add commands: after
            // the handshake anything we do not know is ignored, never fatal.
            Command::Ready(_) | Command::Other { .. } => self.stats.commands_ignored += 1,
        }
        Ok(())
    }

    fn deliver(&mut self, msg: Message) {
        self.stats.messages_received += 1;
        if self.socket_type.accepts_subscriptions() {
            match Subscription::from_message(&msg) {
                Some(Subscription::Subscribe(t)) => {
                    return self.events.push_back(Event::Subscribe(t));
                }
                Some(Subscription::Cancel(t)) => return self.events.push_back(Event::Cancel(t)),
                None => {}
            }
        }
        self.events.push_back(Event::Message(msg));
    }

    fn check_timers(&mut self, now: Instant) -> Result<(), Error> {
        self.handshake.expire(now);
        if self.handshake_deadline.is_some_and(|d| now >= d) {
            return Err(Error::HandshakeTimeout);
        }
        if self.phase != Phase::Traffic {
            return Ok(());
        }
        // RFC 37: dead "if it sends a PING command and does not receive any traffic within
        // some timeout", or "if it receives a PING command with a non-zero TTL and then does
        // not receive any further traffic within that TTL".
        let ttl_expired = self.peer_ttl.is_some_and(|ttl| now >= self.last_rx + ttl);
        if ttl_expired || self.pong_deadline.is_some_and(|d| now >= d) {
            return Err(Error::HeartbeatTimeout);
        }
        if let (Some(ivl), Some(due)) = (self.heartbeat_interval, self.next_ping) {
            if now >= due {
                self.queue_command(&Command::Ping(Ping {
                    ttl_deciseconds: self.ping_ttl,
                    context: Bytes::new(),
                }))
                .map_err(|_| Error::Cipher)?;
                self.stats.pings_sent += 1;
                self.next_ping = Some(now + ivl);
                if self.pong_deadline.is_none() {
                    self.pong_deadline = Some(now + self.heartbeat_timeout.unwrap_or(ivl));
                }
            }
        }
        Ok(())
    }
}

/// Octets waiting for the transport: small writes are gathered in `tail`; large frame bodies
/// sit in `queue` by reference, behind the tail contents that preceded them.
#[derive(Debug, Default)]
struct Outbox {
    queue: VecDeque<Bytes>,
    queued: usize,
    tail: BytesMut,
}

impl Outbox {
    fn len(&self) -> usize {
        self.queued + self.tail.len()
    }

    fn frame(&mut self, more: bool, body: Bytes) {
        Header::encode(&mut self.tail, more, false, body.len());
        if body.len() >= ZERO_COPY_MIN {
            self.seal_tail();
            self.queued += body.len();
            self.queue.push_back(body);
        } else {
            self.tail.extend_from_slice(&body);
        }
    }

    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            let sealed = self.tail.split().freeze();
            self.queued += sealed.len();
            self.queue.push_back(sealed);
        }
    }

    fn slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let chunks = self
            .queue
            .iter()
            .map(|b| b.as_ref())
            .chain((!self.tail.is_empty()).then_some(self.tail.as_ref()));
        let mut filled = 0;
        for (slot, chunk) in dst.iter_mut().zip(chunks) {
            *slot = IoSlice::new(chunk);
            filled += 1;
        }
        filled
    }

    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.queue.front_mut() else {
                let cut = n.min(self.tail.len());
                self.tail.advance(cut);
                return;
            };
            let cut = n.min(front.len());
            front.advance(cut);
            self.queued -= cut;
            n -= cut;
            if front.is_empty() {
                self.queue.pop_front();
            }
        }
    }

    fn pop(&mut self) -> Option<Bytes> {
        if let Some(front) = self.queue.pop_front() {
            self.queued -= front.len();
            return Some(front);
        }
        (!self.tail.is_empty()).then(|| self.tail.split().freeze())
    }
}
