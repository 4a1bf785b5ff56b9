//! The facade's errors: bad options and endpoints, and what send and receive report.

use zmtp::Message;
use zvtran_drivers::driver::DriverError;

/// A call on a socket or context failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option name that does not exist (or is not settable).
    #[error("unknown socket option {0:?}")]
    UnknownOption(String),
    /// An option value that does not parse or is out of range.
    #[error("invalid value {value:?} for option {option}: {reason}")]
    InvalidOptionValue {
        /// The option.
        option: String,
        /// The value as given.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// Binding or connecting failed.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// No endpoint by that name was bound or connected.
    #[error("{0} is not bound or connected on this socket")]
    NoSuchEndpoint(String),
    /// This socket type has no such operation.
    #[error("{0}")]
    NotSupported(&'static str),
    /// The security options do not make a mechanism (e.g. a CURVE server without its secret
    /// key).
    #[error("security options: {0}")]
    Security(String),
    /// A beacon could not be set up or published (the port, the payload).
    #[error("beacon: {0}")]
    Beacon(String),
    /// The context could not start its I/O threads.
    #[error("could not start an I/O thread: {0}")]
    Io(#[from] std::io::Error),
}

/// A message could not be sent; where it can be retried, it is given back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No peer can take it now and the call would block (EAGAIN): the timeout passed or the
    /// call was non-blocking.
    #[error("no peer can take the message now (EAGAIN)")]
    WouldBlock(Message),
    /// ROUTER_MANDATORY: no peer has this routing id (EHOSTUNREACH).
    #[error("no peer has this routing id (EHOSTUNREACH)")]
    Unroutable(Message),
    /// REQ/REP order: a reply or request is outstanding (EFSM).
    #[error("cannot send now: a reply or a request is outstanding (EFSM)")]
    WrongState(Message),
    /// This socket type cannot send (ENOTSUP).
    #[error("this socket type cannot send (ENOTSUP)")]
    NotSupported(Message),
    /// A single-part socket (RFC 37's thread-safe types) was given a multipart message.
    #[error("this socket takes single-part messages only (RFC 37 thread-safe types)")]
    Multipart(Message),
    /// A peer's transport cannot carry a message this large (a udp datagram: 8191 octets of
    /// group and body); nothing was sent.
    #[error("the message ({} octets) is larger than a peer's transport carries ({max} octets)", msg.byte_len())]
    TooLarge {
        /// The message, given back.
        msg: Message,
        /// The most the transport carries.
        max: usize,
    },
    /// A message needs at least one frame; a ROUTER's needs a routing id and a body.
    #[error("a message needs at least one frame (a ROUTER's, a routing id first)")]
    EmptyMessage,
}

impl SendError {
    /// The message, when it was given back.
    pub fn into_message(self) -> Option<Message> {
        match self {
            SendError::WouldBlock(m)
            | SendError::Unroutable(m)
            | SendError::WrongState(m)
            | SendError::NotSupported(m)
            | SendError::Multipart(m)
            | SendError::TooLarge { msg: m, .. } => Some(m),
            SendError::EmptyMessage => None,
        }
    }
}

/// Nothing could be received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// Nothing arrived in time (EAGAIN).
    #[error("no message arrived in time (EAGAIN)")]
    WouldBlock,
    /// This socket type cannot receive (ENOTSUP).
    #[error("this socket type cannot receive (ENOTSUP)")]
    NotSupported,
    /// REQ/REP order: send first (EFSM).
    #[error("cannot receive now: send a request first (EFSM)")]
    WrongState,
}
