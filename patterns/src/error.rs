//! What can go wrong when a pattern sends, receives or takes a peer.

use zmtp::Message;

/// A message could not be sent; it is handed back where it may be retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Every eligible peer is at its high-water mark, or there is no peer (EAGAIN).
    #[error("no peer can take the message now")]
    WouldBlock(Message),
    /// ROUTER_MANDATORY: no peer has this routing id (EHOSTUNREACH).
    #[error("no peer has this routing id")]
    Unroutable(Message),
    /// This socket type cannot send (ENOTSUP).
    #[error("this socket type cannot send")]
    NotSupported(Message),
    /// The request-reply state machine forbids sending now (EFSM).
    #[error("cannot send in this state (a reply or request is outstanding)")]
    WrongState(Message),
    /// A single-part socket (RFC 37's thread-safe types) was given a multipart message.
    #[error("this socket type takes single-part messages only")]
    Multipart(Message),
    /// A ROUTER message needs a routing id frame and at least one more.
    #[error("a ROUTER message needs a routing id frame and a body")]
    NoRoutingId,
}

/// Nothing could be received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// No message is waiting (EAGAIN).
    #[error("no message is waiting")]
    WouldBlock,
    /// This socket type cannot receive (ENOTSUP).
    #[error("this socket type cannot receive")]
    NotSupported,
    /// The request-reply state machine forbids receiving now (EFSM).
    #[error("cannot receive in this state (send a request first)")]
    WrongState,
}

/// A peer the pattern refuses to take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    /// The socket already has its maximum number of peers (a PAIR has one).
    #[error("the socket already has its maximum of {max} peers")]
    TooManyPeers {
        /// The cap.
        max: usize,
    },
    /// Another peer holds this routing id and ROUTER_HANDOVER is off.
    #[error("another peer already has this routing id")]
    DuplicateRoutingId,
}
