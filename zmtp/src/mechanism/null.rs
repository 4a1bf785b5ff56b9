//! The NULL mechanism: each side sends READY with its metadata (RFC 37, "The NULL Security Mechanism").

use bytes::BytesMut;

use super::Role;
use crate::command::Command;
use crate::error::{Error, ProtocolError, printable};
use crate::metadata::Metadata;

/// NULL handshake state.
#[derive(Debug)]
pub(crate) struct Null {
    role: Role,
    state: State,
    sent_ready: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ExpectReady,
    Done,
}

impl Null {
    pub(crate) fn new(role: Role) -> Null {
        Null {
            role,
            state: State::ExpectReady,
            sent_ready: false,
        }
    }

    /// RFC 37: "the client SHALL send a READY command and then wait for a READY command in
    /// reply". The server speaks only after it has parsed the client's READY.
    pub(crate) fn start(&mut self, ours: &Metadata, out: &mut BytesMut) {
        if self.role == Role::Client {
            self.send_ready(ours, out);
        }
    }

    pub(crate) fn handle(&mut self, cmd: Command) -> Result<Option<Metadata>, Error> {
        match (self.state, cmd) {
            (State::ExpectReady, Command::Ready(peer)) => {
                self.state = State::Done;
                Ok(Some(peer))
            }
            // RFC 37: "The peer SHALL treat an incoming ERROR command as fatal".
            (_, Command::Error(e)) => Err(Error::Refused {
                reason: printable(&e.reason),
            }),
            (_, other) => Err(ProtocolError::UnexpectedCommand {
                command: printable(other.name()),
                mechanism: "NULL",
            }
            .into()),
        }
    }

    /// RFC 37: "If there is no error, [the server] MUST send a READY command in reply."
    pub(crate) fn finish(&mut self, ours: &Metadata, out: &mut BytesMut) {
        if !self.sent_ready {
            self.send_ready(ours, out);
        }
    }

    fn send_ready(&mut self, ours: &Metadata, out: &mut BytesMut) {
        Command::Ready(ours.clone()).encode(out);
        self.sent_ready = true;
    }
}
