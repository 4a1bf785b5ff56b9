//! Security mechanisms: the commands exchanged between the greeting and traffic.

pub mod curve;
pub mod null;
pub mod plain;

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::error::{Error, UsageError};
use crate::greeting::MechanismName;
use crate::metadata::Metadata;

pub use curve::Curve;
pub use plain::Plain;

/// The security mechanism a connection uses. Both peers must announce the same one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// No authentication, no confidentiality (RFC 37).
    #[default]
    Null,
    /// User name and password in clear text (RFC 24).
    Plain(Plain),
    /// CurveZMQ: authenticated encryption with X25519 keys (RFCs 25 and 26).
    Curve(Curve),
}

impl Mechanism {
    /// The name announced in the greeting.
    pub fn name(&self) -> MechanismName {
        match self {
            Mechanism::Null => MechanismName::NULL,
            Mechanism::Plain(_) => MechanismName::PLAIN,
            Mechanism::Curve(_) => MechanismName::CURVE,
        }
    }

    /// The greeting's as-server octet. RFC 37: with NULL it MUST be zero; with PLAIN and CURVE
    /// it comes from the server setting (ZMQ_PLAIN_SERVER, ZMQ_CURVE_SERVER), not from which
    /// side bound.
    pub fn as_server(&self) -> bool {
        match self {
            Mechanism::Null => false,
            Mechanism::Plain(p) => matches!(p, Plain::Server),
            Mechanism::Curve(c) => matches!(c, Curve::Server { .. }),
        }
    }

    /// The name for error messages.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Mechanism::Null => "NULL",
            Mechanism::Plain(_) => "PLAIN",
            Mechanism::Curve(_) => "CURVE",
        }
    }

    /// Whether a greeting from a peer with this as-server octet can work with us. libzmq
    /// always sends zero there, so only two servers that both say so are caught here; two
    /// clients fail on each other's HELLO.
    pub(crate) fn accepts_peer_role(&self, peer_as_server: bool) -> bool {
        !(peer_as_server && self.as_server())
    }

    pub(crate) fn check(&self) -> Result<(), UsageError> {
        match self {
            Mechanism::Plain(p) => p.check(),
            Mechanism::Null | Mechanism::Curve(_) => Ok(()),
        }
    }
}

/// Which side of the handshake a connection plays. For NULL, RFC 37 makes the binding peer the
/// server and the connecting peer the client; the client sends READY first and the server
/// answers once it has checked the client's READY. PLAIN and CURVE take the role from their
/// own settings instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side that connected.
    Client,
    /// The side that accepted the connection.
    Server,
}

/// A server's question about a client, answered with [`AuthOutcome`] (the content of a ZAP
/// request, RFC 27, less what only the socket knows: domain, address and routing id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// The mechanism the client used.
    pub mechanism: MechanismName,
    /// What the client proved: nothing for NULL, user name and password for PLAIN, the
    /// client's 32-octet long-term public key for CURVE.
    pub credentials: Vec<Bytes>,
}

/// The answer to an [`AuthRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Let the client in (ZAP status 200).
    Allow {
        /// The authenticated user, for the User-Id property; may be empty.
        user_id: Bytes,
        /// Properties to attach to the client's messages.
        metadata: Metadata,
    },
    /// Refuse the client: 300 (temporary), 400 (denied) or 500 (handler error). The client is
    /// sent an ERROR whose reason is the status code, as libzmq does.
    Deny {
        /// The ZAP status code.
        status: u16,
        /// The handler's explanation, kept for logs; it is not sent.
        text: String,
    },
    /// Nobody is there to ask. libzmq's defaults apply: a PLAIN server refuses (and closes
    /// without ERROR, so the client may retry once a handler exists), NULL and CURVE accept.
    NoHandler,
}

impl AuthOutcome {
    /// An `Allow` with no user id and no properties.
    pub fn allow() -> AuthOutcome {
        AuthOutcome::Allow {
            user_id: Bytes::new(),
            metadata: Metadata::new(),
        }
    }
}

/// What a handshake wants after a command.
#[derive(Debug)]
pub(crate) enum Step {
    /// Wait for the peer's next command.
    Continue,
    /// A server needs a decision about the client before it answers.
    Authenticate(AuthRequest),
    /// The peer's metadata arrived: the connection checks it, then calls `finish`.
    PeerReady(Metadata),
}

/// A running handshake for one of the mechanisms.
#[derive(Debug)]
pub(crate) enum Handshake {
    Null(null::Null),
    Plain(plain::PlainHandshake),
    Curve(Box<curve::CurveHandshake>),
}

impl Handshake {
    pub(crate) fn new(mechanism: &Mechanism, role: Role, authenticate: bool) -> Handshake {
        match mechanism {
            Mechanism::Null => Handshake::Null(null::Null::new(role, authenticate)),
            Mechanism::Plain(p) => Handshake::Plain(plain::PlainHandshake::new(p.clone())),
            Mechanism::Curve(c) => {
                Handshake::Curve(Box::new(curve::CurveHandshake::new(c.clone())))
            }
        }
    }

    /// Called once the greeting is accepted; writes the first commands, if this side speaks first.
    pub(crate) fn start(&mut self, ours: &Metadata, out: &mut BytesMut) -> Result<(), Error> {
        match self {
            Handshake::Null(h) => h.start(ours, out),
            Handshake::Plain(h) => h.start(out),
            Handshake::Curve(h) => return h.start(out),
        }
        Ok(())
    }

    /// Processes one command body from the peer, writing any answer to `out`.
    pub(crate) fn handle(
        &mut self,
        body: Bytes,
        ours: &Metadata,
        out: &mut BytesMut,
        now: Instant,
    ) -> Result<Step, Error> {
        match self {
            Handshake::Null(h) => h.handle(body),
            Handshake::Plain(h) => h.handle(body, ours, out),
            Handshake::Curve(h) => h.handle(body, ours, out, now),
        }
    }

    /// Called when the application allowed the client an [`Step::Authenticate`] asked about.
    pub(crate) fn allowed(&mut self, out: &mut BytesMut) -> Step {
        match self {
            Handshake::Null(h) => h.allowed(),
            Handshake::Plain(h) => h.allowed(out),
            Handshake::Curve(h) => h.allowed(),
        }
    }

    /// Whether a server whose application has nobody to ask lets the client in.
    pub(crate) fn accepts_without_handler(&self) -> bool {
        !matches!(self, Handshake::Plain(_))
    }

    /// Called when the peer's metadata passed the connection's checks; writes what this side
    /// still owes the peer.
    pub(crate) fn finish(&mut self, ours: &Metadata, out: &mut BytesMut) -> Result<(), Error> {
        match self {
            Handshake::Null(h) => h.finish(ours, out),
            Handshake::Plain(h) => h.finish(ours, out),
            Handshake::Curve(h) => return h.finish(ours, out),
        }
        Ok(())
    }

    /// When a secret the handshake holds must be forgotten.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            Handshake::Curve(h) => h.deadline(),
            Handshake::Null(_) | Handshake::Plain(_) => None,
        }
    }

    /// Forgets secrets whose deadline passed.
    pub(crate) fn expire(&mut self, now: Instant) {
        if let Handshake::Curve(h) = self {
            h.expire(now);
        }
    }

    /// The message cipher, for CURVE once the handshake is complete.
    pub(crate) fn take_cipher(&mut self) -> Option<curve::Cipher> {
        match self {
            Handshake::Curve(h) => h.take_cipher(),
            Handshake::Null(_) | Handshake::Plain(_) => None,
        }
    }
}
