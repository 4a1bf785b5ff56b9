//! PING and PONG heartbeats (RFC 37, "Connection Heartbeating").

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::Reader;
use crate::error::{Malformed, UsageError};

/// RFC 37: `ping-context = 0*16OCTET`.
pub const MAX_CONTEXT_LEN: usize = 16;

/// A heartbeat request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// Time-to-live in tenths of a second; 0 means none. RFC 37: the peer should disconnect if
    /// no further traffic arrives within the TTL.
    pub ttl_deciseconds: u16,
    /// Opaque context that PONG echoes, at most 16 octets.
    pub context: Bytes,
}

impl Ping {
    /// A PING with a TTL rounded down to deciseconds and a context of at most 16 octets.
    pub fn new(ttl: Duration, context: Bytes) -> Result<Ping, UsageError> {
        if context.len() > MAX_CONTEXT_LEN {
            return Err(UsageError::PingContextTooLong { len: context.len() });
        }
        let ttl_deciseconds =
            u16::try_from(ttl.as_millis() / 100).map_err(|_| UsageError::HeartbeatTtlTooLarge {
                millis: ttl.as_millis(),
            })?;
        Ok(Ping {
            ttl_deciseconds,
            context,
        })
    }

    /// The TTL as a duration, `None` when zero.
    pub fn ttl(&self) -> Option<Duration> {
        (self.ttl_deciseconds > 0)
            .then(|| Duration::from_millis(u64::from(self.ttl_deciseconds) * 100))
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Ping, Malformed> {
        let ttl_deciseconds = r.u16().ok_or(Malformed::Truncated)?;
        let context = context(r)?;
        Ok(Ping {
            ttl_deciseconds,
            context,
        })
    }

    pub(crate) fn encoded_len(&self) -> usize {
        2 + self.context.len()
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        dst.put_u16(self.ttl_deciseconds);
        dst.put_slice(&self.context);
    }
}

/// A heartbeat reply, echoing the PING's context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// The context of the PING this answers.
    pub context: Bytes,
}

impl Pong {
    pub(crate) fn decode(r: &mut Reader) -> Result<Pong, Malformed> {
        Ok(Pong {
            context: context(r)?,
        })
    }
}

/// RFC 37: the context "MUST not exceed 16 octets".
fn context(r: &mut Reader) -> Result<Bytes, Malformed> {
    if r.remaining() > MAX_CONTEXT_LEN {
        return Err(Malformed::ContextTooLong);
    }
    Ok(r.rest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_down_to_deciseconds() {
        let p = Ping::new(Duration::from_millis(2_099), Bytes::new()).unwrap();
        assert_eq!(p.ttl_deciseconds, 20);
        assert_eq!(p.ttl(), Some(Duration::from_secs(2)));
        assert_eq!(Ping::new(Duration::ZERO, Bytes::new()).unwrap().ttl(), None);
        assert!(Ping::new(Duration::from_millis(6_553_599), Bytes::new()).is_ok());
        assert_eq!(
            Ping::new(Duration::from_millis(6_553_600), Bytes::new()),
            Err(UsageError::HeartbeatTtlTooLarge { millis: 6_553_600 })
        );
        assert_eq!(
            Ping::new(Duration::ZERO, Bytes::from_static(&[0; 17])),
            Err(UsageError::PingContextTooLong { len: 17 })
        );
    }

    #[test]
    fn decode_checks_ttl_and_context() {
        let mut r = Reader::new(Bytes::from_static(b"\x00"));
        assert_eq!(Ping::decode(&mut r), Err(Malformed::Truncated));
        let mut r = Reader::new(Bytes::from_static(&[0; 19]));
        assert_eq!(Ping::decode(&mut r), Err(Malformed::ContextTooLong));
        let mut r = Reader::new(Bytes::from_static(&[0; 17]));
        assert_eq!(Pong::decode(&mut r), Err(Malformed::ContextTooLong));
    }
}
