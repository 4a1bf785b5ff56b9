//! Security mechanisms: the commands exchanged between the greeting and traffic.

pub mod null;

use bytes::BytesMut;

use crate::command::Command;
use crate::error::Error;
use crate::greeting::MechanismName;
use crate::metadata::Metadata;

/// The security mechanism a connection uses. Both peers must announce the same one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mechanism {
    /// No authentication, no confidentiality (RFC 37).
    #[default]
    Null,
}

impl Mechanism {
    /// The name announced in the greeting.
    pub fn name(&self) -> MechanismName {
        match self {
            Mechanism::Null => MechanismName::NULL,
        }
    }

    /// The greeting's as-server octet. RFC 37: with NULL it MUST be zero.
    pub fn as_server(&self) -> bool {
        match self {
            Mechanism::Null => false,
        }
    }
}

/// Which side of the handshake a connection plays. For NULL, RFC 37 makes the binding peer the
/// server and the connecting peer the client; the client sends READY first and the server
/// answers once it has checked the client's READY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side that connected.
    Client,
    /// The side that accepted the connection.
    Server,
}

/// A running handshake for one of the mechanisms.
#[derive(Debug)]
pub(crate) enum Handshake {
    Null(null::Null),
}

impl Handshake {
    pub(crate) fn new(mechanism: &Mechanism, role: Role) -> Handshake {
        match mechanism {
            Mechanism::Null => Handshake::Null(null::Null::new(role)),
        }
    }

    /// Called once the greeting is accepted; writes the first commands, if this side speaks first.
    pub(crate) fn start(&mut self, ours: &Metadata, out: &mut BytesMut) {
        match self {
            Handshake::Null(h) => h.start(ours, out),
        }
    }

    /// Processes one command from the peer. `Some` carries the peer's metadata once it has
    /// arrived: the connection checks it, then calls [`finish`](Self::finish). `None` means the
    /// mechanism needs more commands.
    pub(crate) fn handle(&mut self, cmd: Command) -> Result<Option<Metadata>, Error> {
        match self {
            Handshake::Null(h) => h.handle(cmd),
        }
    }

    /// Called when the peer's metadata passed the connection's checks; writes what this side
    /// still owes the peer.
    pub(crate) fn finish(&mut self, ours: &Metadata, out: &mut BytesMut) {
        match self {
            Handshake::Null(h) => h.finish(ours, out),
        }
    }
}
