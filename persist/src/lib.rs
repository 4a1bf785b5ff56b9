//! Store-and-forward queues for zvtran, message drivers written on its public driver API:
//! `sqlite:///path/queue.db?queue=NAME` (an embedded file) and
//! `postgres://user@host/db?queue=NAME` (a server that several machines share).
//!
//! A PUSH that binds or connects to a queue writes its messages into it (in batches, one
//! transaction each); a PULL reads them in order. Readers *claim* what they read, for a lease
//! they keep renewing, so several readers share a queue and no message goes to two of them. A
//! message leaves the queue only once the receiving socket has taken it from its queue: a crash
//! of either side loses nothing that was committed, and may deliver again what was handed over
//! but not yet taken (at least once), after the dead reader's lease runs out.
//!
//! Socket options the drivers add (by name): `QUEUE_DEPTH=N` makes writers wait while the queue
//! holds N messages or more (0, the default: no limit); `QUEUE_MAX_ATTEMPTS=N` (default 5) moves
//! a message that was handed to readers N times without being taken to the queue `NAME.dead`;
//! `QUEUE_LEASE=MS` (default 5000) is how long a reader's claim holds without renewal, so how
//! soon the messages of a reader that died go to another; `QUEUE_ACK=1` makes a DEALER an
//! acknowledging reader. A PostgreSQL connection uses TLS when the socket sets
//! `TLS_TRUSTED_ROOTS`, as `tls+tcp://` does.

mod postgres;
mod sqlite;
pub mod store;

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use zmtp::{Message, SocketType};
use zvtran_drivers::driver::{
    Capabilities, Driver, DriverError, EndpointHandle, PeerCaps, SocketLink,
};
use zvtran_drivers::endpoint::EndpointError;
use zvtran_drivers::message::{StopFlag, spawn_endpoint, wake_on_news};
use zvtran_drivers::monitor::EventKind;
use zvtran_drivers::pipe::PipeEnd;

use store::{Claimed, Store};

/// Writers wait while the queue holds this many messages (0: no limit).
pub const QUEUE_DEPTH: &str = "QUEUE_DEPTH";
/// Hand-overs without a take after which a message goes to `NAME.dead`.
pub const QUEUE_MAX_ATTEMPTS: &str = "QUEUE_MAX_ATTEMPTS";
/// Milliseconds a reader's claim holds without renewal.
pub const QUEUE_LEASE: &str = "QUEUE_LEASE";
/// 1 makes a DEALER an acknowledging reader: each message comes with its id first, and the
/// message leaves the queue when the socket sends that id back.
pub const QUEUE_ACK: &str = "QUEUE_ACK";
/// What an acknowledging reader sends after an id to give the message back at once instead.
pub const RETRY: &[u8] = b"RETRY";

/// Messages claimed per round.
const BATCH: usize = 256;
/// Messages stored per transaction, at most.
const WRITE_BATCH: usize = 4096;
/// How long a thread waits between rounds when there is nothing to do.
const IDLE: Duration = Duration::from_millis(20);
/// How long a PostgreSQL reader waits for a notification before it looks at its socket again.
const LISTEN: Duration = Duration::from_millis(50);

/// A queue driver: `sqlite://`, `postgres://` or `postgresql://` (PostgreSQL's URLs use both).
#[derive(Debug)]
pub struct Queues {
    scheme: &'static str,
}

impl Queues {
    /// `sqlite:///path/file.db?queue=NAME`.
    pub fn sqlite() -> Queues {
        Queues { scheme: "sqlite" }
    }

    /// `postgres://user@host:port/database?queue=NAME`.
    pub fn postgres() -> Queues {
        Queues { scheme: "postgres" }
    }

    /// `postgresql://…`, the same as `postgres://`.
    pub fn postgresql() -> Queues {
        Queues {
            scheme: "postgresql",
        }
    }

    /// The store an endpoint's thread will use, for `location` (the address without `queue=`).
    fn store(
        &self,
        endpoint: &str,
        location: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn Store>, DriverError> {
        if self.scheme == "sqlite" {
            let store = sqlite::SqliteStore::open(location, store::owner_token()).map_err(|e| {
                DriverError::Io {
                    endpoint: endpoint.to_string(),
                    source: std::io::Error::other(e),
                }
            })?;
            return Ok(Box::new(store));
        }
        // The rest is PostgreSQL's own URL, checked now; the server is reached on the
        // endpoint's thread, and again whenever the connection is lost.
        let mut config: ::postgres::Config =
            format!("postgresql://{location}")
                .parse()
                .map_err(|e| DriverError::Options {
                    endpoint: endpoint.to_string(),
                    reason: format!("not a PostgreSQL URL: {e}"),
                })?;
        config
            .application_name("zvtran")
            .connect_timeout(Duration::from_secs(5));
        // TLS (1.3, rustls) when the socket names the CAs to check the server against, with
        // tls+tcp://'s options: the URL's sslmode says whether it is required (`require`) or
        // only preferred (the default).
        let options = link.options();
        let tls = match options.transport_option(zvtran_tls::TRUSTED_ROOTS) {
            None => None,
            Some(_) => {
                // rust-postgres checks the certificate against the URL's host itself: the name
                // client_config derives is not used.
                let (tls, _) =
                    zvtran_tls::client_config(options, "localhost:0").map_err(|reason| {
                        DriverError::Options {
                            endpoint: endpoint.to_string(),
                            reason,
                        }
                    })?;
                Some(tokio_postgres_rustls::MakeRustlsConnect::new(
                    (*tls).clone(),
                ))
            }
        };
        Ok(Box::new(postgres::PgStore::new(
            config,
            tls,
            store::owner_token(),
        )))
    }
}

/// `address` without its `queue=NAME` parameter, and the name.
fn split_queue(
    scheme: &str,
    address: &str,
    example: &str,
) -> Result<(String, String), DriverError> {
    let endpoint = || format!("{scheme}://{address}");
    let (path, query) = address.split_once('?').unwrap_or((address, ""));
    if path.is_empty() {
        return Err(EndpointError::EmptyAddress(endpoint()).into());
    }
    let mut queue = None;
    let mut rest = Vec::new();
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        match kv.strip_prefix("queue=") {
            Some(q) if !q.is_empty() => queue = Some(q.to_string()),
            _ => rest.push(kv),
        }
    }
    let queue = queue.ok_or_else(|| DriverError::NotSupported {
        endpoint: endpoint(),
        reason: format!("the queue is named in the query: {example}"),
    })?;
    let location = if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", rest.join("&"))
    };
    Ok((location, queue))
}

/// A message as stored: each frame as a 4-octet length and its octets.
fn encode(msg: &Message) -> Vec<u8> {
    let mut out = BytesMut::new();
    for f in msg.frames() {
        out.put_u32(f.len() as u32);
        out.put_slice(f);
    }
    out.to_vec()
}

/// A stored message; `None` for a row that is not one (corrupt or foreign).
fn decode(mut body: &[u8]) -> Option<Message> {
    let mut frames = Vec::new();
    while body.has_remaining() {
        if body.len() < 4 {
            return None;
        }
        let len = body.get_u32() as usize;
        if body.len() < len {
            return None;
        }
        frames.push(Bytes::copy_from_slice(&body[..len]));
        body.advance(len);
    }
    (!frames.is_empty()).then(|| Message::from_frames(frames))
}

/// A queue's limits, from the socket's options.
#[derive(Debug, Clone, Copy)]
struct Limits {
    depth: u64,
    max_attempts: i64,
    lease: Duration,
    ack: bool,
}

impl Limits {
    fn from_options(link: &SocketLink, endpoint: &str) -> Result<Limits, DriverError> {
        let number = |name: &str, default: u64| -> Result<u64, DriverError> {
            match link.options().transport_option(name) {
                None => Ok(default),
                Some(v) => std::str::from_utf8(v)
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .ok_or_else(|| DriverError::Options {
                        endpoint: endpoint.to_string(),
                        reason: format!("{name} must be a number"),
                    }),
            }
        };
        let lease = number(QUEUE_LEASE, 5000)?;
        if lease < 100 {
            return Err(DriverError::Options {
                endpoint: endpoint.to_string(),
                reason: format!("{QUEUE_LEASE} must be at least 100 (milliseconds)"),
            });
        }
        let ack = match number(QUEUE_ACK, 0)? {
            0 => false,
            1 => true,
            _ => {
                return Err(DriverError::Options {
                    endpoint: endpoint.to_string(),
                    reason: format!("{QUEUE_ACK} is 0 or 1"),
                });
            }
        };
        Ok(Limits {
            ack,
            depth: number(QUEUE_DEPTH, 0)?,
            max_attempts: number(QUEUE_MAX_ATTEMPTS, 5)?.clamp(1, i32::MAX as u64) as i64,
            lease: Duration::from_millis(lease),
        })
    }
}

/// Starts the endpoint thread of a queue, on `store`, for the socket `link` serves.
fn start(
    endpoint: String,
    queue: String,
    link: &SocketLink,
    store: Box<dyn Store>,
) -> Result<Box<dyn EndpointHandle>, DriverError> {
    let limits = Limits::from_options(link, &endpoint)?;
    let (peer, writer) = match (link.options().socket_type, limits.ack) {
        (SocketType::Push, false) => (SocketType::Pull, true),
        (SocketType::Dealer, false) => (SocketType::Dealer, true),
        (SocketType::Pull, false) => (SocketType::Push, false),
        (SocketType::Dealer, true) => (SocketType::Dealer, false),
        (other, true) => {
            return Err(DriverError::NotSupported {
                endpoint,
                reason: format!(
                    "{QUEUE_ACK}=1 needs a DEALER, which receives messages and sends back their \
                     ids, not a {other}"
                ),
            });
        }
        (other, false) => {
            return Err(DriverError::NotSupported {
                endpoint,
                reason: format!(
                    "a queue takes PUSH or DEALER sockets (writing), PULL sockets (reading) and \
                     DEALER sockets with {QUEUE_ACK}=1 (reading, with acknowledgements), not \
                     {other}"
                ),
            });
        }
    };
    let pipe = link.attach_peer(&endpoint, peer, PeerCaps::default());
    let mut queue_end = QueueEnd {
        store,
        queue,
        limits,
        pipe,
        link: link.clone(),
        endpoint: endpoint.clone(),
    };
    spawn_endpoint(endpoint, "zvtran-queue", move |stop| {
        if writer {
            queue_end.write(&stop);
        } else {
            queue_end.read(&stop);
        }
    })
}

impl Driver for Queues {
    fn scheme(&self) -> &str {
        self.scheme
    }

    fn bind(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        self.connect(address, link)
    }

    fn connect(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        let endpoint = format!("{}://{address}", self.scheme);
        let example = if self.scheme == "sqlite" {
            "sqlite:///path/file.db?queue=NAME"
        } else {
            "postgres://user@host:5432/database?queue=NAME"
        };
        let (location, queue) = split_queue(self.scheme, address, example)?;
        let store = self.store(&endpoint, &location, link)?;
        start(endpoint, queue, link, store)
    }

    fn capabilities(&self, _address: &str) -> Capabilities {
        Capabilities::MESSAGE
    }

    fn option_names(&self) -> &[&'static str] {
        &[QUEUE_DEPTH, QUEUE_MAX_ATTEMPTS, QUEUE_LEASE, QUEUE_ACK]
    }
}

/// One socket's end of a queue, served by the endpoint's thread.
struct QueueEnd {
    store: Box<dyn Store>,
    queue: String,
    limits: Limits,
    pipe: PipeEnd,
    link: SocketLink,
    endpoint: String,
}

impl QueueEnd {
    fn report(&self, what: &str, e: impl std::fmt::Display) {
        self.link.monitor(
            EventKind::Disconnected {
                reason: format!("queue {what}: {e}"),
            },
            &self.endpoint,
        );
    }

    /// PUSH side: what the socket queued goes into the store, a transaction per batch.
    fn write(&mut self, stop: &StopFlag) {
        let closed = wake_on_news(&self.pipe);
        let mut batch = Vec::new();
        // When the socket let go: what is left is stored within LINGER, or given up.
        let mut closing: Option<Instant> = None;
        loop {
            let last = stop.load(Ordering::Acquire) || closed.load(Ordering::Acquire);
            if last {
                let since = *closing.get_or_insert_with(Instant::now);
                let linger = self.link.options().linger();
                if linger.is_some_and(|l| since.elapsed() >= l) {
                    let left = batch.len() + std::iter::from_fn(|| self.pipe.try_recv()).count();
                    if left > 0 {
                        self.report(
                            "closed with messages it could not store (LINGER ran out)",
                            left,
                        );
                    }
                    return;
                }
            }
            // At the depth limit, take nothing: the socket's queue fills and its sends block,
            // as at a high-water mark.
            let room = match self.limits.depth {
                0 => WRITE_BATCH,
                depth => {
                    let held = self.store.depth(&self.queue).unwrap_or(0);
                    (depth.saturating_sub(held)).min(WRITE_BATCH as u64) as usize
                }
            };
            if room == 0 && !last {
                std::thread::sleep(IDLE);
                continue;
            }
            while batch.len() < room.max(usize::from(last) * WRITE_BATCH) {
                let Some(msg) = self.pipe.try_recv() else {
                    break;
                };
                batch.push(encode(&msg));
            }
            if !batch.is_empty() {
                match self.store.insert(&self.queue, &batch) {
                    Ok(()) => batch.clear(),
                    Err(e) => {
                        // Kept for the next round: the store may be busy, full or away for a
                        // while.
                        self.report("write failed", e);
                        std::thread::sleep(IDLE * 5);
                    }
                }
                continue;
            }
            if last {
                return;
            }
            std::thread::park_timeout(IDLE);
        }
    }

    /// PULL side: claimed rows in order into the socket's queue; a row is deleted once the
    /// socket took it, and given back if the socket closes first.
    fn read(&mut self, stop: &StopFlag) {
        let closed = wake_on_news(&self.pipe);
        // Handed to the socket, oldest first; claimed but not handed yet (the socket's queue
        // was full).
        let mut handed: VecDeque<i64> = VecDeque::new();
        let mut pending: VecDeque<(i64, Message)> = VecDeque::new();
        let mut news = true;
        let mut after = 0i64;
        let mut last_whole = Instant::now();
        let mut look_whole = false;
        let mut last_renewal = Instant::now();
        // An acknowledging reader holds no more than its receive high-water mark unacknowledged.
        let most_unacked = self.link.options().rcvhwm.max(BATCH);
        while !stop.load(Ordering::Acquire) && !closed.load(Ordering::Acquire) {
            if self.limits.ack {
                self.take_acknowledgements(&mut handed);
            } else {
                self.forget_taken(&mut handed);
            }
            if last_renewal.elapsed() >= self.limits.lease / 3 {
                let held: Vec<i64> = handed
                    .iter()
                    .copied()
                    .chain(pending.iter().map(|(id, _)| *id))
                    .collect();
                if !held.is_empty()
                    && let Err(e) = self.store.renew(&held, self.limits.lease)
                {
                    self.report("lease renewal failed", e);
                }
                last_renewal = Instant::now();
            }
            while let Some((id, mut msg)) = pending.pop_front() {
                if self.limits.ack {
                    msg.push_front(Bytes::copy_from_slice(&id.to_be_bytes()));
                }
                if let Err(mut msg) = self.pipe.try_send(msg) {
                    if self.limits.ack {
                        msg.pop_front();
                    }
                    pending.push_front((id, msg));
                    break;
                }
                handed.push_back(id);
            }
            if !pending.is_empty() {
                // The socket's queue is full; taking from it wakes this thread.
                std::thread::park_timeout(IDLE);
                continue;
            }
            // Claims go on past the last row claimed, so rows this reader holds are not looked
            // at again. Rows given back or whose lease ran out (a reader died) may lie before
            // it: the whole queue is looked at when the rows past it ran out, and now and then.
            let whole = look_whole || last_whole.elapsed() >= self.limits.lease / 2;
            let room = !self.limits.ack || handed.len() < most_unacked;
            if room && (news || whole) {
                let from = if whole { 0 } else { after };
                match self
                    .store
                    .claim(&self.queue, from, BATCH, self.limits.lease)
                {
                    Ok(rows) => {
                        if whole {
                            last_whole = Instant::now();
                        }
                        if let Some(last) = rows.last() {
                            after = after.max(last.id);
                        }
                        let any = !rows.is_empty();
                        // Nothing past the mark: look at the whole queue at once.
                        look_whole = !whole && !any;
                        news = rows.len() == BATCH || look_whole;
                        self.sort_claimed(rows, &mut pending);
                        if any {
                            continue;
                        }
                    }
                    Err(e) => {
                        self.report("read failed", e);
                        std::thread::sleep(IDLE * 5);
                        continue;
                    }
                }
            }
            let wait = if handed.is_empty() { LISTEN } else { IDLE };
            news = self.store.wait_for_news(&self.queue, wait);
        }
        // Closing: what the socket took (or acknowledged) leaves the store; the rest goes back
        // to the queue at once, for the next reader.
        if self.limits.ack {
            self.take_acknowledgements(&mut handed);
        } else {
            self.forget_taken(&mut handed);
        }
        let untaken: Vec<i64> = handed.into_iter().collect();
        let unhanded: Vec<i64> = pending.into_iter().map(|(id, _)| id).collect();
        for (ids, uncount) in [(untaken, false), (unhanded, true)] {
            if !ids.is_empty()
                && let Err(e) = self.store.release(&ids, uncount)
            {
                self.report("release failed", e);
            }
        }
    }

    /// Claimed rows to hand over, with dead letters moved and foreign rows reported.
    fn sort_claimed(&mut self, rows: Vec<Claimed>, pending: &mut VecDeque<(i64, Message)>) {
        for row in rows {
            if row.attempts > self.limits.max_attempts {
                // Handed over that often and never taken: to the dead letters.
                let dead = format!("{}.dead", self.queue);
                match self.store.move_to(row.id, &dead) {
                    Ok(()) => self.report("moved a message to", &dead),
                    Err(e) => self.report("dead-letter move failed", e),
                }
                continue;
            }
            match decode(&row.body) {
                Some(msg) => pending.push_back((row.id, msg)),
                None => {
                    // Not one of ours: reported and set aside in `NAME.foreign`, never
                    // delivered.
                    self.report("skipped a row that is not a message", row.id);
                    let foreign = format!("{}.foreign", self.queue);
                    if let Err(e) = self.store.move_to(row.id, &foreign) {
                        self.report("foreign row move failed", e);
                    }
                }
            }
        }
    }

    /// Acknowledgements from the socket: an id alone deletes its message, an id and
    /// [`RETRY`] gives it back to the queue at once. Anything else is reported and ignored.
    fn take_acknowledgements(&mut self, handed: &mut VecDeque<i64>) {
        let mut done = Vec::new();
        let mut retry = Vec::new();
        let mut held: Option<std::collections::HashSet<i64>> = None;
        while let Some(msg) = self.pipe.try_recv() {
            let held = held.get_or_insert_with(|| handed.iter().copied().collect());
            let frames = msg.frames();
            let id = frames
                .first()
                .and_then(|f| <[u8; 8]>::try_from(&f[..]).ok())
                .map(i64::from_be_bytes);
            let retrying = match &frames[1.min(frames.len())..] {
                [] => Some(false),
                [word] if word[..] == *RETRY => Some(true),
                _ => None,
            };
            match (id, retrying) {
                (Some(id), Some(again)) if held.remove(&id) => {
                    if again {
                        retry.push(id);
                    } else {
                        done.push(id);
                    }
                }
                _ => self.report(
                    "ignored an acknowledgement that is not an id it holds (8 octets), alone or \
                     with RETRY",
                    format!("{} frames", frames.len()),
                ),
            }
        }
        if done.is_empty() && retry.is_empty() {
            return;
        }
        // What is still held after the acknowledgements, in the order it was handed.
        if let Some(held) = held {
            handed.retain(|id| held.contains(id));
        }
        if !done.is_empty()
            && let Err(e) = self.store.delete(&done)
        {
            self.report("delete failed", e);
        }
        if !retry.is_empty()
            && let Err(e) = self.store.release(&retry, false)
        {
            self.report("release failed", e);
        }
    }

    /// What the socket took since last time leaves the store.
    fn forget_taken(&mut self, handed: &mut VecDeque<i64>) {
        let taken = handed.len().saturating_sub(self.pipe.unread_outbound());
        if taken == 0 {
            return;
        }
        let ids: Vec<i64> = handed.drain(..taken).collect();
        if let Err(e) = self.store.delete(&ids) {
            self.report("delete failed", e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_messages_keep_every_frame() {
        let msg = Message::from_frames([&b"a"[..], b"", &[0u8; 70_000][..]]);
        assert_eq!(decode(&encode(&msg)), Some(msg));
    }

    #[test]
    fn rows_that_are_not_messages_are_refused_without_allocating_what_they_declare() {
        for body in [
            &b""[..],
            b"\x00\x00",
            b"\xff\xff\xff\xffshort",
            b"\x00\x00\x00\x01ab",
            b"\x00\x00\x00\x00\x00",
        ] {
            assert_eq!(decode(body), None, "{body:?}");
        }
    }

    #[test]
    fn the_queue_parameter_is_taken_out_of_the_address() {
        let (rest, queue) =
            split_queue("postgres", "u@h/db?sslmode=disable&queue=jobs&x=1", "…").unwrap();
        assert_eq!(
            (rest.as_str(), queue.as_str()),
            ("u@h/db?sslmode=disable&x=1", "jobs")
        );
        let (rest, queue) = split_queue("sqlite", "/tmp/q.db?queue=a", "…").unwrap();
        assert_eq!((rest.as_str(), queue.as_str()), ("/tmp/q.db", "a"));
        assert!(split_queue("sqlite", "/tmp/q.db?queue=", "…").is_err());
        assert!(split_queue("sqlite", "?queue=a", "…").is_err());
    }
}
