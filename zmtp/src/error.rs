//! Error types, split by who is at fault: the peer, the caller, or the clock.

use crate::socket_type::SocketType;

/// A peer broke the protocol. The connection is closed (after an ERROR command where RFC 37 asks
/// for one); a socket should drop this peer and keep serving the others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The first ten octets are not `%xFF padding %x7F` (this also refuses ZMTP 1.0 peers).
    #[error("bad greeting signature (not a ZMTP 3.x peer)")]
    BadSignature,
    /// The peer speaks a major version older than 3.
    #[error("unsupported ZMTP version {major}.{minor} (need 3.0 or later)")]
    UnsupportedVersion {
        /// The peer's major version.
        major: u8,
        /// The peer's minor version, when it was received.
        minor: u8,
    },
    /// The as-server octet of the greeting is neither 0 nor 1.
    #[error("greeting as-server octet is {value}, must be 0 or 1")]
    InvalidAsServer {
        /// The octet the peer sent.
        value: u8,
    },
    /// The peer announced another security mechanism than ours (RFC 37: close the connection).
    #[error("security mechanism mismatch: we use {ours}, peer uses {theirs}")]
    MechanismMismatch {
        /// Our mechanism name.
        ours: String,
        /// The peer's mechanism name, printable characters only.
        theirs: String,
    },
    /// A mechanism that needs a server and a client met a peer in the same role.
    #[error("both peers claim the same as-server role ({as_server})")]
    RoleMismatch {
        /// The as-server value both sides sent.
        as_server: bool,
    },
    /// Flag bits 7-3 are reserved and must be zero.
    #[error("frame flags {flags:#04x} set reserved bits")]
    ReservedFlags {
        /// The flags octet.
        flags: u8,
    },
    /// RFC 37: the MORE bit SHALL be zero on command frames.
    #[error("command frame with the MORE flag set")]
    CommandWithMore,
    /// A frame (or the message it belongs to) is larger than the limit in force.
    #[error("frame declares {declared} bytes, limit is {limit}")]
    FrameTooLarge {
        /// The size the peer declared (plus the message's earlier frames).
        declared: u64,
        /// The limit: `max_msg_size`, or the handshake cap before the handshake completes.
        limit: u64,
    },
    /// A message has more frames than its size limit allows.
    #[error("message has more than {limit} frames")]
    TooManyFrames {
        /// The frame count limit derived from `max_msg_size`.
        limit: usize,
    },
    /// A command body does not follow its grammar.
    #[error("malformed {command} command: {reason}")]
    MalformedCommand {
        /// The command name as sent, printable characters only.
        command: String,
        /// What is wrong with it.
        reason: Malformed,
    },
    /// A message frame arrived before the handshake completed.
    #[error("message frame received during the handshake")]
    MessageBeforeReady,
    /// A command that the handshake does not allow at this point.
    #[error("unexpected {command} command during the {mechanism} handshake")]
    UnexpectedCommand {
        /// The command name, printable characters only.
        command: String,
        /// The mechanism in progress.
        mechanism: &'static str,
    },
    /// A CURVE box did not open: the peer used other keys, or the box was altered.
    #[error("CURVE {command} box does not open (wrong key or altered)")]
    BadBox {
        /// The command that carried the box.
        command: &'static str,
    },
    /// A CURVE short nonce did not increase: a replayed or reordered box.
    #[error("CURVE {command} nonce is not above the previous one (replayed or reordered)")]
    NonceNotIncreasing {
        /// The command that carried the nonce.
        command: &'static str,
    },
    /// A frame that is not a MESSAGE box arrived after the CURVE handshake.
    #[error("frame after the CURVE handshake is not a MESSAGE box")]
    Unencrypted,
    /// A CURVE INITIATE came after the server forgot the cookie key.
    #[error("CURVE cookie expired before INITIATE arrived")]
    CookieExpired,
    /// A CURVE vouch names other keys than the connection's.
    #[error("CURVE vouch does not match the connection's keys")]
    VouchMismatch,
    /// A CURVE HELLO of a version other than 1.0.
    #[error("unsupported CURVE version {major}.{minor} (need 1.0)")]
    UnsupportedCurveVersion {
        /// The major version the peer sent.
        major: u8,
        /// The minor version the peer sent.
        minor: u8,
    },
    /// The peer's metadata has no Socket-Type property.
    #[error("peer metadata has no Socket-Type")]
    MissingSocketType,
    /// The peer's Socket-Type is not one that RFC 37 defines.
    #[error("peer announced unknown socket type {name:?}")]
    UnknownSocketType {
        /// The announced type, printable characters only.
        name: String,
    },
    /// RFC 37's table does not allow this pair of socket types.
    #[error("socket type {theirs} cannot talk to our {ours}")]
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's socket type.
        theirs: SocketType,
    },
}

/// What is wrong with a malformed command body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// The body is empty or the command name is cut short.
    #[error("command name missing or truncated")]
    BadName,
    /// A length field points past the end of the body.
    #[error("truncated")]
    Truncated,
    /// A metadata property name is empty or has characters outside `ALPHA DIGIT - _ . +`.
    #[error("invalid property name")]
    BadPropertyName,
    /// The Identity property is longer than 255 octets.
    #[error("identity longer than 255 octets")]
    IdentityTooLong,
    /// A PING or PONG context is longer than 16 octets.
    #[error("ping context longer than 16 octets")]
    ContextTooLong,
    /// A JOIN or LEAVE group is longer than 255 octets.
    #[error("group longer than 255 octets")]
    GroupTooLong,
    /// A fixed-size command or field has the wrong length.
    #[error("wrong length")]
    BadLength,
    /// Bytes follow the last field of a fixed-layout command.
    #[error("trailing bytes")]
    TrailingBytes,
}

/// The caller misused the API; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// Messages, subscriptions and groups can only be sent once the handshake is complete.
    #[error("the handshake is not complete")]
    NotReady,
    /// The connection has failed or was closed.
    #[error("the connection is closed")]
    Closed,
    /// A message needs at least one frame.
    #[error("a message needs at least one frame")]
    EmptyMessage,
    /// Property names are 1 to 255 characters of `ALPHA DIGIT - _ . +`.
    #[error("invalid metadata property name {name:?}")]
    InvalidPropertyName {
        /// The rejected name.
        name: String,
    },
    /// A routing id is at most 255 octets (RFC 37).
    #[error("routing id is {len} octets, at most 255 are allowed")]
    RoutingIdTooLong {
        /// The rejected length.
        len: usize,
    },
    /// RFC 37 reserves routing ids that start with a zero octet.
    #[error("routing id must not start with a zero octet")]
    RoutingIdStartsWithZero,
    /// A PING context is at most 16 octets.
    #[error("ping context is {len} octets, at most 16 are allowed")]
    PingContextTooLong {
        /// The rejected length.
        len: usize,
    },
    /// A group is at most 255 octets.
    #[error("group is {len} octets, at most 255 are allowed")]
    GroupTooLong {
        /// The rejected length.
        len: usize,
    },
    /// The heartbeat TTL travels in deciseconds in 16 bits: at most 6553.5 s.
    #[error("heartbeat TTL {millis} ms is over the 6553500 ms that PING can carry")]
    HeartbeatTtlTooLarge {
        /// The rejected TTL in milliseconds.
        millis: u128,
    },
    /// A PLAIN user name or password is at most 255 octets (RFC 24).
    #[error("PLAIN {what} is {len} octets, at most 255 are allowed")]
    CredentialTooLong {
        /// Which credential.
        what: &'static str,
        /// The rejected length.
        len: usize,
    },
    /// A CURVE connection used up its 2^64 short nonces; it must be reopened.
    #[error("CURVE short nonces exhausted")]
    NoncesExhausted,
    /// The mechanism name has characters outside `A-Z 0-9 - _ . +` or is over 20 octets.
    #[error("invalid mechanism name {name:?}")]
    InvalidMechanismName {
        /// The rejected name.
        name: String,
    },
}

/// Why a [`Connection`](crate::Connection) stopped. Every variant is final: drop the transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol.
    #[error("peer broke the protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// The peer sent ERROR: RFC 37 says not to reconnect with the same credentials.
    #[error("peer refused the connection: {reason}")]
    Refused {
        /// The reason text from the ERROR command, printable characters only.
        reason: String,
    },
    /// Our authentication (ZAP) refused the client with this status code; the client was told
    /// with ERROR.
    #[error("client refused by authentication: {status} {text}")]
    Denied {
        /// The ZAP status code: 300, 400 or 500.
        status: u16,
        /// The handler's explanation.
        text: String,
    },
    /// A PLAIN server has no ZAP handler to check credentials with, so it refuses everyone.
    #[error("PLAIN server has no ZAP handler to check credentials")]
    NoAuthenticator,
    /// Encryption failed: a nonce counter ran out or a handshake step ran out of order.
    #[error("CURVE encryption failed")]
    Cipher,
    /// The handshake did not complete in time.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// No traffic arrived within the heartbeat timeout or the peer's TTL.
    #[error("heartbeat timed out: no traffic from the peer")]
    HeartbeatTimeout,
    /// The connection was already closed.
    #[error("the connection is closed")]
    Closed,
}

impl Error {
    /// Who is at fault.
    pub fn fault(&self) -> Fault {
        match self {
            Error::Protocol(_)
            | Error::Refused { .. }
            | Error::Denied { .. }
            | Error::NoAuthenticator => Fault::Peer,
            Error::Cipher => Fault::Caller,
            Error::HandshakeTimeout | Error::HeartbeatTimeout => Fault::Timeout,
            Error::Closed => Fault::Caller,
        }
    }

    /// RFC 37: an ERROR from the peer is fatal; do not reconnect with the same credentials.
    /// The exception is ZAP's 300, a temporary failure.
    pub fn forbids_reconnect(&self) -> bool {
        matches!(self, Error::Refused { reason } if reason != "300")
    }

    /// The ZAP status code in an ERROR from the peer, when the reason is one (libzmq sends
    /// the code as the reason when its authentication refuses a client).
    pub fn auth_status(&self) -> Option<u16> {
        match self {
            Error::Refused { reason } if reason.len() == 3 => {
                reason.parse().ok().filter(|code| (300..600).contains(code))
            }
            Error::Denied { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Who caused an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The peer sent something the protocol does not allow, or refused us.
    Peer,
    /// The peer went silent past a deadline.
    Timeout,
    /// The caller used a connection that was already closed.
    Caller,
}

/// Keeps printable ASCII of peer-supplied bytes for error messages; other bytes become `?`.
pub(crate) fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}
