//! Sans-IO ZMTP 3.1, the wire protocol of ZeroMQ (RFC 37, with RFC 23's 3.0 peers).
//!
//! This crate turns bytes into events and messages into bytes: the greeting and version
//! negotiation, framing with size limits checked before anything is allocated, the commands (READY,
//! ERROR, PING/PONG, SUBSCRIBE/CANCEL, JOIN/LEAVE), the NULL, PLAIN (RFC 24) and CURVE (RFCs 25 and
//! 26) security handshakes with a seam for ZAP-style authentication (RFC 27), CURVE's message
//! boxes, and RFC 37's socket-type compatibility check. It performs no I/O: it opens no sockets,
//! starts no threads and reads no clock. A driver feeds it what the transport delivered and the
//! current time, and writes out what it queues. Nothing a peer sends can make it panic.
//!
//! ```
//! use zmtp::pair::Pair;
//! use zmtp::{Config, Event, Message, Role, SocketType};
//!
//! let mut pair = Pair::new(
//!     Config::new(SocketType::Dealer, Role::Client),
//!     Config::new(SocketType::Router, Role::Server),
//! )
//! .unwrap();
//! pair.drive().unwrap();
//! assert!(pair.both_ready());
//!
//! pair.client.send(Message::from_frames(["", "hello"])).unwrap();
//! pair.drive().unwrap();
//! assert_eq!(
//!     pair.server_events.last(),
//!     Some(&Event::Message(Message::from_frames(["", "hello"])))
//! );
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod codec;
pub mod command;
pub mod connection;
pub mod error;
pub mod frame;
pub mod greeting;
pub mod keys;
pub mod mechanism;
pub mod message;
pub mod metadata;
pub mod pair;
pub mod recycle;
pub mod socket_type;
pub mod z85;

pub use command::Command;
pub use connection::{Config, Connection, Event, PeerInfo, Phase, Stats};
pub use error::{Error, Fault, Malformed, ProtocolError, UsageError};
pub use frame::Frame;
pub use greeting::{Greeting, MechanismName, Version};
pub use keys::{KeyPair, PublicKey, SecretKey};
pub use mechanism::{AuthOutcome, AuthRequest, Curve, Mechanism, Plain, Role};
pub use message::Message;
pub use metadata::Metadata;
pub use socket_type::SocketType;
