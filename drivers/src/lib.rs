//! Transports for zvtran: each driver owns one kind of transport at one edge and hands whole
//! messages to a socket at the other.
//!
//! For now this crate holds [`blocking`], which runs a single [`zmtp::Connection`] over a
//! blocking stream, and [`endpoint`], which parses endpoint strings. The `Driver` trait and the
//! tcp, ipc and inproc transports on I/O threads come with the sockets issue.

pub mod blocking;
pub mod driver;
pub mod endpoint;
pub mod fd;
pub mod inproc;
pub mod io_thread;
pub mod ipc;
pub mod monitor;
pub mod options;
pub mod pipe;
pub mod stream;
pub mod tcp;
pub mod zap;
