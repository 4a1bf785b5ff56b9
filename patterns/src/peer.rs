//! Peers as strategies see them: an id, what the peer announced, and its pipes behind a trait.

use bytes::Bytes;
use zmtp::{Message, SocketType};

/// A peer of one socket. Ids are never reused within a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u64);

/// What a strategy may know about a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerMeta {
    /// The peer's socket type, once known (a connecting pipe exists before its handshake).
    pub socket_type: Option<SocketType>,
    /// The routing id the peer announced (its Identity), if any and non-empty.
    pub routing_id: Option<Bytes>,
    /// A routing id we chose for this peer (ZMQ_CONNECT_ROUTING_ID), which wins over the
    /// announced one.
    pub assigned_id: Option<Bytes>,
}

impl PeerMeta {
    /// A peer about which nothing is known yet.
    pub fn unknown() -> PeerMeta {
        PeerMeta {
            socket_type: None,
            routing_id: None,
            assigned_id: None,
        }
    }
}

/// The pipes of the attached peers, as the socket holds them. Strategies only ever move whole
/// messages through this trait.
pub trait PeerPipes {
    /// Queues `msg` to `peer`; gives it back if the pipe is at its high-water mark (or gone).
    fn try_send(&mut self, peer: PeerId, msg: Message) -> Result<(), Message>;
    /// Takes the next message from `peer`, if one is waiting.
    fn try_recv(&mut self, peer: PeerId) -> Option<Message>;
    /// Whether a message from `peer` is waiting (for pollers; does not take it).
    fn has_message(&self, peer: PeerId) -> bool;
    /// Whether `peer`'s pipe has room for a message (for pollers).
    fn has_room(&self, peer: PeerId) -> bool;
}
