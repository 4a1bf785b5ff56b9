//! The NULL mechanism: each side sends READY with its metadata (RFC 37, "The NULL Security Mechanism").

use bytes::{Bytes, BytesMut};

use super::{AuthRequest, Role, Step};
use crate::command::Command;
use crate::error::{Error, ProtocolError, printable};
use crate::greeting::MechanismName;
use crate::metadata::Metadata;

/// NULL handshake state.
#[derive(Debug)]
pub(crate) struct Null {
    role: Role,
    /// A server asks the application about each client (ZAP with a domain set, RFC 27).
    authenticate: bool,
    state: State,
    sent_ready: bool,
}

#[derive(Debug)]
enum State {
    ExpectReady,
    /// The client's READY arrived; the application is deciding.
    Authenticating(Metadata),
    Done,
}

impl Null {
    pub(crate) fn new(role: Role, authenticate: bool) -> Null {
        Null {
            role,
            authenticate: authenticate && role == Role::Server,
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

    pub(crate) fn handle(&mut self, body: Bytes) -> Result<Step, Error> {
        match (&self.state, Command::decode(body)?) {
            (State::ExpectReady, Command::Ready(peer)) if self.authenticate => {
                self.state = State::Authenticating(peer);
                Ok(Step::Authenticate(AuthRequest {
                    mechanism: MechanismName::NULL,
                    credentials: Vec::new(),
                }))
            }
            (State::ExpectReady, Command::Ready(peer)) => {
                self.state = State::Done;
                Ok(Step::PeerReady(peer))
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

    pub(crate) fn allowed(&mut self) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Authenticating(peer) => Step::PeerReady(peer),
            other => {
                self.state = other;
                Step::Continue
            }
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
