//! `ws://host:port/path`: ZeroMQ over WebSocket as ZWS 2.0 (RFC 45) with the NULL, PLAIN or
//! CURVE mechanism, a stream driver on zvtran's public driver API.
//!
//! zvtran's core speaks ZMTP 3.1 on byte streams. This transport translates: towards the core it
//! looks like a ZMTP stream (a greeting, then ZMTP frames), towards the network it speaks
//! WebSocket, one binary message per ZMTP frame whose first octet says more (1) or command (2).
//! The core's greeting is not sent (ZWS has none: the subprotocol names the mechanism). With
//! `ZWS2.0/NULL` READY, heartbeats, subscriptions and messages pass as frames. With bare
//! `ZWS2.0` (what a browser can offer) no READY travels; as libzmq does, each side's first
//! message is its routing id (often empty). The transport sends the socket's routing id in
//! place of the core's READY, and gives the core a READY from a peer of a compatible type,
//! with the peer's routing id as its Identity, when that first message arrives.

use std::io::{self, Read, Write};

use bytes::{Buf, BytesMut};
use zvtran_drivers::driver::DriverError;
use zvtran_drivers::endpoint::EndpointError;
use zvtran_drivers::options::Options;
use zvtran_drivers::stream::{StreamDriver, StreamListener, StreamTransport, fatal};
use zvtran_drivers::tcp::Tcp;

use crate::frame::{Decoder, Event, Opcode, Role, encode_frame, encode_header};
use crate::handshake::{self, parse_request, parse_response};

/// The URI scheme.
pub const SCHEME: &str = "ws";

/// ZWS 2.0 with the NULL mechanism: the peers exchange READY (preferred).
pub const NULL_PROTOCOL: &str = "ZWS2.0/NULL";
/// ZWS 2.0 with no mechanism: no READY, and each side's first message is its routing id
/// (libzmq's convention; a browser page sends an empty one). Browsers can only offer this one
/// (a subprotocol name may not contain `/` in the WebSocket API), and strict HTTP servers
/// refuse a header that offers `ZWS2.0/NULL`; so zvtran's clients offer this one, and its
/// servers take either.
pub const BARE_PROTOCOL: &str = "ZWS2.0";

/// ZWS 2.0 with the PLAIN mechanism (RFC 24's commands, as ZWS command frames).
pub const PLAIN_PROTOCOL: &str = "ZWS2.0/PLAIN";
/// ZWS 2.0 with the CURVE mechanism (RFC 26's commands, as ZWS command frames).
pub const CURVE_PROTOCOL: &str = "ZWS2.0/CURVE";

/// The subprotocol a socket with `mechanism` asks for (a client) or requires (a server); none
/// for NULL, where a server takes `ZWS2.0/NULL` or bare `ZWS2.0`.
fn secured_protocol(mechanism: &zmtp::Mechanism) -> Option<&'static str> {
    let name = mechanism.name();
    if name == zmtp::MechanismName::PLAIN {
        Some(PLAIN_PROTOCOL)
    } else if name == zmtp::MechanismName::CURVE {
        Some(CURVE_PROTOCOL)
    } else {
        None
    }
}

/// The largest WebSocket message when the socket sets no MAXMSGSIZE.
const DEFAULT_MAX: u64 = 256 << 20;

/// A ZMTP 3.1 greeting as the core expects it from its peer: the socket's own mechanism, and
/// the other side of its security handshake.
fn peer_greeting(mechanism: &zmtp::Mechanism) -> BytesMut {
    let mut g = BytesMut::with_capacity(64);
    zmtp::Greeting {
        version: zmtp::Version::V3_1,
        mechanism: mechanism.name(),
        as_server: secured_protocol(mechanism).is_some() && !mechanism.as_server(),
    }
    .encode(&mut g);
    g
}

/// `host:port` and the path of `host:port/path`.
fn split(address: &str) -> (&str, &str) {
    match address.find('/') {
        Some(i) => (&address[..i], &address[i..]),
        None => (address, "/"),
    }
}

/// The `ws://` stream driver (or `wss://`, WebSocket over TLS 1.3 with the `TLS_*` options of
/// `tls+tcp://`); register it wrapped in `zvtran_drivers::stream::Stream`.
#[derive(Debug, Default)]
pub struct Ws {
    secure: bool,
}

impl Ws {
    /// `ws://`: WebSocket over tcp.
    pub fn plain() -> Ws {
        Ws { secure: false }
    }

    /// `wss://`: WebSocket over TLS over tcp.
    pub fn secure() -> Ws {
        Ws { secure: true }
    }

    /// The byte stream under the WebSocket: tcp, or TLS over it.
    fn under(&self) -> &dyn StreamDriver {
        if self.secure { &zvtran_tls::Tls } else { &Tcp }
    }

    fn under_scheme(&self) -> &'static str {
        self.under().scheme()
    }
}

impl StreamDriver for Ws {
    fn scheme(&self) -> &'static str {
        if self.secure { "wss" } else { SCHEME }
    }

    fn option_names(&self) -> &[&'static str] {
        self.under().option_names()
    }

    fn capabilities(&self, address: &str) -> zvtran_drivers::driver::Capabilities {
        self.under().capabilities(address)
    }

    fn listen(
        &self,
        address: &str,
        options: &Options,
    ) -> Result<Box<dyn StreamListener>, DriverError> {
        let (host_port, path) = split(address);
        let inner = self
            .under()
            .listen(host_port, options)
            .map_err(|e| self.rename(e, address))?;
        let under = format!("{}://", self.under_scheme());
        let endpoint = format!(
            "{}://{}{path}",
            self.scheme(),
            inner.endpoint().trim_start_matches(&under)
        );
        Ok(Box::new(WsListener {
            inner,
            endpoint,
            path: path.to_string(),
            options: options.clone(),
        }))
    }

    fn check_address(&self, address: &str, options: &Options) -> Result<(), DriverError> {
        let (host_port, path) = split(address);
        if path.contains(char::is_whitespace) {
            return Err(
                EndpointError::EmptyAddress(format!("{}://{address}", self.scheme())).into(),
            );
        }
        self.under()
            .check_address(host_port, options)
            .map_err(|e| self.rename(e, address))
    }

    fn connect(&self, address: &str, options: &Options) -> io::Result<Box<dyn StreamTransport>> {
        let (host_port, path) = split(address);
        let inner = self.under().connect(host_port, options)?;
        let key = handshake::new_key(random16());
        let mut t = WsStream::new(inner, Role::Client, options);
        let protocol = secured_protocol(&options.mechanism).unwrap_or(BARE_PROTOCOL);
        t.out.extend_from_slice(
            handshake::client_request(host_port, path, &key, &[protocol]).as_bytes(),
        );
        t.state = State::AwaitReply { key };
        Ok(Box::new(t))
    }
}

fn max_message(options: &Options) -> u64 {
    // One octet of flags, then the ZMTP frame.
    options
        .max_msg_size
        .map_or(DEFAULT_MAX, |m| m.saturating_add(1))
}

impl Ws {
    /// Errors of the driver underneath, named with this scheme.
    fn rename(&self, e: DriverError, address: &str) -> DriverError {
        let endpoint = format!("{}://{address}", self.scheme());
        match e {
            DriverError::AddressInUse { .. } => DriverError::AddressInUse { endpoint },
            DriverError::Io { source, .. } => DriverError::Io { endpoint, source },
            DriverError::Options { reason, .. } => DriverError::Options { endpoint, reason },
            other => other,
        }
    }
}

/// 16 octets nobody can guess ahead (WebSocket keys and masks need no more).
fn random16() -> [u8; 16] {
    let mut out = [0u8; 16];
    for half in out.chunks_mut(8) {
        half.copy_from_slice(&zvtran_drivers::random::random_u64().to_le_bytes());
    }
    out
}

struct WsListener {
    inner: Box<dyn StreamListener>,
    endpoint: String,
    path: String,
    options: Options,
}

impl StreamListener for WsListener {
    fn accept(&mut self) -> io::Result<Box<dyn StreamTransport>> {
        let inner = self.inner.accept()?;
        let mut t = WsStream::new(inner, Role::Server, &self.options);
        t.state = State::AwaitRequest {
            path: self.path.clone(),
        };
        Ok(Box::new(t))
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    fn cleanup(&mut self) {
        self.inner.cleanup();
    }
}

enum State {
    /// Server: waiting for the client's upgrade request for this path.
    AwaitRequest { path: String },
    /// Client: waiting for the server's 101 for this key.
    AwaitReply { key: String },
    /// Frames flow.
    Open,
    /// The peer closed (or we did): end of stream.
    Closed,
}

/// Where the core's outgoing ZMTP bytes are in their parse.
enum Outgoing {
    /// Skipping the core's 64-octet greeting (ZWS sends none).
    Greeting(usize),
    /// Reading a frame header: the octets so far.
    Header(Vec<u8>),
    /// Passing `left` body octets of the current frame (masked from `offset` for a client).
    Body {
        left: u64,
        mask: Option<[u8; 4]>,
        offset: usize,
    },
    /// Dropping `left` body octets (the core's READY under bare ZWS2.0).
    Skip { left: u64 },
    /// Collecting a command's body (`left` octets still to come), to send once whole.
    Command { left: u64, body: Vec<u8> },
}

struct WsStream {
    inner: Box<dyn StreamTransport>,
    role: Role,
    state: State,
    decoder: Decoder,
    /// ZMTP bytes for the core: the synthesized greeting, then translated frames.
    to_core: BytesMut,
    /// Bytes for the network, not yet taken by the stream.
    out: Vec<u8>,
    /// What the core wrote before the upgrade finished, translated once the subprotocol is known.
    early: Vec<u8>,
    outgoing: Outgoing,
    /// Our socket type (the type a bare ZWS2.0 peer is taken to be compatible with).
    socket_type: zmtp::SocketType,
    /// Bare ZWS2.0 and the core's READY not yet skipped.
    skip_ready: bool,
    /// Bare ZWS2.0 and the peer's first message, its routing id, not yet arrived.
    awaiting_routing_id: bool,
    /// The subprotocol the socket's mechanism needs (none for NULL).
    secured: Option<&'static str>,
    /// The greeting the core gets from its peer once the upgrade is done.
    greeting: BytesMut,
    /// The routing id sent first under bare ZWS2.0.
    routing_id: Vec<u8>,
}

/// Octets read from the stream per call.
const READ_CHUNK: usize = 64 * 1024;

/// Past this much waiting output, writes take nothing more until the stream has taken some.
const OUT_LIMIT: usize = 512 * 1024;

impl WsStream {
    fn new(inner: Box<dyn StreamTransport>, role: Role, options: &Options) -> WsStream {
        WsStream {
            inner,
            role,
            state: State::Open,
            decoder: Decoder::new(role, max_message(options)),
            socket_type: options.socket_type,
            skip_ready: false,
            awaiting_routing_id: false,
            secured: secured_protocol(&options.mechanism),
            greeting: peer_greeting(&options.mechanism),
            routing_id: options
                .routing_id
                .as_ref()
                .map(|id| id.to_vec())
                .unwrap_or_default(),
            to_core: BytesMut::new(),
            out: Vec::new(),
            early: Vec::new(),
            outgoing: Outgoing::Greeting(0),
        }
    }

    /// Writes waiting output until none is left or the stream would block.
    fn push(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            match self.inner.write(&self.out)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => {
                    self.out.drain(..n);
                }
            }
        }
        Ok(())
    }

    fn push_some(&mut self) -> io::Result<()> {
        match self.push() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    /// Queues a control frame (pong, close) for the network, masked if we are the client.
    fn queue_control(&mut self, opcode: Opcode, payload: &[u8]) {
        let mask = self.mask();
        encode_frame(opcode, true, payload, mask, &mut self.out);
    }

    fn mask(&self) -> Option<[u8; 4]> {
        (self.role == Role::Client).then(|| {
            let r = random16();
            [r[0], r[1], r[2], r[3]]
        })
    }

    /// Reads from the network until there are bytes for the core, the stream would block, or
    /// it ended.
    fn fill(&mut self) -> io::Result<()> {
        loop {
            if !self.to_core.is_empty() || matches!(self.state, State::Closed) {
                return Ok(());
            }
            // Events already buffered first.
            if matches!(self.state, State::Open) {
                match self.decoder.next_event() {
                    Ok(Some(event)) => {
                        self.on_event(event)?;
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // 1002 protocol error, or 1009 too big; then the connection ends.
                        let code: u16 = if matches!(e, crate::frame::WsError::TooLarge { .. }) {
                            1009
                        } else {
                            1002
                        };
                        self.queue_control(Opcode::Close, &code.to_be_bytes());
                        let _ = self.push();
                        return Err(fatal(format!("WebSocket: {e}")));
                    }
                }
            }
            // Straight into the decoder's buffer: no copy through a chunk on the stack.
            let buf = self.decoder.buffer_mut();
            buf.reserve(READ_CHUNK);
            if self.inner.read_into(buf, READ_CHUNK)? == 0 {
                self.state = State::Closed;
                return Ok(());
            }
            match std::mem::replace(&mut self.state, State::Open) {
                State::Open | State::Closed => {}
                State::AwaitRequest { path } => self.on_request(path)?,
                State::AwaitReply { key } => self.on_reply(key)?,
            }
        }
    }

    /// The handshake's head arrives in the decoder's buffer; what follows it stays there.
    fn on_request(&mut self, path: String) -> io::Result<()> {
        let buf = self.decoder.buffer_mut();
        match parse_request(buf) {
            Ok(None) => {
                self.state = State::AwaitRequest { path };
                Ok(())
            }
            Ok(Some((request, used))) => {
                buf.advance(used);
                let refuse = |this: &mut WsStream, status: u16, why: String| {
                    this.out
                        .extend_from_slice(handshake::refusal(status, "Bad Request").as_bytes());
                    let _ = this.push();
                    Err(fatal(format!("WebSocket: {why}")))
                };
                let asked = request.path.split('?').next().unwrap_or_default();
                if asked != path {
                    return refuse(self, 404, format!("no ZeroMQ socket at {asked}"));
                }
                let offered = |p: &str| request.protocols.iter().any(|o| o == p);
                let chosen = match self.secured {
                    Some(required) if offered(required) => required,
                    None if offered(NULL_PROTOCOL) => NULL_PROTOCOL,
                    None if offered(BARE_PROTOCOL) => BARE_PROTOCOL,
                    required => {
                        let wanted = required.map_or_else(
                            || format!("{NULL_PROTOCOL} or {BARE_PROTOCOL}"),
                            str::to_string,
                        );
                        return refuse(
                            self,
                            400,
                            format!("the client offers {:?}, not {wanted}", request.protocols),
                        );
                    }
                };
                self.out.extend_from_slice(
                    handshake::server_response(&request.key, Some(chosen)).as_bytes(),
                );
                self.push_some()?;
                self.open(chosen == BARE_PROTOCOL);
                Ok(())
            }
            Err(e) => {
                self.out
                    .extend_from_slice(handshake::refusal(400, "Bad Request").as_bytes());
                let _ = self.push();
                Err(fatal(format!("WebSocket: {e}")))
            }
        }
    }

    fn on_reply(&mut self, key: String) -> io::Result<()> {
        let buf = self.decoder.buffer_mut();
        match parse_response(buf, &key) {
            Ok(None) => {
                self.state = State::AwaitReply { key };
                Ok(())
            }
            Ok(Some((protocol, used))) => {
                buf.advance(used);
                let wanted = self.secured;
                let bare = match (protocol.as_deref(), wanted) {
                    (Some(chosen), Some(wanted)) if chosen == wanted => false,
                    (Some(NULL_PROTOCOL), None) => false,
                    (Some(BARE_PROTOCOL), None) => true,
                    (other, _) => {
                        let wanted = wanted.map_or_else(
                            || format!("{NULL_PROTOCOL} or {BARE_PROTOCOL}"),
                            str::to_string,
                        );
                        return Err(fatal(format!(
                            "WebSocket: the server chose {other:?}, not {wanted}"
                        )));
                    }
                };
                self.open(bare);
                Ok(())
            }
            Err(e) => Err(fatal(format!("WebSocket: {e}"))),
        }
    }

    /// The upgrade is done: the core gets its peer's greeting, and what it wrote meanwhile
    /// follows the handshake out. Under bare ZWS2.0 our routing id goes first.
    fn open(&mut self, bare: bool) {
        self.state = State::Open;
        let greeting = std::mem::take(&mut self.greeting);
        self.to_core.extend_from_slice(&greeting);
        if bare {
            self.skip_ready = true;
            self.awaiting_routing_id = true;
            let mask = self.mask();
            let mut first = vec![0u8];
            first.extend_from_slice(&self.routing_id);
            encode_frame(Opcode::Binary, true, &first, mask, &mut self.out);
        }
        let early = std::mem::take(&mut self.early);
        self.translate(&early);
        let _ = self.push_some();
    }

    /// Under bare ZWS2.0, the READY the core expects: from a peer of a type compatible with
    /// ours, with `routing_id` (the peer's first message) as its Identity.
    fn synthesized_ready(&self, routing_id: &[u8]) -> Vec<u8> {
        let theirs = zmtp::SocketType::ALL
            .into_iter()
            .find(|t| self.socket_type.is_compatible(*t))
            .unwrap_or(self.socket_type);
        let mut body = b"\x05READY".to_vec();
        let mut property = |name: &[u8], value: &[u8]| {
            body.push(name.len() as u8);
            body.extend_from_slice(name);
            body.extend_from_slice(&(value.len() as u32).to_be_bytes());
            body.extend_from_slice(value);
        };
        property(b"Socket-Type", theirs.as_str().as_bytes());
        if !routing_id.is_empty() {
            property(b"Identity", routing_id);
        }
        let mut frame = Vec::with_capacity(body.len() + 9);
        if body.len() > 255 {
            frame.push(0x06);
            frame.extend_from_slice(&(body.len() as u64).to_be_bytes());
        } else {
            frame.extend_from_slice(&[0x04, body.len() as u8]);
        }
        frame.extend_from_slice(&body);
        frame
    }

    fn on_event(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Message { payload, .. } => {
                let Some((&flags, body)) = payload.split_first() else {
                    return Err(fatal("WebSocket: an empty ZWS message (no flags octet)"));
                };
                if flags & !0x03 != 0 {
                    return Err(fatal(format!("WebSocket: unknown ZWS flags {flags:#x}")));
                }
                if self.awaiting_routing_id {
                    if flags != 0 || body.len() > 255 {
                        return Err(fatal(
                            "WebSocket: under bare ZWS2.0 the first message is a routing id: \
                             one frame of at most 255 octets",
                        ));
                    }
                    self.awaiting_routing_id = false;
                    let ready = self.synthesized_ready(body);
                    self.to_core.extend_from_slice(&ready);
                    return Ok(());
                }
                let mut zmtp = u8::from(flags & 1 != 0) | if flags & 2 != 0 { 4 } else { 0 };
                if body.len() > 255 {
                    zmtp |= 2;
                    self.to_core.extend_from_slice(&[zmtp]);
                    self.to_core
                        .extend_from_slice(&(body.len() as u64).to_be_bytes());
                } else {
                    self.to_core.extend_from_slice(&[zmtp, body.len() as u8]);
                }
                self.to_core.extend_from_slice(body);
            }
            Event::Ping(data) => {
                self.queue_control(Opcode::Pong, &data);
                self.push_some()?;
            }
            Event::Pong(_) => {}
            Event::Close { .. } => {
                self.queue_control(Opcode::Close, &1000u16.to_be_bytes());
                let _ = self.push();
                self.state = State::Closed;
            }
        }
        Ok(())
    }

    /// Translates ZMTP bytes from the core into WebSocket bytes in `out`; all are taken.
    fn translate(&mut self, data: &[u8]) {
        let mut out = std::mem::take(&mut self.out);
        self.translate_into(data, &mut out);
        self.out = out;
    }

    fn translate_into(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while !data.is_empty() {
            match &mut self.outgoing {
                Outgoing::Greeting(seen) => {
                    let n = (64 - *seen).min(data.len());
                    *seen += n;
                    data = &data[n..];
                    if *seen == 64 {
                        self.outgoing = Outgoing::Header(Vec::with_capacity(9));
                    }
                }
                Outgoing::Header(h) => {
                    h.push(data[0]);
                    data = &data[1..];
                    let flags = h[0];
                    let need = if flags & 2 != 0 { 9 } else { 2 };
                    if h.len() < need {
                        continue;
                    }
                    let len = if flags & 2 != 0 {
                        let mut eight = [0u8; 8];
                        eight.copy_from_slice(&h[1..9]);
                        u64::from_be_bytes(eight)
                    } else {
                        u64::from(h[1])
                    };
                    if self.skip_ready && flags & 4 != 0 {
                        self.skip_ready = false;
                        self.outgoing = if len == 0 {
                            Outgoing::Header(Vec::with_capacity(9))
                        } else {
                            Outgoing::Skip { left: len }
                        };
                        continue;
                    }
                    if flags & 4 != 0 {
                        self.outgoing = Outgoing::Command {
                            left: len,
                            body: Vec::with_capacity(len.min(4096) as usize),
                        };
                        if len == 0 {
                            self.send_command(&[], out);
                        }
                        continue;
                    }
                    let zws = u8::from(flags & 1 != 0);
                    let mask = self.mask();
                    encode_header(Opcode::Binary, true, len + 1, mask, out);
                    let start = out.len();
                    out.push(zws);
                    if let Some(m) = mask {
                        crate::frame::apply_mask(&mut out[start..], m, 0);
                    }
                    self.outgoing = if len == 0 {
                        Outgoing::Header(Vec::with_capacity(9))
                    } else {
                        Outgoing::Body {
                            left: len,
                            mask,
                            offset: 1,
                        }
                    };
                }
                Outgoing::Command { left, body } => {
                    let n = (*left).min(data.len() as u64) as usize;
                    body.extend_from_slice(&data[..n]);
                    *left -= n as u64;
                    data = &data[n..];
                    if *left == 0 {
                        let body = std::mem::take(body);
                        self.send_command(&body, out);
                    }
                }
                Outgoing::Skip { left } => {
                    let n = (*left).min(data.len() as u64) as usize;
                    *left -= n as u64;
                    data = &data[n..];
                    if *left == 0 {
                        self.outgoing = Outgoing::Header(Vec::with_capacity(9));
                    }
                }
                Outgoing::Body { left, mask, offset } => {
                    let n = (*left).min(data.len() as u64) as usize;
                    let start = out.len();
                    out.extend_from_slice(&data[..n]);
                    if let Some(m) = *mask {
                        crate::frame::apply_mask(&mut out[start..], m, *offset);
                    }
                    *left -= n as u64;
                    *offset += n;
                    data = &data[n..];
                    if *left == 0 {
                        self.outgoing = Outgoing::Header(Vec::with_capacity(9));
                    }
                }
            }
        }
    }
}

impl WsStream {
    /// A whole command from the core, onto the network. SUBSCRIBE and CANCEL go as libzmq's
    /// WebSocket transport sends them: a message whose first octet is 1 (subscribe) or 0
    /// (cancel), then the topic; libzmq does not take them as commands. Others go as commands.
    fn send_command(&mut self, body: &[u8], out: &mut Vec<u8>) {
        self.outgoing = Outgoing::Header(Vec::with_capacity(9));
        let mut frame = Vec::with_capacity(body.len() + 2);
        if let Some(topic) = body.strip_prefix(b"\x09SUBSCRIBE") {
            frame.extend_from_slice(&[0, 1]);
            frame.extend_from_slice(topic);
        } else if let Some(topic) = body.strip_prefix(b"\x06CANCEL") {
            frame.extend_from_slice(&[0, 0]);
            frame.extend_from_slice(topic);
        } else {
            frame.push(2);
            frame.extend_from_slice(body);
        }
        let mask = self.mask();
        encode_frame(Opcode::Binary, true, &frame, mask, out);
    }
}

impl Read for WsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.fill()?;
        if self.to_core.is_empty() {
            // Closed (fill returns WouldBlock otherwise).
            return Ok(0);
        }
        let n = buf.len().min(self.to_core.len());
        buf[..n].copy_from_slice(&self.to_core[..n]);
        self.to_core.advance(n);
        Ok(n)
    }
}

impl Write for WsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !matches!(self.state, State::Open | State::Closed) {
            // The subprotocol decides the translation: keep it until the upgrade is done.
            if self.early.len() >= OUT_LIMIT {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.early.extend_from_slice(buf);
            self.push_some()?;
            return Ok(buf.len());
        }
        if self.out.len() >= OUT_LIMIT {
            self.push()?;
        }
        self.translate(buf);
        self.push_some()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.push()
    }
}

impl StreamTransport for WsStream {
    fn finish_connect(&mut self) -> io::Result<bool> {
        let done = self.inner.finish_connect()?;
        if done {
            // The upgrade request goes out at once.
            self.push_some()?;
        }
        Ok(done)
    }

    fn peer_address(&self) -> String {
        let under = self.inner.peer_address();
        match under.split_once("://") {
            Some(("tls+tcp", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => under,
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.queue_control(Opcode::Close, &1000u16.to_be_bytes());
        self.push()?;
        self.inner.shutdown_write()
    }

    fn has_pending_output(&self) -> bool {
        !self.out.is_empty()
    }
}

zvtran_drivers::delegate_source!(WsListener, inner);

zvtran_drivers::delegate_source!(WsStream, inner);
