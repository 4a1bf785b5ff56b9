//! Transports for zvtran: each driver owns one kind of transport at one edge and hands whole
//! messages to a socket at the other.
//!
//! [`driver`] holds the `Driver` trait and the registry by URI scheme; [`io_thread`] runs the
//! stream transports ([`tcp`], [`ipc`]) with ZMTP, reconnection and heartbeats; [`inproc`] joins
//! sockets of one context directly; [`zap`] carries authentication requests to the socket's
//! authenticator; [`udp`] holds the datagram format and addresses the udp driver builds on;
//! [`blocking`] runs one [`zmtp::Connection`] over a blocking stream.

pub mod blocking;
pub mod driver;
pub mod endpoint;
pub mod fd;
pub mod http_proxy;
pub mod inproc;
pub mod io_thread;
pub mod ipc;
pub mod message;
pub mod monitor;
pub mod options;
pub mod pipe;
pub mod random;
pub mod stream;
pub mod tcp;
pub mod udp;
pub mod zap;

/// The mio version whose `event::Source` a [`stream::StreamTransport`] implements: drivers in
/// other crates use it from here, so the versions always match.
pub use mio;
