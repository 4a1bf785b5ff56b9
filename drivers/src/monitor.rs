//! Monitor events: what happened to a socket's endpoints and connections (like zmq_socket_monitor).

use std::fmt;

/// One event, with the endpoint it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorEvent {
    /// What happened.
    pub kind: EventKind,
    /// The endpoint, as bound or connected (with the port resolved).
    pub endpoint: String,
}

/// The kinds of events, named after libzmq's ZMQ_EVENT_*.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A bind succeeded.
    Listening,
    /// A bind failed.
    BindFailed {
        /// Why.
        reason: String,
    },
    /// A connection from `peer` was accepted.
    Accepted {
        /// The remote address.
        peer: String,
    },
    /// Accepting failed.
    AcceptFailed {
        /// Why.
        reason: String,
    },
    /// An outgoing connection was established (before the handshake).
    Connected,
    /// An outgoing connection could not be made yet; it will be retried.
    ConnectDelayed,
    /// A reconnection is scheduled after `ivl_ms`.
    ConnectRetried {
        /// The delay before the next attempt.
        ivl_ms: u64,
    },
    /// The ZMTP handshake completed.
    HandshakeSucceeded,
    /// The ZMTP handshake failed; `no_retry` is set when the peer refused with ERROR.
    HandshakeFailed {
        /// Why.
        reason: String,
        /// RFC 37: no reconnection with the same credentials.
        no_retry: bool,
    },
    /// Authentication refused the connection (like ZMQ_EVENT_HANDSHAKE_FAILED_AUTH): on a
    /// server, its ZAP handler said no; on a client, the server's ERROR carried the status.
    HandshakeFailedAuth {
        /// The ZAP status code: 300 (try later), 400 (denied) or 500 (handler error).
        status: u16,
        /// Why.
        reason: String,
        /// Set when the client must not reconnect with the same credentials.
        no_retry: bool,
    },
    /// Datagrams a udp endpoint dropped since its last report (at most one report a second):
    /// malformed ones, and ones that found the socket's queue full.
    DatagramsDropped {
        /// Empty, a group past the end, or over 8192 octets.
        malformed: u64,
        /// The socket's receive queue was at its high-water mark.
        queue_full: u64,
    },
    /// A connection ended.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// A listener was closed (unbind or socket close).
    Closed,
}

impl fmt::Display for MonitorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.kind, self.endpoint)
    }
}
