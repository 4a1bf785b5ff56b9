//! Byte-stream transports: a driver supplies connect and accept; the core runs ZMTP on the bytes.
//!
//! A [`StreamDriver`] only opens byte streams. [`Stream`] wraps one into a [`Driver`]: the I/O
//! thread then runs the greeting, handshake and framing (`zmtp::Connection`), heartbeats,
//! reconnection with backoff, high-water marks and linger for every stream it yields. tcp and
//! ipc are written this way, and so can a third party's transport be.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::driver::{
    Capabilities, Driver, DriverError, EndpointHandle, PeerCaps, SocketCommand, SocketLink,
};
use crate::io_thread::{IoCommand, IoHandle};
use crate::options::Options;
use crate::pipe::pipe;

/// A connected, non-blocking byte stream the I/O thread polls.
pub trait StreamTransport: Read + Write + mio::event::Source + Send {
    /// After a writable event on a connecting stream: `Ok(true)` once connected, `Ok(false)`
    /// while still connecting, `Err` if the attempt failed.
    fn finish_connect(&mut self) -> io::Result<bool>;
    /// The remote address, for monitor events.
    fn peer_address(&self) -> String;
    /// Ends our direction (a half-close): the peer reads everything we wrote, then end of
    /// stream. Used at the end of a linger so the peer closes first.
    fn shutdown_write(&mut self) -> io::Result<()>;

    /// Whether bytes the transport accepted in `write` still wait inside it (a TLS layer's
    /// records that the socket did not take). While true, the I/O thread calls `flush` when the
    /// stream is writable, and does not close the connection before it is false.
    fn has_pending_output(&self) -> bool {
        false
    }

    /// Reads into the spare capacity of `buf` (at most `max` octets) and extends it by what was
    /// read; the read buffer of the ZMTP connection, so frames are later sliced out of it with
    /// no copy. The default zero-fills the space first; fd-based transports read into it
    /// directly (see [`crate::fd::read_fd_into`]).
    fn read_into(&mut self, buf: &mut bytes::BytesMut, max: usize) -> io::Result<usize> {
        let len = buf.len();
        buf.resize(len + max, 0);
        let got = self.read(&mut buf[len..]);
        buf.truncate(len + *got.as_ref().unwrap_or(&0));
        got
    }
}

/// A non-blocking listener the I/O thread polls.
pub trait StreamListener: mio::event::Source + Send {
    /// Accepts one waiting connection, `WouldBlock` when none is left.
    fn accept(&mut self) -> io::Result<Box<dyn StreamTransport>>;
    /// The bound endpoint with its address resolved (`tcp://127.0.0.1:41234`).
    fn endpoint(&self) -> String;
    /// Called when the listener closes (ipc removes its socket file).
    fn cleanup(&mut self) {}
}

/// A transport that yields byte streams. `options` are the socket's when it bound or
/// connected, with any transport options of this driver (see [`StreamDriver::option_names`]).
pub trait StreamDriver: Send + Sync + 'static {
    /// The URI scheme.
    fn scheme(&self) -> &'static str;
    /// Binds `address` now (so the caller gets errors such as "address in use" at once).
    fn listen(
        &self,
        address: &str,
        options: &Options,
    ) -> Result<Box<dyn StreamListener>, DriverError>;
    /// Checks `address` (and the options the driver needs) before any attempt, so a malformed
    /// endpoint fails `connect` at once.
    fn check_address(&self, address: &str, options: &Options) -> Result<(), DriverError>;
    /// Starts a non-blocking connection; called on the I/O thread at each (re)connection.
    fn connect(&self, address: &str, options: &Options) -> io::Result<Box<dyn StreamTransport>>;
    /// Socket options this driver takes by name (e.g. `TLS_CERT_CHAIN`); see
    /// [`crate::driver::Driver::option_names`].
    fn option_names(&self) -> &[&'static str] {
        &[]
    }
    /// What the transport can carry; see [`crate::driver::Driver::capabilities`].
    fn capabilities(&self, address: &str) -> Capabilities {
        let _ = address;
        Capabilities::STREAM
    }
}

/// An error that ends a connection for good: the I/O thread reports it as a failed handshake
/// and does not reconnect (a certificate that fails its check will fail again). Make one with
/// [`fatal`].
#[derive(Debug)]
pub struct FatalError(pub String);

impl std::fmt::Display for FatalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FatalError {}

/// An `io::Error` a transport returns from `read`, `write` or `finish_connect` to end the
/// connection without reconnecting; `reason` reaches the monitor event.
pub fn fatal(reason: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, FatalError(reason.into()))
}

/// Whether `e` came from [`fatal`].
pub fn is_fatal(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<FatalError>())
}

/// Makes a [`Driver`] of a [`StreamDriver`].
pub struct Stream<D>(pub Arc<D>);

static NEXT_ENDPOINT: AtomicU64 = AtomicU64::new(1);

impl<D: StreamDriver> Driver for Stream<D> {
    fn scheme(&self) -> &str {
        self.0.scheme()
    }

    fn option_names(&self) -> &[&'static str] {
        self.0.option_names()
    }

    fn capabilities(&self, address: &str) -> Capabilities {
        self.0.capabilities(address)
    }

    fn bind(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        let listener = self.0.listen(address, link.options())?;
        let endpoint = listener.endpoint();
        let key = NEXT_ENDPOINT.fetch_add(1, Ordering::Relaxed);
        link.io().send(IoCommand::Listen {
            key,
            listener,
            link: link.clone(),
        });
        link.monitor(crate::monitor::EventKind::Listening, &endpoint);
        Ok(Box::new(StreamEndpoint {
            key,
            io: link.io().clone(),
            endpoint,
            closed: false,
        }))
    }

    fn connect(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        self.0.check_address(address, link.options())?;
        let key = NEXT_ENDPOINT.fetch_add(1, Ordering::Relaxed);
        let endpoint = format!("{}://{address}", self.0.scheme());
        let driver: Arc<dyn StreamDriver> = self.0.clone();
        let options = link.options();
        let peer = link.next_peer_id();
        // With IMMEDIATE off (the default) the pipe exists from this call on, as in libzmq:
        // messages queue up to the high-water mark while the peer is away.
        let pipe = (!options.immediate).then(|| {
            let (socket_end, driver_end) =
                pipe(options.outbound_capacity(), options.inbound_capacity());
            link.post(SocketCommand::Attach {
                peer,
                pipe: socket_end,
                endpoint: endpoint.clone(),
                info: None,
                assigned_id: options.connect_routing_id.clone(),
                caps: PeerCaps::default(),
            });
            driver_end
        });
        link.io().send(IoCommand::Connect {
            key,
            driver,
            address: address.to_string(),
            endpoint: endpoint.clone(),
            link: link.clone(),
            peer,
            pipe,
        });
        Ok(Box::new(StreamEndpoint {
            key,
            io: link.io().clone(),
            endpoint,
            closed: false,
        }))
    }
}

/// A bound or connected stream endpoint; dropping it closes it.
struct StreamEndpoint {
    key: u64,
    io: IoHandle,
    endpoint: String,
    closed: bool,
}

impl EndpointHandle for StreamEndpoint {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Unbind or disconnect: returns once the I/O thread has closed the listener (so the
    /// address can be bound again at once) or started closing the connection; at most 1 s.
    fn close(mut self: Box<Self>) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.io.send(IoCommand::CloseEndpoint {
            key: self.key,
            done: Some(tx),
        });
        self.closed = true;
        let _ = rx.recv_timeout(std::time::Duration::from_secs(1));
    }
}

impl Drop for StreamEndpoint {
    fn drop(&mut self) {
        if !self.closed {
            self.io.send(IoCommand::CloseEndpoint {
                key: self.key,
                done: None,
            });
        }
    }
}

/// Implements `mio::event::Source` for a wrapper by forwarding to one of its fields: the usual
/// way for a driver's listener or stream type to be polled as what it wraps.
///
/// ```ignore
/// zvtran_drivers::delegate_source!(MyStream, inner);
/// ```
#[macro_export]
macro_rules! delegate_source {
    ($ty:ty, $field:tt) => {
        impl $crate::mio::event::Source for $ty {
            fn register(
                &mut self,
                registry: &$crate::mio::Registry,
                token: $crate::mio::Token,
                interests: $crate::mio::Interest,
            ) -> std::io::Result<()> {
                self.$field.register(registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &$crate::mio::Registry,
                token: $crate::mio::Token,
                interests: $crate::mio::Interest,
            ) -> std::io::Result<()> {
                self.$field.reregister(registry, token, interests)
            }

            fn deregister(&mut self, registry: &$crate::mio::Registry) -> std::io::Result<()> {
                self.$field.deregister(registry)
            }
        }
    };
}
