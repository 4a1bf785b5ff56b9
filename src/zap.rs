//! The context's ZAP service: answers authentication requests with a Rust handler, or a classic
//! RFC 27 handler bound at `inproc://zeromq.zap.01`, or libzmq's no-handler defaults.

use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Mutex, RwLock};
use zmtp::{Message, Metadata, SocketType};
use zvtran_drivers::inproc::Inproc;
use zvtran_drivers::zap::{Authenticator, ZapReply, ZapRequest, ZapResponder};

use crate::context::ContextInner;
use crate::socket::Socket;

/// Where a classic ZAP handler binds (RFC 27).
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// How long a classic handler may take to answer before the client is refused with 500.
const CLASSIC_TIMEOUT: Duration = Duration::from_secs(10);

/// A handler written in Rust: sees each request and answers at once.
pub(crate) type Handler = Arc<dyn Fn(&ZapRequest) -> ZapReply + Send + Sync>;

/// One request waiting for the ZAP thread.
struct Job {
    request: ZapRequest,
    responder: ZapResponder,
}

/// What the ZAP thread works with; it keeps no strong reference to the context between
/// requests, so the context can go away.
struct Backend {
    handler: Arc<RwLock<Option<Handler>>>,
    inproc: Arc<Inproc>,
    ctx: Weak<ContextInner>,
}

/// The context's authenticator. Requests are answered on a thread of their own (started at the
/// first request), so a slow handler never holds up an I/O thread.
pub(crate) struct ZapService {
    handler: Arc<RwLock<Option<Handler>>>,
    inproc: Arc<Inproc>,
    ctx: Weak<ContextInner>,
    jobs: Mutex<Option<Sender<Job>>>,
}

impl ZapService {
    pub(crate) fn new(inproc: Arc<Inproc>, ctx: Weak<ContextInner>) -> ZapService {
        ZapService {
            handler: Arc::new(RwLock::new(None)),
            inproc,
            ctx,
            jobs: Mutex::new(None),
        }
    }

    pub(crate) fn set_handler(&self, handler: Option<Handler>) {
        *self.handler.write() = handler;
    }

    fn sender(&self) -> Option<Sender<Job>> {
        let mut jobs = self.jobs.lock();
        if let Some(tx) = &*jobs {
            return Some(tx.clone());
        }
        let (tx, rx) = crossbeam_channel::unbounded();
        let backend = Backend {
            handler: self.handler.clone(),
            inproc: self.inproc.clone(),
            ctx: self.ctx.clone(),
        };
        thread::Builder::new()
            .name("zvtran-zap".into())
            .spawn(move || backend.run(rx))
            .ok()?;
        *jobs = Some(tx.clone());
        Some(tx)
    }
}

impl Authenticator for ZapService {
    fn authenticate(&self, request: ZapRequest, responder: ZapResponder) {
        match self.sender() {
            Some(tx) => {
                if let Err(e) = tx.send(Job { request, responder }) {
                    // The thread is gone; answering here keeps the client from hanging.
                    let job = e.into_inner();
                    job.responder
                        .reply(ZapReply::status(500, "the ZAP thread stopped"));
                }
            }
            // No thread could be started: refuse rather than let anyone in.
            None => responder.reply(ZapReply::status(500, "could not start the ZAP thread")),
        }
    }
}

impl Backend {
    fn run(self, jobs: Receiver<Job>) {
        let mut next_id: u64 = 0;
        for Job { request, responder } in jobs {
            let handler = self.handler.read().clone();
            if let Some(handler) = handler {
                responder.reply(handler(&request));
                continue;
            }
            if !self.inproc.is_bound("zeromq.zap.01") {
                responder.no_handler();
                continue;
            }
            next_id += 1;
            let reply = self.ask_classic(&request, next_id);
            responder.reply(reply);
        }
    }

    /// One RFC 27 round trip with the handler bound at `inproc://zeromq.zap.01`.
    fn ask_classic(&self, request: &ZapRequest, id: u64) -> ZapReply {
        let Some(ctx) = self.ctx.upgrade() else {
            return ZapReply::status(500, "the context is closing");
        };
        let pattern = match zvtran_patterns::preset::for_type(SocketType::Dealer) {
            Some(p) => p,
            None => return ZapReply::status(500, "no DEALER preset"),
        };
        let mut socket = Socket::new(ctx, pattern);
        let _ = socket.set_option(crate::SocketOption::Linger(Some(Duration::ZERO)));
        if let Err(e) = socket.connect(ZAP_ENDPOINT) {
            return ZapReply::status(500, format!("cannot reach the ZAP handler: {e}"));
        }
        let id = Bytes::from(id.to_string());
        let mut frames = vec![
            Bytes::new(),
            Bytes::from_static(b"1.0"),
            id.clone(),
            Bytes::from(request.domain.clone()),
            Bytes::from(request.address.clone()),
            request.routing_id.clone(),
            Bytes::from(request.mechanism.to_string()),
        ];
        frames.extend(request.credentials.iter().cloned());
        if socket
            .send_timeout(Message::from_frames(frames), CLASSIC_TIMEOUT)
            .is_err()
        {
            return ZapReply::status(500, "the ZAP handler does not take requests");
        }
        let deadline = std::time::Instant::now() + CLASSIC_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(reply) = socket.recv_timeout(left) else {
                return ZapReply::status(500, "the ZAP handler did not answer in time");
            };
            match parse_reply(&reply, &id) {
                Some(reply) => return reply,
                // A reply to another request (one that timed out): wait for ours.
                None if reply.frames().get(2) != Some(&id) => continue,
                None => return ZapReply::status(500, "malformed ZAP reply"),
            }
        }
    }
}

/// Reads `[empty] 1.0 id status text user-id metadata`; `None` if it is malformed or answers
/// another request.
fn parse_reply(reply: &Message, id: &Bytes) -> Option<ZapReply> {
    let [empty, version, got_id, status, text, user_id, metadata] = reply.frames() else {
        return None;
    };
    if !empty.is_empty() || &version[..] != b"1.0" || got_id != id {
        return None;
    }
    let status_code: u16 = std::str::from_utf8(status).ok()?.parse().ok()?;
    if !matches!(status_code, 200 | 300 | 400 | 500) {
        return None;
    }
    let mut reader = zmtp::codec::Reader::new(metadata.clone());
    let metadata = Metadata::decode(&mut reader).ok()?;
    Some(ZapReply {
        status_code,
        status_text: String::from_utf8_lossy(text).into_owned(),
        user_id: user_id.clone(),
        metadata,
    })
}

/// Encodes ZAP metadata as RFC 27 carries it (for handlers written with this crate).
pub fn encode_metadata(metadata: &Metadata) -> Bytes {
    let mut out = BytesMut::new();
    metadata.encode(&mut out);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_replies_and_refuses_malformed_ones() {
        let id = Bytes::from_static(b"7");
        let mut meta = Metadata::new();
        meta.insert("Hello", "World").unwrap();
        let ok = Message::from_frames([
            Bytes::new(),
            Bytes::from_static(b"1.0"),
            id.clone(),
            Bytes::from_static(b"200"),
            Bytes::from_static(b"OK"),
            Bytes::from_static(b"alice"),
            encode_metadata(&meta),
        ]);
        let reply = parse_reply(&ok, &id).unwrap();
        assert_eq!(reply.status_code, 200);
        assert_eq!(reply.user_id, "alice");
        assert_eq!(reply.metadata.get("hello").unwrap(), "World");

        let mut frames: Vec<Bytes> = ok.frames().to_vec();
        frames[3] = Bytes::from_static(b"201");
        assert!(parse_reply(&Message::from_frames(frames.clone()), &id).is_none());
        frames[3] = Bytes::from_static(b"200");
        frames[6] = Bytes::from_static(b"\x05Hel");
        assert!(parse_reply(&Message::from_frames(frames.clone()), &id).is_none());
        frames.pop();
        assert!(parse_reply(&Message::from_frames(frames), &id).is_none());
        assert!(parse_reply(&ok, &Bytes::from_static(b"8")).is_none());
    }
}
