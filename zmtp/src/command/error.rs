//! ERROR: a fatal refusal during the handshake (RFC 37, "Error Handling").

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::Reader;
use crate::error::Malformed;

/// An ERROR command's reason, which can be logged and has no defined semantics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReason {
    /// At most 255 octets, VCHAR by the grammar (peers may send anything).
    pub reason: Bytes,
}

impl ErrorReason {
    /// An ERROR with `reason`, cut to 255 octets.
    pub fn new(reason: &str) -> ErrorReason {
        let bytes = reason.as_bytes();
        let cut = bytes.get(..255).unwrap_or(bytes);
        ErrorReason {
            reason: Bytes::copy_from_slice(cut),
        }
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<ErrorReason, Malformed> {
        // `error-reason = OCTET 0*255VCHAR`; anything after it is ignored.
        let reason = r.short_bytes().ok_or(Malformed::Truncated)?;
        Ok(ErrorReason { reason })
    }

    pub(crate) fn encoded_len(&self) -> usize {
        1 + self.reason.len().min(255)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        let reason = self.reason.get(..255).unwrap_or(&self.reason);
        dst.put_u8(reason.len() as u8);
        dst.put_slice(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reasons_are_cut() {
        let e = ErrorReason::new(&"x".repeat(300));
        assert_eq!(e.reason.len(), 255);
        let mut out = BytesMut::new();
        e.encode(&mut out);
        assert_eq!(out.len(), e.encoded_len());
        assert_eq!(ErrorReason::decode(&mut Reader::new(out.freeze())), Ok(e));
    }

    #[test]
    fn truncated_reason_is_malformed() {
        let mut r = Reader::new(Bytes::from_static(b"\x05abc"));
        assert_eq!(ErrorReason::decode(&mut r), Err(Malformed::Truncated));
    }
}
