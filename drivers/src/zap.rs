//! ZAP (RFC 27): the authentication requests a server connection makes, and how they are answered.
//!
//! When a connection's handshake needs a decision (a PLAIN or CURVE server, or NULL with a
//! ZAP domain), its I/O thread builds a [`ZapRequest`] and hands it, with a [`ZapResponder`], to
//! the socket's [`Authenticator`]. The authenticator may answer at once or later from any
//! thread; the connection waits (within HANDSHAKE_IVL) and reads nothing else meanwhile.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use zmtp::{AuthOutcome, MechanismName, Metadata, PublicKey};

use crate::io_thread::{IoCommand, IoHandle};

/// What a ZAP handler sees of a client, as in an RFC 27 request.
#[derive(Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// The server socket's ZAP_DOMAIN (may be empty).
    pub domain: String,
    /// The client's IP address (without port; empty for ipc).
    pub address: String,
    /// The server socket's routing id (ZMQ_ROUTING_ID), as libzmq sends it.
    pub routing_id: Bytes,
    /// `NULL`, `PLAIN` or `CURVE`.
    pub mechanism: MechanismName,
    /// PLAIN: user name and password; CURVE: the client's 32-octet public key; NULL: none.
    pub credentials: Vec<Bytes>,
}

impl fmt::Debug for ZapRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A PLAIN password stays out of logs.
        f.debug_struct("ZapRequest")
            .field("domain", &self.domain)
            .field("address", &self.address)
            .field("routing_id", &self.routing_id)
            .field("mechanism", &self.mechanism)
            .field("username", &self.username())
            .field("client_key", &self.client_key())
            .finish_non_exhaustive()
    }
}

impl ZapRequest {
    /// The PLAIN user name.
    pub fn username(&self) -> Option<&[u8]> {
        (self.mechanism == MechanismName::PLAIN)
            .then(|| self.credentials.first().map(|b| &b[..]))
            .flatten()
    }

    /// The PLAIN password.
    pub fn password(&self) -> Option<&[u8]> {
        (self.mechanism == MechanismName::PLAIN)
            .then(|| self.credentials.get(1).map(|b| &b[..]))
            .flatten()
    }

    /// The CURVE client's long-term public key.
    pub fn client_key(&self) -> Option<PublicKey> {
        if self.mechanism != MechanismName::CURVE {
            return None;
        }
        PublicKey::parse(self.credentials.first()?).ok()
    }
}

/// A ZAP handler's answer: a status code, and for 200 the user id and properties that reach
/// the client's messages (see `Message::property`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapReply {
    /// 200 (allowed), 300 (temporary failure), 400 (denied) or 500 (internal error).
    pub status_code: u16,
    /// Why, for logs.
    pub status_text: String,
    /// The authenticated user (the `User-Id` property).
    pub user_id: Bytes,
    /// Properties attached to the client's messages.
    pub metadata: Metadata,
}

impl ZapReply {
    /// Allows the client as `user_id`.
    pub fn allow(user_id: impl Into<Bytes>) -> ZapReply {
        ZapReply {
            status_code: 200,
            status_text: "OK".into(),
            user_id: user_id.into(),
            metadata: Metadata::new(),
        }
    }

    /// Denies the client (400): it must not reconnect with the same credentials.
    pub fn deny(text: impl Into<String>) -> ZapReply {
        ZapReply::status(400, text)
    }

    /// A temporary failure (300): the client may try again later.
    pub fn temporary(text: impl Into<String>) -> ZapReply {
        ZapReply::status(300, text)
    }

    /// A reply with any status code; codes other than 200, 300 and 400 count as 500.
    pub fn status(status_code: u16, text: impl Into<String>) -> ZapReply {
        ZapReply {
            status_code,
            status_text: text.into(),
            user_id: Bytes::new(),
            metadata: Metadata::new(),
        }
    }

    /// Adds a property for the client's messages. Invalid names (RFC 37: 1 to 255 of
    /// `A-Za-z0-9.-_+`) are skipped.
    pub fn with_property(mut self, name: &str, value: impl Into<Bytes>) -> ZapReply {
        let _ = self.metadata.insert(name, value);
        self
    }

    /// What the connection does with this reply.
    pub fn into_outcome(self) -> AuthOutcome {
        match self.status_code {
            200 => AuthOutcome::Allow {
                user_id: self.user_id,
                metadata: self.metadata,
            },
            300 | 400 => AuthOutcome::Deny {
                status: self.status_code,
                text: self.status_text,
            },
            _ => AuthOutcome::Deny {
                status: 500,
                text: self.status_text,
            },
        }
    }
}

/// Decides who may connect. A socket's authenticator (see `Options::authenticator`) is called
/// on the I/O thread, so it must not block: it answers through the responder at once or hands
/// both to a thread of its own.
pub trait Authenticator: Send + Sync + 'static {
    /// Answers `request` through `responder` (dropping the responder unanswered denies with 500).
    fn authenticate(&self, request: ZapRequest, responder: ZapResponder);
}

impl fmt::Debug for dyn Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authenticator")
    }
}

/// Each request's number, so a late answer cannot reach a later connection on the same slot.
static SERIAL: AtomicU64 = AtomicU64::new(1);

/// A fresh request serial.
pub(crate) fn next_serial() -> u64 {
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// The way back to the connection waiting for a ZAP answer. Answer once; dropping it
/// unanswered denies the client with status 500.
pub struct ZapResponder {
    io: IoHandle,
    token: usize,
    serial: u64,
    enforce: bool,
    answered: bool,
}

impl fmt::Debug for ZapResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZapResponder")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

impl ZapResponder {
    pub(crate) fn new(io: IoHandle, token: usize, serial: u64, enforce: bool) -> ZapResponder {
        ZapResponder {
            io,
            token,
            serial,
            enforce,
            answered: false,
        }
    }

    /// Sends the handler's answer.
    pub fn reply(mut self, reply: ZapReply) {
        self.send(reply.into_outcome());
    }

    /// There is no handler for this request: libzmq's defaults apply (a PLAIN server refuses,
    /// CURVE and NULL accept), unless ZAP_ENFORCE_DOMAIN is set, which refuses every client.
    pub fn no_handler(mut self) {
        let outcome = if self.enforce {
            AuthOutcome::Deny {
                status: 500,
                text: "no ZAP handler, and ZAP_ENFORCE_DOMAIN is set".into(),
            }
        } else {
            AuthOutcome::NoHandler
        };
        self.send(outcome);
    }

    fn send(&mut self, outcome: AuthOutcome) {
        self.answered = true;
        self.io.send(IoCommand::Authenticated {
            token: self.token,
            serial: self.serial,
            outcome,
        });
    }
}

impl Drop for ZapResponder {
    fn drop(&mut self) {
        if !self.answered {
            self.send(AuthOutcome::Deny {
                status: 500,
                text: "the ZAP handler did not answer".into(),
            });
        }
    }
}

/// An authenticator built from a function that answers at once (on the I/O thread; keep it
/// quick).
pub struct FnAuthenticator<F>(pub F);

impl<F> Authenticator for FnAuthenticator<F>
where
    F: Fn(&ZapRequest) -> ZapReply + Send + Sync + 'static,
{
    fn authenticate(&self, request: ZapRequest, responder: ZapResponder) {
        responder.reply((self.0)(&request));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_map_to_outcomes() {
        assert!(matches!(
            ZapReply::allow("alice").into_outcome(),
            AuthOutcome::Allow { user_id, .. } if user_id == "alice"
        ));
        assert!(matches!(
            ZapReply::deny("no").into_outcome(),
            AuthOutcome::Deny { status: 400, .. }
        ));
        assert!(matches!(
            ZapReply::temporary("later").into_outcome(),
            AuthOutcome::Deny { status: 300, .. }
        ));
        assert!(matches!(
            ZapReply::status(201, "odd").into_outcome(),
            AuthOutcome::Deny { status: 500, .. }
        ));
    }

    #[test]
    fn plain_request_hides_the_password() {
        let r = ZapRequest {
            domain: "global".into(),
            address: "127.0.0.1".into(),
            routing_id: Bytes::new(),
            mechanism: MechanismName::PLAIN,
            credentials: vec![Bytes::from("admin"), Bytes::from("hunter2")],
        };
        assert_eq!(r.username(), Some(&b"admin"[..]));
        assert_eq!(r.password(), Some(&b"hunter2"[..]));
        assert_eq!(r.client_key(), None);
        let shown = format!("{r:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
