//! Routing strategies over peer ids, and the ZeroMQ socket types composed from them.
//!
//! A socket type is a preset of parts: how outbound messages are distributed (load-balance,
//! fan-out, route by id), how inbound ones are collected (fair-queue), filters (prefix
//! subscriptions), envelopes (request-reply, routing id) and caps (maximum peers). Strategies
//! know peers by id only and move messages through the [`PeerPipes`] trait: no sockets, no I/O.
//!
//! ```
//! use zvtran_patterns::{preset, PeerId, PeerMeta, PeerPipes};
//! # use zmtp::Message;
//! # #[derive(Default)] struct Pipes(std::collections::HashMap<PeerId, Vec<Message>>);
//! # impl PeerPipes for Pipes {
//! #     fn try_send(&mut self, p: PeerId, m: Message) -> Result<(), Message> { self.0.entry(p).or_default().push(m); Ok(()) }
//! #     fn try_recv(&mut self, _: PeerId) -> Option<Message> { None }
//! #     fn has_message(&self, _: PeerId) -> bool { false }
//! #     fn has_room(&self, _: PeerId) -> bool { true }
//! # }
//! let mut push = preset::push();
//! let mut pipes = Pipes::default();
//! for id in 1..=2 {
//!     push.peer_attached(PeerId(id)).unwrap();
//!     push.peer_ready(PeerId(id), &PeerMeta::unknown(), &mut pipes).unwrap();
//! }
//! for n in 0..4 {
//!     push.send(Message::from(format!("job {n}").into_bytes()), &mut pipes).unwrap();
//! }
//! assert_eq!(pipes.0[&PeerId(1)].len(), 2); // round-robin
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

pub mod builder;
pub mod error;
pub mod pattern;
pub mod peer;
pub mod preset;
pub mod strategy;
#[cfg(test)]
mod testing;

pub use builder::{Envelope, Filter, Inbound, OnFull, Outbound, PatternBuilder, PatternError};
pub use error::{AttachError, RecvError, SendError};
pub use pattern::{Needs, Pattern, subscription_message};
pub use peer::{PeerId, PeerMeta, PeerPipes};
