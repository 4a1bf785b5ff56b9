//! The PLAIN mechanism: HELLO with user name and password, WELCOME, INITIATE, READY (RFC 24).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::{AuthRequest, Step};
use crate::codec::Reader;
use crate::command::Command;
use crate::error::{Error, Malformed, ProtocolError, UsageError, printable};
use crate::frame::Header;
use crate::greeting::MechanismName;
use crate::metadata::Metadata;

/// PLAIN settings: which side this is, and the client's credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum Plain {
    /// Sends a user name and a password, each 0 to 255 octets, in clear text.
    Client {
        /// ZMQ_PLAIN_USERNAME.
        username: Bytes,
        /// ZMQ_PLAIN_PASSWORD.
        password: Bytes,
    },
    /// Asks the application (ZAP) about each client's credentials (ZMQ_PLAIN_SERVER).
    Server,
}

impl Plain {
    pub(crate) fn check(&self) -> Result<(), UsageError> {
        if let Plain::Client { username, password } = self {
            for (what, value) in [("user name", username), ("password", password)] {
                if value.len() > 255 {
                    return Err(UsageError::CredentialTooLong {
                        what,
                        len: value.len(),
                    });
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Plain::Client { username, .. } => f
                .debug_struct("Client")
                .field("username", username)
                .field("password", &"..")
                .finish(),
            Plain::Server => f.write_str("Server"),
        }
    }
}

#[derive(Debug)]
enum State {
    // Client states.
    ExpectWelcome,
    ExpectReady,
    // Server states.
    ExpectHello,
    Authenticating,
    ExpectInitiate,
    Done,
}

/// PLAIN handshake state.
#[derive(Debug)]
pub(crate) struct PlainHandshake {
    config: Plain,
    state: State,
}

impl PlainHandshake {
    pub(crate) fn new(config: Plain) -> PlainHandshake {
        let state = match config {
            Plain::Client { .. } => State::ExpectWelcome,
            Plain::Server => State::ExpectHello,
        };
        PlainHandshake { config, state }
    }

    /// RFC 24: "The client SHALL start by sending a HELLO command to the server."
    pub(crate) fn start(&mut self, out: &mut BytesMut) {
        if let Plain::Client { username, password } = &self.config {
            // Lengths were checked when the connection was made.
            let len = 1 + 5 + 1 + username.len() + 1 + password.len();
            Header::encode(out, false, true, len);
            out.put_slice(b"\x05HELLO");
            out.put_u8(username.len() as u8);
            out.put_slice(username);
            out.put_u8(password.len() as u8);
            out.put_slice(password);
        }
    }

    pub(crate) fn handle(
        &mut self,
        body: Bytes,
        ours: &Metadata,
        out: &mut BytesMut,
    ) -> Result<Step, Error> {
        if let Some(rest) = body.strip_prefix(LIBZMQ_ERROR_NAME) {
            let mut r = Reader::new(Bytes::copy_from_slice(rest));
            let reason = r
                .short_bytes()
                .filter(|_| r.is_empty())
                .ok_or_else(|| malformed("ERROR", Malformed::BadLength))?;
            return Err(Error::Refused {
                reason: printable(&reason),
            });
        }
        let cmd = Command::decode(body)?;
        if let Command::Error(e) = &cmd {
            return Err(Error::Refused {
                reason: printable(&e.reason),
            });
        }
        match (&self.state, cmd) {
            (State::ExpectWelcome, Command::Other { name, data }) if name == "WELCOME" => {
                if !data.is_empty() {
                    return Err(malformed("WELCOME", Malformed::TrailingBytes));
                }
                initiate(ours, out);
                self.state = State::ExpectReady;
                Ok(Step::Continue)
            }
            (State::ExpectReady, Command::Ready(peer)) => {
                self.state = State::Done;
                Ok(Step::PeerReady(peer))
            }
            (State::ExpectHello, Command::Other { name, data }) if name == "HELLO" => {
                let mut r = Reader::new(data);
                let username = r.short_bytes();
                let password = r.short_bytes();
                let (Some(username), Some(password)) = (username, password) else {
                    return Err(malformed("HELLO", Malformed::Truncated));
                };
                if !r.is_empty() {
                    return Err(malformed("HELLO", Malformed::TrailingBytes));
                }
                self.state = State::Authenticating;
                Ok(Step::Authenticate(AuthRequest {
                    mechanism: MechanismName::PLAIN,
                    credentials: vec![username, password],
                }))
            }
            (State::ExpectInitiate, Command::Other { name, data }) if name == "INITIATE" => {
                let peer = Metadata::decode(&mut Reader::new(data))
                    .map_err(|reason| malformed("INITIATE", reason))?;
                self.state = State::Done;
                Ok(Step::PeerReady(peer))
            }
            (_, other) => Err(ProtocolError::UnexpectedCommand {
                command: printable(other.name()),
                mechanism: "PLAIN",
            }
            .into()),
        }
    }

    /// RFC 24: "If the server accepts the credentials, it SHALL respond with a WELCOME command."
    pub(crate) fn allowed(&mut self, out: &mut BytesMut) -> Step {
        if matches!(self.state, State::Authenticating) {
            Command::Other {
                name: Bytes::from_static(b"WELCOME"),
                data: Bytes::new(),
            }
            .encode(out);
            self.state = State::ExpectInitiate;
        }
        Step::Continue
    }

    /// The server answers the client's INITIATE with READY.
    pub(crate) fn finish(&mut self, ours: &Metadata, out: &mut BytesMut) {
        if matches!(self.config, Plain::Server) {
            Command::Ready(ours.clone()).encode(out);
        }
    }
}

/// The name libzmq 4.3 gives PLAIN's ERROR command. Its source spells the command
/// `"\x5ERROR"`, where C reads the escape as `\x5E` (`^`): on the wire the name is `^RROR`
/// with no length octet, and a libzmq PLAIN client recognises only that form (an RFC 23
/// `\x05ERROR` makes it report an unexpected command instead of the refusal). A PLAIN server
/// sends this form so libzmq clients see the ZAP status; a PLAIN client accepts both.
const LIBZMQ_ERROR_NAME: &[u8] = b"^RROR";

/// Writes a PLAIN server's refusal in the form libzmq 4.3 clients read (see
/// [`LIBZMQ_ERROR_NAME`]): `^RROR`, then the reason as a short string.
pub(crate) fn encode_refusal(reason: &str, out: &mut BytesMut) {
    let reason = reason.as_bytes();
    let reason = reason.get(..255).unwrap_or(reason);
    Header::encode(out, false, true, LIBZMQ_ERROR_NAME.len() + 1 + reason.len());
    out.put_slice(LIBZMQ_ERROR_NAME);
    out.put_u8(reason.len() as u8);
    out.put_slice(reason);
}

/// The client's INITIATE: its metadata, as READY carries it.
fn initiate(ours: &Metadata, out: &mut BytesMut) {
    let len = 1 + 8 + ours.encoded_len();
    Header::encode(out, false, true, len);
    out.put_slice(b"\x08INITIATE");
    ours.encode(out);
}

fn malformed(command: &str, reason: Malformed) -> Error {
    ProtocolError::MalformedCommand {
        command: command.into(),
        reason,
    }
    .into()
}
