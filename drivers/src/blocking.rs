//! Runs one `zmtp::Connection` over a blocking std stream, for tools, tests and the CLI probe.
//!
//! This is the smallest possible driver: one thread, one peer, no reconnection. Sockets with
//! many peers use the I/O-thread drivers instead.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use zmtp::{Config, Connection, Event, Message, PeerInfo, UsageError};

/// A stream whose reads can time out.
pub trait TimeoutStream: Read + Write {
    /// Sets how long a read may block; `None` blocks forever.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl TimeoutStream for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

impl TimeoutStream for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
}

/// Why a blocking call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockingError {
    /// The stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the stream.
    #[error("the peer closed the connection")]
    Eof,
    /// The ZMTP connection failed (protocol error, refusal, heartbeat or handshake timeout).
    #[error(transparent)]
    Zmtp(#[from] zmtp::Error),
    /// The call was not valid now (for example, sending before the handshake).
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Nothing arrived before the deadline.
    #[error("timed out")]
    Timeout,
}

/// One ZMTP connection driven on the calling thread.
#[derive(Debug)]
pub struct BlockingConnection<S> {
    stream: S,
    conn: Connection,
    events: VecDeque<Event>,
    buf: Box<[u8]>,
}

impl<S: TimeoutStream> BlockingConnection<S> {
    /// Wraps a connected stream; the greeting goes out with the first call that does I/O.
    pub fn new(stream: S, config: Config) -> Result<Self, UsageError> {
        Ok(BlockingConnection {
            stream,
            conn: Connection::new(config, Instant::now())?,
            events: VecDeque::new(),
            buf: vec![0; 64 * 1024].into_boxed_slice(),
        })
    }

    /// Runs the handshake; returns what the peer announced (the `Ready` event is consumed).
    pub fn handshake(&mut self, timeout: Duration) -> Result<PeerInfo, BlockingError> {
        let deadline = Instant::now() + timeout;
        loop {
            let ready = self
                .events
                .iter()
                .position(|ev| matches!(ev, Event::Ready(_)));
            if let Some(Event::Ready(info)) = ready.and_then(|at| self.events.remove(at)) {
                return Ok(info);
            }
            self.step(deadline)?;
        }
    }

    /// Queues a message and writes everything queued.
    pub fn send(&mut self, msg: Message) -> Result<(), BlockingError> {
        self.conn.send(msg)?;
        self.flush()
    }

    /// Subscribes the peer's filter to `topic`.
    pub fn subscribe(&mut self, topic: &[u8]) -> Result<(), BlockingError> {
        self.conn.subscribe(bytes::Bytes::copy_from_slice(topic))?;
        self.flush()
    }

    /// The next event, waiting at most `timeout`. Heartbeats are answered meanwhile.
    pub fn next_event(&mut self, timeout: Duration) -> Result<Event, BlockingError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(ev) = self.events.pop_front() {
                return Ok(ev);
            }
            self.step(deadline)?;
        }
    }

    /// The next message, waiting at most `timeout`; other events are dropped.
    pub fn recv(&mut self, timeout: Duration) -> Result<Message, BlockingError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Event::Message(m) = self.next_event(left)? {
                return Ok(m);
            }
        }
    }

    /// Keeps the connection serviced (timers, PONGs) for `duration`, queueing events.
    pub fn idle(&mut self, duration: Duration) -> Result<(), BlockingError> {
        let deadline = Instant::now() + duration;
        loop {
            match self.step(deadline) {
                Err(BlockingError::Timeout) => return Ok(()),
                Err(e) => return Err(e),
                Ok(()) => {}
            }
        }
    }

    /// The ZMTP connection, for its state and counters.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The underlying stream.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// Writes everything the connection has queued.
    pub fn flush(&mut self) -> Result<(), BlockingError> {
        while let Some(chunk) = self.conn.poll_transmit() {
            self.stream.write_all(&chunk)?;
        }
        self.stream.flush()?;
        Ok(())
    }

    /// One round: flush, fire due timers, then wait for bytes until the next timer or
    /// `deadline`. Returns `Timeout` once `deadline` has passed.
    fn step(&mut self, deadline: Instant) -> Result<(), BlockingError> {
        self.flush()?;
        let now = Instant::now();
        if self.conn.poll_timeout().is_some_and(|t| t <= now) {
            self.conn.handle_timeout(now)?;
            return self.collect();
        }
        if now >= deadline {
            return Err(BlockingError::Timeout);
        }
        let wake = self
            .conn
            .poll_timeout()
            .map_or(deadline, |t| t.min(deadline));
        let wait = wake
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(wait))?;
        match self.stream.read(&mut self.buf) {
            Ok(0) => Err(BlockingError::Eof),
            Ok(n) => {
                let data = self.buf.get(..n).unwrap_or_default();
                let result = self.conn.handle_bytes(data, Instant::now());
                // What a failed connection still queued (an ERROR) goes out before we report.
                let flushed = self.flush();
                result?;
                flushed?;
                self.collect()
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn collect(&mut self) -> Result<(), BlockingError> {
        while let Some(ev) = self.conn.poll_event() {
            self.events.push_back(ev);
        }
        self.flush()
    }
}
