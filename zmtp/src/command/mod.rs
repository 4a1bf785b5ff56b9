//! Commands: single frames with the COMMAND flag, a short name and data (RFC 37).

pub mod error;
pub mod group;
pub mod ping;
pub mod subscription;

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::Reader;
use crate::error::{Malformed, ProtocolError, printable};
use crate::frame::Header;
use crate::metadata::Metadata;

pub use error::ErrorReason;
pub use ping::{Ping, Pong};
pub use subscription::Subscription;

/// A decoded command. Commands this crate does not interpret (a mechanism's HELLO, or one
/// from a future version) arrive as [`Command::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// READY: the sender's metadata; ends the NULL handshake.
    Ready(Metadata),
    /// ERROR: a fatal refusal.
    Error(ErrorReason),
    /// PING: a heartbeat request.
    Ping(Ping),
    /// PONG: a heartbeat reply.
    Pong(Pong),
    /// SUBSCRIBE: a prefix subscription (3.1 peers).
    Subscribe(Bytes),
    /// CANCEL: drops one count of a prefix subscription (3.1 peers).
    Cancel(Bytes),
    /// JOIN: a DISH joins a group.
    Join(Bytes),
    /// LEAVE: a DISH leaves a group.
    Leave(Bytes),
    /// Any other command, kept raw.
    Other {
        /// The command name, 1 to 255 octets.
        name: Bytes,
        /// Everything after the name.
        data: Bytes,
    },
}

impl Command {
    /// The name as it travels.
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => b"READY",
            Command::Error(_) => b"ERROR",
            Command::Ping(_) => b"PING",
            Command::Pong(_) => b"PONG",
            Command::Subscribe(_) => b"SUBSCRIBE",
            Command::Cancel(_) => b"CANCEL",
            Command::Join(_) => b"JOIN",
            Command::Leave(_) => b"LEAVE",
            Command::Other { name, .. } => name,
        }
    }

    /// Parses a command frame's body. Data slices share the body's buffer.
    pub fn decode(body: Bytes) -> Result<Command, ProtocolError> {
        let mut r = Reader::new(body);
        let name = r
            .short_bytes()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| malformed(b"", Malformed::BadName))?;
        let parsed = match name.as_ref() {
            b"READY" => Metadata::decode(&mut r).map(Command::Ready),
            b"ERROR" => ErrorReason::decode(&mut r).map(Command::Error),
            b"PING" => Ping::decode(&mut r).map(Command::Ping),
            b"PONG" => Pong::decode(&mut r).map(Command::Pong),
            b"SUBSCRIBE" => Ok(Command::Subscribe(r.rest())),
            b"CANCEL" => Ok(Command::Cancel(r.rest())),
            b"JOIN" => group::decode(&mut r).map(Command::Join),
            b"LEAVE" => group::decode(&mut r).map(Command::Leave),
            _ => {
                return Ok(Command::Other {
                    name,
                    data: r.rest(),
                });
            }
        };
        parsed.map_err(|reason| malformed(&name, reason))
    }

    /// Octets of the body (name length, name and data).
    pub fn body_len(&self) -> usize {
        1 + self.name().len()
            + match self {
                Command::Ready(m) => m.encoded_len(),
                Command::Error(e) => e.encoded_len(),
                Command::Ping(p) => p.encoded_len(),
                Command::Pong(p) => p.context.len(),
                Command::Subscribe(t)
                | Command::Cancel(t)
                | Command::Join(t)
                | Command::Leave(t) => t.len(),
                Command::Other { data, .. } => data.len(),
            }
    }

    /// Writes the whole frame: header, name and data.
    pub fn encode(&self, dst: &mut BytesMut) {
        let body_len = self.body_len();
        dst.reserve(Header::encoded_len(body_len) + body_len);
        Header::encode(dst, false, true, body_len);
        self.encode_body(dst);
    }

    /// Writes the body alone (name length, name and data), as CURVE encrypts it inside a
    /// MESSAGE command.
    pub fn encode_body(&self, dst: &mut BytesMut) {
        let name = self.name();
        // Our own names are short; a raw name longer than 255 octets cannot be decoded, so it
        // cannot reach here from the wire, and `Other` built by hand is cut the same way.
        dst.put_u8(name.len().min(255) as u8);
        dst.put_slice(name.get(..255).unwrap_or(name));
        match self {
            Command::Ready(m) => m.encode(dst),
            Command::Error(e) => e.encode(dst),
            Command::Ping(p) => p.encode(dst),
            Command::Pong(p) => dst.put_slice(&p.context),
            Command::Subscribe(t) | Command::Cancel(t) | Command::Join(t) | Command::Leave(t) => {
                dst.put_slice(t)
            }
            Command::Other { data, .. } => dst.put_slice(data),
        }
    }
}

fn malformed(name: &[u8], reason: Malformed) -> ProtocolError {
    ProtocolError::MalformedCommand {
        command: printable(name),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, Limits};
    use proptest::prelude::*;

    fn round_trip(cmd: &Command) -> Command {
        let mut buf = BytesMut::new();
        cmd.encode(&mut buf);
        let frame = Frame::decode(&mut buf, Limits::uniform(u64::MAX))
            .unwrap()
            .unwrap();
        assert!(frame.command && !frame.more && buf.is_empty());
        assert_eq!(frame.body.len(), cmd.body_len());
        Command::decode(frame.body).unwrap()
    }

    fn every_command() -> Vec<Command> {
        let mut meta = Metadata::new();
        meta.insert("Socket-Type", "ROUTER").unwrap();
        meta.insert("X-Big", vec![9u8; 300]).unwrap();
        vec![
            Command::Ready(meta),
            Command::Ready(Metadata::new()),
            Command::Error(ErrorReason::new("Invalid socket type")),
            Command::Ping(Ping {
                ttl_deciseconds: 20,
                context: Bytes::from_static(b"0123456789abcdef"),
            }),
            Command::Ping(Ping {
                ttl_deciseconds: 0,
                context: Bytes::new(),
            }),
            Command::Pong(Pong {
                context: Bytes::from_static(b"ctx"),
            }),
            Command::Subscribe(Bytes::from_static(b"topic")),
            Command::Subscribe(Bytes::new()),
            Command::Cancel(Bytes::from_static(b"\0\xff")),
            Command::Join(Bytes::from_static(b"group")),
            Command::Leave(Bytes::from(vec![b'g'; 255])),
            Command::Other {
                name: Bytes::from_static(b"HELLO"),
                data: Bytes::from_static(b"\x01\x00"),
            },
        ]
    }

    #[test]
    fn every_command_round_trips() {
        for cmd in every_command() {
            assert_eq!(round_trip(&cmd), cmd);
        }
    }

    #[test]
    fn matches_libzmq_bytes() {
        // Captured from libzmq 4.3.5 (pyzmq 27.3.0).
        let mut buf = BytesMut::new();
        Command::Ping(Ping {
            ttl_deciseconds: 20,
            context: Bytes::new(),
        })
        .encode(&mut buf);
        assert_eq!(buf.as_ref(), b"\x04\x07\x04PING\x00\x14");
        buf.clear();
        Command::Subscribe(Bytes::from_static(b"abc")).encode(&mut buf);
        assert_eq!(buf.as_ref(), b"\x04\x0d\x09SUBSCRIBEabc");
        buf.clear();
        let mut meta = Metadata::new();
        meta.insert("Socket-Type", "SUB").unwrap();
        Command::Ready(meta).encode(&mut buf);
        assert_eq!(
            buf.as_ref(),
            b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03SUB"
        );
    }

    #[test]
    fn malformed_bodies_name_the_command() {
        assert_eq!(
            Command::decode(Bytes::new()),
            Err(malformed(b"", Malformed::BadName))
        );
        assert_eq!(
            Command::decode(Bytes::from_static(b"\x09SUB")),
            Err(malformed(b"", Malformed::BadName))
        );
        assert_eq!(
            Command::decode(Bytes::from_static(b"\x04PING\x00")),
            Err(malformed(b"PING", Malformed::Truncated))
        );
        let long_group = [&b"\x04JOIN"[..], &[b'g'; 256]].concat();
        assert_eq!(
            Command::decode(Bytes::from(long_group)),
            Err(malformed(b"JOIN", Malformed::GroupTooLong))
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics_and_reencodes_stably(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(cmd) = Command::decode(Bytes::from(body)) {
                prop_assert_eq!(round_trip(&cmd), cmd);
            }
        }

        #[test]
        fn topics_round_trip(topic in proptest::collection::vec(any::<u8>(), 0..300)) {
            let cmd = Command::Subscribe(topic.clone().into());
            prop_assert_eq!(round_trip(&cmd), cmd);
            let cmd = Command::Cancel(topic.into());
            prop_assert_eq!(round_trip(&cmd), cmd);
        }
    }
}
