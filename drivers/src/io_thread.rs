//! An I/O thread: one mio reactor running listeners and stream connections for many sockets.
//!
//! Every stream connection runs a `zmtp::Connection`. Bytes read are decoded and pushed into
//! the peer's pipe as whole messages, in batches; messages the socket queued are drained from
//! the pipe, encoded and written with vectored writes. A full inbound pipe pauses reading (the
//! high-water mark reaches back to TCP flow control); an empty outbound pipe puts the
//! connection to sleep until the socket sends. Connecting endpoints keep their pipe across
//! reconnections, which back off from RECONNECT_IVL to RECONNECT_IVL_MAX.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_queue::SegQueue;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use zmtp::command::Subscription;
use zmtp::{Connection, Event, Message, Metadata, Role};

use crate::driver::{PeerCaps, SocketCommand, SocketLink};
use crate::monitor::EventKind;
use crate::pipe::{PipeEnd, PipeEvent, Wake, pipe};
use crate::stream::{StreamDriver, StreamListener, StreamTransport};
use crate::zap::{ZapRequest, ZapResponder, next_serial};

const WAKER: Token = Token(usize::MAX);
/// Reads per readiness event before other connections get a turn.
const READ_BUDGET: usize = 16;
/// Encoded octets a connection may hold before it stops draining its pipe and writes.
const WRITE_BATCH: usize = 256 * 1024;
/// Slices per vectored write.
const IOV: usize = 64;
/// How long an I/O thread that ran out of work keeps polling (without blocking) before it
/// sleeps in the kernel: a request-reply round trip then costs no wake-up of a sleeping thread
/// on this side. It does not yield between polls: under load `sched_yield` gives the CPU away
/// for a whole time slice (milliseconds), which stalls the pipeline it was meant to speed up.
const SPIN: Duration = Duration::from_micros(50);

/// Work for an I/O thread, sent from sockets, drivers and pipes.
pub enum IoCommand {
    /// Start polling a bound listener.
    Listen {
        /// The endpoint key (for [`IoCommand::CloseEndpoint`]).
        key: u64,
        /// The listener.
        listener: Box<dyn StreamListener>,
        /// The socket it serves.
        link: SocketLink,
    },
    /// Start connecting (and reconnecting) to an endpoint.
    Connect {
        /// The endpoint key.
        key: u64,
        /// The transport.
        driver: Arc<dyn StreamDriver>,
        /// The address after `scheme://`.
        address: String,
        /// The endpoint as given.
        endpoint: String,
        /// The socket it serves.
        link: SocketLink,
        /// The peer id the socket knows this endpoint's pipe by.
        peer: u64,
        /// The driver's end of the pipe, which the socket already holds the other end of
        /// (IMMEDIATE off), or `None` to make one after each handshake (IMMEDIATE on).
        pipe: Option<PipeEnd>,
    },
    /// Unbind or disconnect: close a listener and its connections, or a connecting endpoint.
    CloseEndpoint {
        /// The endpoint key.
        key: u64,
        /// Signalled once the listener is closed (the port is free) or the connection is
        /// closing.
        done: Option<crossbeam_channel::Sender<()>>,
    },
    /// A pipe has news for the connection registered with `token`.
    Pipe {
        /// The connection.
        token: usize,
        /// What happened.
        event: PipeEvent,
    },
    /// A ZAP answer for the connection registered with `token` (see [`crate::zap`]).
    Authenticated {
        /// The connection.
        token: usize,
        /// The request it answers; a stale answer (the connection is gone) is ignored.
        serial: u64,
        /// The decision.
        outcome: zmtp::AuthOutcome,
    },
    /// Finish lingering connections, then exit.
    Stop,
}

struct Shared {
    cmds: SegQueue<IoCommand>,
    waker: mio::Waker,
    sleeping: AtomicBool,
}

/// A handle to an I/O thread: sends it commands, wakes it if it sleeps.
#[derive(Clone)]
pub struct IoHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for IoHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IoHandle")
    }
}

impl IoHandle {
    /// Queues a command and wakes the thread if it is asleep.
    pub fn send(&self, cmd: IoCommand) {
        self.shared.cmds.push(cmd);
        fence(Ordering::SeqCst);
        if self.shared.sleeping.swap(false, Ordering::AcqRel) {
            let _ = self.shared.waker.wake();
        }
    }

    fn as_wake(&self) -> Arc<dyn Wake> {
        Arc::new(self.clone())
    }
}

impl Wake for IoHandle {
    fn wake(&self, token: u64, event: PipeEvent) {
        self.send(IoCommand::Pipe {
            token: token as usize,
            event,
        });
    }
}

/// A running I/O thread. Dropping it stops the thread after its connections finish lingering.
#[derive(Debug)]
pub struct IoThread {
    handle: IoHandle,
    join: Option<JoinHandle<()>>,
}

impl IoThread {
    /// Starts a thread named `name`.
    pub fn spawn(name: String) -> io::Result<IoThread> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(Shared {
            cmds: SegQueue::new(),
            waker,
            sleeping: AtomicBool::new(false),
        });
        let handle = IoHandle { shared };
        let reactor = Reactor {
            poll,
            handle: handle.clone(),
            wake: handle.as_wake(),
            units: Slab::new(),
            timers: BinaryHeap::new(),
            ready: VecDeque::new(),
            scratch: vec![0; 64 * 1024].into_boxed_slice(),
            stopping: false,
        };
        let join = std::thread::Builder::new()
            .name(name)
            .spawn(move || reactor.run())?;
        Ok(IoThread {
            handle,
            join: Some(join),
        })
    }

    /// A handle for sending commands.
    pub fn handle(&self) -> &IoHandle {
        &self.handle
    }
}

impl Drop for IoThread {
    fn drop(&mut self) {
        self.handle.send(IoCommand::Stop);
        if let Some(join) = self.join.take() {
            let _ = join.join();
        }
    }
}

enum Unit {
    Listener(ListenerUnit),
    Stream(Box<StreamUnit>),
}

struct ListenerUnit {
    key: u64,
    listener: Box<dyn StreamListener>,
    link: SocketLink,
    endpoint: String,
}

/// One peer over a stream: an accepted connection, or a connecting endpoint that keeps its
/// pipe across reconnections.
struct StreamUnit {
    /// This unit's slab index: its mio token and its pipe waker token.
    index: usize,
    key: u64,
    link: SocketLink,
    endpoint: String,
    peer: u64,
    pipe: Option<PipeEnd>,
    live: Option<Live>,
    reconnect: Option<Reconnect>,
    /// Set when the socket let go: flush what is queued, then close by this deadline.
    closing: Option<Option<Instant>>,
    /// Handshakes completed on this unit (more than one: it reconnected).
    handshakes: u32,
    /// Once everything is written: our direction is shut and we wait (until this deadline) for
    /// the peer to close first, so it reads all we sent before it sees the end.
    half_closed: Option<Instant>,
    timer_gen: u64,
    timer_at: Option<Instant>,
}

struct Reconnect {
    driver: Arc<dyn StreamDriver>,
    address: String,
    ivl: Duration,
    at: Option<Instant>,
}

struct Live {
    stream: Box<dyn StreamTransport>,
    zmtp: Connection,
    connected: bool,
    can_write: bool,
    readable: bool,
    pending_in: VecDeque<Message>,
    read_paused: bool,
    /// The ZAP request this connection waits on (0: none).
    auth_serial: u64,
    /// Properties attached to each message received (secured or authenticated connections).
    properties: Option<Arc<Metadata>>,
}

/// Why a connection ended.
struct Fail {
    reason: String,
    during_handshake: bool,
    no_retry: bool,
    /// The ZAP status when authentication refused (us or the peer).
    auth_status: Option<u16>,
}

struct Reactor {
    poll: Poll,
    handle: IoHandle,
    wake: Arc<dyn Wake>,
    units: Slab<Unit>,
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    /// Connections with work left after their budget (edge-triggered readiness won't repeat).
    ready: VecDeque<usize>,
    scratch: Box<[u8]>,
    stopping: bool,
}

impl Reactor {
    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            // Events from the last round must not be handled again if this round does not poll.
            events.clear();
            let now = Instant::now();
            let mut timeout = self
                .timers
                .peek()
                .map(|Reverse((at, _, _))| at.saturating_duration_since(now));
            if self.handle.shared.cmds.is_empty() && self.ready.is_empty() {
                if let Err(e) = self.spin(&mut events, timeout) {
                    if e.kind() != io::ErrorKind::Interrupted {
                        return;
                    }
                }
            }
            if events.is_empty() {
                self.handle.shared.sleeping.store(true, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                if !self.handle.shared.cmds.is_empty() || !self.ready.is_empty() {
                    timeout = Some(Duration::ZERO);
                }
                if let Err(e) = self.poll.poll(&mut events, timeout) {
                    if e.kind() != io::ErrorKind::Interrupted {
                        return;
                    }
                }
                self.handle.shared.sleeping.store(false, Ordering::SeqCst);
            }
            let now = Instant::now();
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                let i = ev.token().0;
                let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                let writable = ev.is_writable() || ev.is_write_closed();
                self.on_ready(i, readable, writable, now);
            }
            for _ in 0..self.ready.len() {
                if let Some(i) = self.ready.pop_front() {
                    self.service(i, now);
                }
            }
            while let Some(cmd) = self.handle.shared.cmds.pop() {
                self.on_command(cmd, now);
            }
            self.fire_timers(now);
            if self.stopping && self.units.is_empty() {
                return;
            }
        }
    }

    /// Polls without blocking for up to [`SPIN`] (or until a timer is due), returning as soon
    /// as there are events or commands. The caller then sleeps if nothing came.
    fn spin(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let until = Instant::now() + timeout.map_or(SPIN, |t| t.min(SPIN));
        loop {
            self.poll.poll(events, Some(Duration::ZERO))?;
            if !events.is_empty() || !self.handle.shared.cmds.is_empty() {
                return Ok(());
            }
            if Instant::now() >= until {
                return Ok(());
            }
            std::thread::yield_now();
        }
    }

    fn on_command(&mut self, cmd: IoCommand, now: Instant) {
        match cmd {
            IoCommand::Listen {
                key,
                mut listener,
                link,
            } => {
                let entry = self.units.vacant_entry();
                let token = Token(entry.key());
                if let Err(e) =
                    self.poll
                        .registry()
                        .register(&mut *listener, token, Interest::READABLE)
                {
                    link.monitor(
                        EventKind::BindFailed {
                            reason: e.to_string(),
                        },
                        &listener.endpoint(),
                    );
                    return;
                }
                let endpoint = listener.endpoint();
                entry.insert(Unit::Listener(ListenerUnit {
                    key,
                    listener,
                    link,
                    endpoint,
                }));
                // Connections may already be waiting.
                self.accept(token.0, now);
            }
            IoCommand::Connect {
                key,
                driver,
                address,
                endpoint,
                link,
                peer,
                pipe,
            } => {
                let options = link.options().clone();
                let entry = self.units.vacant_entry();
                let i = entry.key();
                if let Some(p) = &pipe {
                    p.set_waker(self.wake.clone(), i as u64);
                }
                let ivl = options.reconnect_ivl.unwrap_or(Duration::from_millis(100));
                entry.insert(Unit::Stream(Box::new(StreamUnit {
                    index: i,
                    key,
                    link,
                    endpoint,
                    peer,
                    pipe,
                    live: None,
                    reconnect: Some(Reconnect {
                        driver,
                        address,
                        ivl,
                        at: None,
                    }),
                    closing: None,
                    handshakes: 0,
                    half_closed: None,
                    timer_gen: 0,
                    timer_at: None,
                })));
                self.start_connect(i, now);
            }
            IoCommand::CloseEndpoint { key, done } => {
                let matching: Vec<usize> = self
                    .units
                    .iter()
                    .filter(|(_, u)| match u {
                        Unit::Listener(l) => l.key == key,
                        Unit::Stream(s) => s.key == key,
                    })
                    .map(|(i, _)| i)
                    .collect();
                for i in matching {
                    match self.units.get(i) {
                        Some(Unit::Listener(_)) => self.close_listener(i),
                        Some(Unit::Stream(_)) => self.begin_close(i, now),
                        None => {}
                    }
                }
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }
            IoCommand::Pipe { token, event } => match event {
                PipeEvent::Readable => self.service(token, now),
                PipeEvent::Writable => {
                    if let Some(Unit::Stream(s)) = self.units.get_mut(token) {
                        if let Some(live) = &mut s.live {
                            live.read_paused = false;
                            live.readable = true;
                        }
                    }
                    self.service(token, now);
                }
                PipeEvent::Closed => self.begin_close(token, now),
            },
            IoCommand::Authenticated {
                token,
                serial,
                outcome,
            } => self.on_authenticated(token, serial, outcome, now),
            IoCommand::Stop => {
                self.stopping = true;
                let all: Vec<usize> = self.units.iter().map(|(i, _)| i).collect();
                for i in all {
                    match self.units.get(i) {
                        Some(Unit::Listener(_)) => self.close_listener(i),
                        Some(Unit::Stream(_)) => self.begin_close(i, now),
                        None => {}
                    }
                }
            }
        }
    }

    fn on_authenticated(
        &mut self,
        i: usize,
        serial: u64,
        outcome: zmtp::AuthOutcome,
        now: Instant,
    ) {
        let Some(Unit::Stream(s)) = self.units.get_mut(i) else {
            return;
        };
        let Some(live) = &mut s.live else {
            return;
        };
        if live.auth_serial != serial {
            return;
        }
        live.auth_serial = 0;
        if let Err(e) = live.zmtp.authenticate(outcome, now) {
            let fail = Fail::zmtp(live, &e);
            self.fail(i, fail, now);
            return;
        }
        s.take_events();
        self.service(i, now);
    }

    fn on_ready(&mut self, i: usize, readable: bool, writable: bool, now: Instant) {
        match self.units.get_mut(i) {
            Some(Unit::Listener(_)) => self.accept(i, now),
            Some(Unit::Stream(s)) => {
                if let Some(live) = &mut s.live {
                    live.readable |= readable;
                    live.can_write |= writable;
                    if writable && !live.connected {
                        match live.stream.finish_connect() {
                            Ok(true) => {
                                live.connected = true;
                                let endpoint = s.endpoint.clone();
                                s.link.monitor(EventKind::Connected, &endpoint);
                            }
                            Ok(false) => return,
                            Err(e) => {
                                let fail = Fail {
                                    reason: e.to_string(),
                                    during_handshake: false,
                                    no_retry: false,
                                    auth_status: None,
                                };
                                self.fail(i, fail, now);
                                return;
                            }
                        }
                    }
                }
                self.service(i, now);
            }
            None => {}
        }
    }

    fn accept(&mut self, i: usize, now: Instant) {
        loop {
            let Some(Unit::Listener(l)) = self.units.get_mut(i) else {
                return;
            };
            let mut stream = match l.listener.accept() {
                Ok(stream) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    l.link.monitor(
                        EventKind::AcceptFailed {
                            reason: e.to_string(),
                        },
                        &l.endpoint,
                    );
                    return;
                }
            };
            let (key, link, endpoint) = (l.key, l.link.clone(), l.endpoint.clone());
            link.monitor(
                EventKind::Accepted {
                    peer: stream.peer_address(),
                },
                &endpoint,
            );
            let entry = self.units.vacant_entry();
            let j = entry.key();
            if self
                .poll
                .registry()
                .register(
                    &mut *stream,
                    Token(j),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .is_err()
            {
                continue;
            }
            let options = link.options().clone();
            let zmtp = match Connection::new(options.zmtp_config(Role::Server), now) {
                Ok(z) => z,
                Err(_) => continue,
            };
            entry.insert(Unit::Stream(Box::new(StreamUnit {
                index: j,
                key,
                peer: link.next_peer_id(),
                link,
                endpoint,
                pipe: None,
                live: Some(Live::new(stream, zmtp, true)),
                reconnect: None,
                closing: None,
                handshakes: 0,
                half_closed: None,
                timer_gen: 0,
                timer_at: None,
            })));
            self.service(j, now);
        }
    }

    fn close_listener(&mut self, i: usize) {
        if let Some(Unit::Listener(mut l)) = self.units.try_remove(i) {
            let _ = self.poll.registry().deregister(&mut *l.listener);
            l.listener.cleanup();
            l.link.monitor(EventKind::Closed, &l.endpoint);
            // Connections accepted by it that never completed a handshake go too.
            let orphans: Vec<usize> = self
                .units
                .iter()
                .filter(|(_, u)| matches!(u, Unit::Stream(s) if s.key == l.key && s.pipe.is_none()))
                .map(|(j, _)| j)
                .collect();
            for j in orphans {
                self.remove_stream(j);
            }
        }
    }

    fn start_connect(&mut self, i: usize, now: Instant) {
        let Some(Unit::Stream(s)) = self.units.get_mut(i) else {
            return;
        };
        let Some(r) = &mut s.reconnect else {
            return;
        };
        r.at = None;
        let options = s.link.options().clone();
        let attempt = r
            .driver
            .connect(&r.address, &options)
            .and_then(|mut stream| {
                self.poll.registry().register(
                    &mut *stream,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                Ok(stream)
            });
        match attempt {
            Ok(stream) => match Connection::new(options.zmtp_config(Role::Client), now) {
                Ok(zmtp) => s.live = Some(Live::new(stream, zmtp, false)),
                Err(e) => {
                    let fail = Fail {
                        reason: e.to_string(),
                        during_handshake: false,
                        no_retry: true,
                        auth_status: None,
                    };
                    self.fail(i, fail, now);
                }
            },
            Err(e) => {
                s.link.monitor(EventKind::ConnectDelayed, &s.endpoint);
                let fail = Fail {
                    reason: e.to_string(),
                    during_handshake: false,
                    no_retry: false,
                    auth_status: None,
                };
                self.fail(i, fail, now);
            }
        }
        self.reschedule(i);
    }

    /// Reads what can be read, writes what can be written, and settles the unit's fate.
    fn service(&mut self, i: usize, now: Instant) {
        let result = self.read(i, now).and_then(|()| self.write(i));
        match result {
            Ok(()) => {
                if self.finished_closing(i) && !self.half_close(i, now) {
                    self.remove_stream(i);
                    return;
                }
                self.reschedule(i);
            }
            Err(fail) => self.fail(i, fail, now),
        }
    }

    /// Everything is written: shut our direction and let the peer close first, within what is
    /// left of LINGER (at most 10 s). A peer that stopped reading at its high-water mark then
    /// still reads all we sent: libzmq drops unread data when its peer closes outright
    /// (libzmq issue #4660). Returns false when there is no connection to wait on.
    fn half_close(&mut self, i: usize, now: Instant) -> bool {
        const MAX_WAIT: Duration = Duration::from_secs(10);
        let Some(Unit::Stream(s)) = self.units.get_mut(i) else {
            return false;
        };
        if s.half_closed.is_some() {
            return true;
        }
        let Some(live) = &mut s.live else {
            return false;
        };
        if !live.zmtp.is_ready() || live.stream.shutdown_write().is_err() {
            return false;
        }
        let linger_end = s.closing.flatten().unwrap_or(now + MAX_WAIT);
        s.half_closed = Some(linger_end.min(now + MAX_WAIT));
        live.readable = true;
        live.read_paused = false;
        true
    }

    fn read(&mut self, i: usize, now: Instant) -> Result<(), Fail> {
        let scratch = &mut self.scratch;
        let Some(Unit::Stream(s)) = self.units.get_mut(i) else {
            return Ok(());
        };
        let Some(live) = &mut s.live else {
            return Ok(());
        };
        // Messages held back by a full pipe go first.
        if !live.pending_in.is_empty() {
            if let Some(pipe) = &s.pipe {
                pipe.send_batch(&mut live.pending_in);
            }
            if !live.pending_in.is_empty() {
                live.read_paused = true;
                return Ok(());
            }
            live.read_paused = false;
        }
        if !live.readable || live.read_paused || !live.connected {
            return Ok(());
        }
        if s.half_closed.is_some() {
            // Whatever the peer still sends is not wanted: read to its end of stream.
            loop {
                match live.stream.read(scratch) {
                    Ok(0) => return Err(Fail::closed(live, "closed after linger")),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        live.readable = false;
                        return Ok(());
                    }
                    // Reset, or a transport's own error at the end: gone all the same.
                    Err(_) => return Err(Fail::closed(live, "closed after linger")),
                }
            }
        }
        for _ in 0..READ_BUDGET {
            let Some(live) = &mut s.live else {
                return Ok(());
            };
            if live.read_paused {
                return Ok(());
            }
            // Straight into the connection's read buffer: frames are sliced out of it later.
            let limit = live.zmtp.read_limit();
            let buf = live.zmtp.read_buffer();
            let room = (buf.capacity() - buf.len()).min(limit);
            match live.stream.read_into(buf, room) {
                Ok(0) => return Err(Fail::closed(live, "the peer closed the connection")),
                Ok(_) => {
                    live.zmtp
                        .handle_read(now)
                        .map_err(|e| Fail::zmtp(live, &e))?;
                    s.take_events();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    live.readable = false;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Fail::io(live, &e)),
            }
        }
        // Budget spent with data left: come back after the others had a turn.
        self.ready.push_back(i);
        Ok(())
    }

    fn write(&mut self, i: usize) -> Result<(), Fail> {
        let Some(Unit::Stream(s)) = self.units.get_mut(i) else {
            return Ok(());
        };
        let socket_type = s.link.options().socket_type;
        let Some(live) = &mut s.live else {
            return Ok(());
        };
        if !live.connected {
            return Ok(());
        }
        loop {
            if live.zmtp.is_ready() {
                if let Some(pipe) = &s.pipe {
                    while live.zmtp.transmit_len() < WRITE_BATCH {
                        let Some(msg) = pipe.try_recv() else {
                            break;
                        };
                        encode(&mut live.zmtp, msg, socket_type);
                    }
                }
            }
            if live.zmtp.transmit_len() == 0 || !live.can_write {
                // A transport with output of its own (TLS records) pushes it out now.
                if live.can_write && live.stream.has_pending_output() {
                    match live.stream.flush() {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => live.can_write = false,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Fail::io(live, &e)),
                    }
                }
                return Ok(());
            }
            let mut iov = [IoSlice::new(&[]); IOV];
            let n = live.zmtp.transmit_slices(&mut iov);
            let written = live.stream.write_vectored(iov.get(..n).unwrap_or_default());
            match written {
                Ok(0) => return Err(Fail::closed(live, "the connection closed while writing")),
                Ok(w) => live.zmtp.advance_transmit(w),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    live.can_write = false;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Fail::io(live, &e)),
            }
        }
    }

    /// The socket let go of this peer (closed, disconnected or unbound): flush within LINGER.
    fn begin_close(&mut self, i: usize, now: Instant) {
        let Some(Unit::Stream(s)) = self.units.get_mut(i) else {
            return;
        };
        if s.closing.is_none() {
            s.closing = Some(s.link.options().linger().map(|l| now + l));
        }
        let linger_over = s.closing.flatten().is_some_and(|d| d <= now);
        let nothing_queued = s.pipe.as_ref().is_none_or(|p| !p.has_message());
        if linger_over || (s.live.is_none() && nothing_queued) {
            self.remove_stream(i);
            return;
        }
        self.service(i, now);
    }

    /// Whether a closing unit has written everything (or has nothing it could ever write).
    fn finished_closing(&self, i: usize) -> bool {
        let Some(Unit::Stream(s)) = self.units.get(i) else {
            return false;
        };
        if s.closing.is_none() {
            return false;
        }
        let queued = s.pipe.as_ref().is_some_and(|p| p.has_message());
        match &s.live {
            Some(live) if live.zmtp.is_ready() => {
                !queued && live.zmtp.transmit_len() == 0 && !live.stream.has_pending_output()
            }
            // Mid-handshake: an accepted connection has no pipe and nothing to deliver.
            Some(_) => s.pipe.is_none() || !queued,
            None => !queued,
        }
    }

    fn fail(&mut self, i: usize, fail: Fail, now: Instant) {
        let Some(Unit::Stream(s)) = self.units.get_mut(i) else {
            return;
        };
        if let Some(mut live) = s.live.take() {
            // A refusal (ERROR) may be queued: give it one chance to leave.
            if live.connected && live.zmtp.transmit_len() > 0 {
                let mut iov = [IoSlice::new(&[]); IOV];
                let n = live.zmtp.transmit_slices(&mut iov);
                let _ = live.stream.write_vectored(iov.get(..n).unwrap_or_default());
            }
            let _ = self.poll.registry().deregister(&mut *live.stream);
            let kind = if let Some(status) = fail.auth_status {
                EventKind::HandshakeFailedAuth {
                    status,
                    reason: fail.reason.clone(),
                    no_retry: fail.no_retry,
                }
            } else if fail.during_handshake {
                EventKind::HandshakeFailed {
                    reason: fail.reason.clone(),
                    no_retry: fail.no_retry,
                }
            } else {
                EventKind::Disconnected {
                    reason: fail.reason.clone(),
                }
            };
            s.link.monitor(kind, &s.endpoint);
        }
        let options = s.link.options().clone();
        let retry = s.reconnect.is_some()
            && !fail.no_retry
            && options.reconnect_ivl.is_some()
            && (s.closing.is_none() || s.pipe.as_ref().is_some_and(|p| p.has_message()));
        if !retry {
            self.remove_stream(i);
            return;
        }
        if options.immediate {
            s.pipe = None;
        }
        if let Some(r) = &mut s.reconnect {
            r.at = Some(now + r.ivl);
            s.link.monitor(
                EventKind::ConnectRetried {
                    ivl_ms: r.ivl.as_millis() as u64,
                },
                &s.endpoint,
            );
            let max = options.reconnect_ivl_max;
            if !max.is_zero() {
                r.ivl = (r.ivl * 2).min(max);
            }
        }
        self.reschedule(i);
    }

    fn remove_stream(&mut self, i: usize) {
        if let Some(Unit::Stream(mut s)) = self.units.try_remove(i) {
            if let Some(mut live) = s.live.take() {
                let _ = self.poll.registry().deregister(&mut *live.stream);
                if live.zmtp.is_ready() {
                    s.link.monitor(
                        EventKind::Disconnected {
                            reason: "closed".into(),
                        },
                        &s.endpoint,
                    );
                }
            }
            // Dropping the pipe end tells the socket this peer is gone.
        }
    }

    fn reschedule(&mut self, i: usize) {
        let Some(Unit::Stream(s)) = self.units.get_mut(i) else {
            return;
        };
        let zmtp_at = s.live.as_ref().and_then(|l| l.zmtp.poll_timeout());
        let reconnect_at = s.reconnect.as_ref().and_then(|r| r.at);
        let linger_at = s.closing.flatten();
        // The wait for a half-closed peer to close is capped even when LINGER is forever.
        let at = [zmtp_at, reconnect_at, linger_at, s.half_closed]
            .into_iter()
            .flatten()
            .min();
        if at != s.timer_at {
            s.timer_at = at;
            s.timer_gen += 1;
            if let Some(at) = at {
                self.timers.push(Reverse((at, i, s.timer_gen)));
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, i, generation))) = self.timers.peek().copied() {
            if at > now {
                return;
            }
            self.timers.pop();
            let Some(Unit::Stream(s)) = self.units.get_mut(i) else {
                continue;
            };
            if s.timer_gen != generation {
                continue;
            }
            s.timer_at = None;
            if s.closing.flatten().is_some_and(|d| d <= now)
                || s.half_closed.is_some_and(|d| d <= now)
            {
                self.remove_stream(i);
                continue;
            }
            if s.reconnect
                .as_ref()
                .and_then(|r| r.at)
                .is_some_and(|t| t <= now)
            {
                self.start_connect(i, now);
                continue;
            }
            if let Some(live) = &mut s.live {
                if let Err(e) = live.zmtp.handle_timeout(now) {
                    let fail = Fail::zmtp(live, &e);
                    self.fail(i, fail, now);
                    continue;
                }
            }
            self.service(i, now);
        }
    }
}

impl StreamUnit {
    /// Moves what the ZMTP connection produced into the pipe (and the socket).
    fn take_events(&mut self) {
        let Some(live) = &mut self.live else {
            return;
        };
        while let Some(ev) = live.zmtp.poll_event() {
            match ev {
                Event::Ready(info) => {
                    self.link
                        .monitor(EventKind::HandshakeSucceeded, &self.endpoint);
                    if self.link.options().attaches_properties() {
                        live.properties = Some(Arc::new(properties(&info, &*live.stream)));
                    }
                    self.handshakes += 1;
                    let options = self.link.options().clone();
                    if let Some(r) = &mut self.reconnect {
                        r.ivl = options.reconnect_ivl.unwrap_or(r.ivl);
                    }
                    match &mut self.pipe {
                        Some(pipe) => {
                            // On a reconnection a subscriber's queue may hold subscriptions
                            // the old connection never sent: start from a fresh one, which the
                            // socket refills with every subscription. The first connection
                            // sends what the socket queued since connect.
                            let fresh = (options.is_subscriber() && self.handshakes > 1)
                                .then(|| pipe.hiccup(options.outbound_capacity()));
                            self.link.post(SocketCommand::Ready {
                                peer: self.peer,
                                info,
                                fresh,
                            });
                        }
                        None => {
                            let (socket_end, driver_end) =
                                pipe(options.outbound_capacity(), options.inbound_capacity());
                            driver_end.set_waker(self.link.io().as_wake(), self.index as u64);
                            self.pipe = Some(driver_end);
                            self.link.post(SocketCommand::Attach {
                                peer: self.peer,
                                pipe: socket_end,
                                endpoint: self.endpoint.clone(),
                                info: Some(info),
                                assigned_id: None,
                                caps: PeerCaps::default(),
                            });
                        }
                    }
                }
                Event::Message(mut m) => {
                    if let Some(p) = &live.properties {
                        m.set_properties(p.clone());
                    }
                    live.pending_in.push_back(m);
                }
                Event::Subscribe(t) => live
                    .pending_in
                    .push_back(Subscription::Subscribe(t).to_message()),
                Event::Cancel(t) => live
                    .pending_in
                    .push_back(Subscription::Cancel(t).to_message()),
                // A DISH's JOIN and LEAVE reach a RADIO as \x01group / \x00group, the
                // form its pattern reads, like subscriptions.
                Event::Join(g) => live
                    .pending_in
                    .push_back(Subscription::Subscribe(g).to_message()),
                Event::Leave(g) => live
                    .pending_in
                    .push_back(Subscription::Cancel(g).to_message()),
                Event::Authenticate(request) => {
                    let options = self.link.options();
                    let serial = next_serial();
                    live.auth_serial = serial;
                    let responder = ZapResponder::new(
                        self.link.io().clone(),
                        self.index,
                        serial,
                        options.zap_enforce_domain,
                    );
                    let request = ZapRequest {
                        domain: options.zap_domain.clone(),
                        address: ip_of(&live.stream.peer_address()),
                        routing_id: options.routing_id.clone().unwrap_or_default(),
                        mechanism: request.mechanism,
                        credentials: request.credentials,
                    };
                    match &options.authenticator {
                        Some(a) => a.authenticate(request, responder),
                        None => responder.no_handler(),
                    }
                }
            }
        }
        if let Some(pipe) = &self.pipe {
            if !live.pending_in.is_empty() {
                pipe.send_batch(&mut live.pending_in);
            }
        }
        live.read_paused = !live.pending_in.is_empty();
    }
}

impl Live {
    /// Whether the handshake completed on this connection (it stays so after a failure, when
    /// the connection itself is already closed).
    fn handshaken(&self) -> bool {
        self.zmtp.peer().is_some()
    }

    fn new(stream: Box<dyn StreamTransport>, zmtp: Connection, connected: bool) -> Live {
        Live {
            stream,
            zmtp,
            connected,
            can_write: connected,
            readable: true,
            pending_in: VecDeque::new(),
            read_paused: false,
            auth_serial: 0,
            properties: None,
        }
    }
}

impl Fail {
    fn closed(live: &Live, why: &str) -> Fail {
        Fail {
            reason: why.to_string(),
            during_handshake: !live.handshaken(),
            no_retry: false,
            auth_status: None,
        }
    }

    fn io(live: &Live, e: &io::Error) -> Fail {
        // A transport's own handshake failing for good (a TLS certificate) ends it here.
        let fatal = crate::stream::is_fatal(e);
        Fail {
            reason: e.to_string(),
            during_handshake: fatal || !live.handshaken(),
            no_retry: fatal,
            auth_status: None,
        }
    }

    fn zmtp(live: &Live, e: &zmtp::Error) -> Fail {
        Fail {
            reason: e.to_string(),
            during_handshake: !live.handshaken() || matches!(e, zmtp::Error::Refused { .. }),
            no_retry: e.forbids_reconnect(),
            auth_status: e.auth_status(),
        }
    }
}

/// The IP address of a transport's `scheme://ip:port` peer address, as ZAP and `Peer-Address`
/// give it; empty when there is none (ipc).
fn ip_of(peer: &str) -> String {
    let rest = peer.split_once("://").map_or(peer, |(_, r)| r);
    let host = rest.rsplit_once(':').map_or("", |(h, _)| h);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// What `Message::property` answers for a connection: the peer's READY properties, the ZAP
/// handler's, `User-Id` and `Peer-Address`.
fn properties(info: &zmtp::PeerInfo, stream: &dyn StreamTransport) -> Metadata {
    let mut props = info.metadata.clone();
    for (name, value) in info.auth_metadata.iter() {
        let _ = props.insert(name, value.clone());
    }
    if let Some(user) = &info.user_id {
        let _ = props.insert("User-Id", user.clone());
    }
    let ip = ip_of(&stream.peer_address());
    if !ip.is_empty() {
        let _ = props.insert("Peer-Address", ip);
    }
    props
}

/// Hands one message from the socket to ZMTP. A SUB's or XSUB's `\x01topic`/`\x00topic`
/// become SUBSCRIBE/CANCEL (or stay messages for a 3.0 peer, which `zmtp` decides); a DISH's
/// `\x01group`/`\x00group` become JOIN/LEAVE.
fn encode(zmtp: &mut Connection, msg: Message, socket_type: zmtp::SocketType) {
    use zmtp::SocketType::{Dish, Sub, XSub};
    if let ([frame], Sub | XSub | Dish) = (msg.frames(), socket_type) {
        let on = match frame.first() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        };
        if let Some(on) = on {
            let body = frame.slice(1..);
            // The socket already refused what these could refuse (a group over 255 octets).
            let _ = match (socket_type, on) {
                (Dish, true) => zmtp.join(body),
                (Dish, false) => zmtp.leave(body),
                (_, true) => zmtp.subscribe(body),
                (_, false) => zmtp.cancel(body),
            };
            return;
        }
    }
    // Messages are never empty here: sockets refuse empty messages.
    let _ = zmtp.send(msg);
}
