//! zvtran: a pure-Rust ZeroMQ stack that speaks ZMTP 3.1, so it talks to libzmq, pyzmq,
//! JeroMQ and NetMQ peers.
//!
//! A [`Context`] holds the I/O threads and the transports (tcp, ipc, inproc, and any
//! registered at run time). A [`Socket`] of a classic type routes messages the way libzmq's does;
//! each type is a composition of strategies from [`zvtran_patterns`].
//!
//! ```
//! use zvtran::{Context, Message, SocketType};
//!
//! let ctx = Context::new()?;
//! let mut pull = ctx.socket(SocketType::Pull)?;
//! let endpoint = pull.bind("inproc://jobs")?;
//! let mut push = ctx.socket(SocketType::Push)?;
//! push.connect(&endpoint)?;
//! push.send(Message::from("job 1"))?;
//! assert_eq!(pull.recv()?, Message::from("job 1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod beacon;
mod capabilities;
mod context;
mod error;
mod options;
mod poll;
mod proxy;
pub mod service;
mod signal;
mod socket;
mod zap;

pub use beacon::{Beacon, Heard, ZreBeacon};
pub use context::Context;
pub use error::{Error, RecvError, SendError};
pub use options::{Secret, SocketOption};
pub use poll::{PollItem, poll};
pub use proxy::proxy;
pub use service::Announcer;
pub use socket::Socket;
pub use zap::{ZAP_ENDPOINT, encode_metadata as encode_zap_metadata};
pub use zmtp::{KeyPair, PublicKey, SecretKey};
pub use zmtp::{Message, SocketType};
pub use zvtran_drivers::monitor::{EventKind, MonitorEvent};
pub use zvtran_drivers::zap::{ZapReply, ZapRequest};
pub use zvtran_patterns::{
    Envelope, Filter, Inbound, OnFull, Outbound, Pattern, PatternBuilder, PatternError,
};

#[doc = include_str!("../docs/patterns.md")]
pub mod patterns_guide {}

#[doc = include_str!("../docs/drivers.md")]
pub mod drivers_guide {}

pub use zmtp;
pub use zvtran_drivers as drivers;
pub use zvtran_patterns as patterns;
