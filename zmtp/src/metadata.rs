//! Connection metadata: the name/value properties of READY (and of PLAIN/CURVE INITIATE).

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::Reader;
use crate::error::{Malformed, UsageError};

/// Property that announces the sender's socket type.
pub const SOCKET_TYPE: &str = "Socket-Type";
/// Property that announces the sender's routing id.
pub const IDENTITY: &str = "Identity";
/// Property a ZAP handler may set: the authenticated user.
pub const USER_ID: &str = "User-Id";

/// RFC 37: a value is at most 2^31-1 octets.
const MAX_VALUE_LEN: usize = i32::MAX as usize;

/// Properties in the order they were added. Names compare case-insensitively (RFC 37).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    props: Vec<(String, Bytes)>,
}

/// RFC 37: `name = OCTET 1*255name-char`, `name-char = ALPHA | DIGIT | "-" | "_" | "." | "+"`.
pub fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(b))
}

impl Metadata {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a property, replacing one of the same name in any case.
    pub fn insert(&mut self, name: &str, value: impl Into<Bytes>) -> Result<(), UsageError> {
        let value = value.into();
        if !is_valid_name(name.as_bytes()) || value.len() > MAX_VALUE_LEN {
            return Err(UsageError::InvalidPropertyName { name: name.into() });
        }
        match self
            .props
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.props.push((name.into(), value)),
        }
        Ok(())
    }

    /// The value of the first property with this name, in any case.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Removes a property; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<Bytes> {
        let at = self
            .props
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))?;
        Some(self.props.remove(at).1)
    }

    /// Properties in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.props.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.props.len()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.props.is_empty()
    }

    /// Octets [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        self.props
            .iter()
            .map(|(n, v)| 1 + n.len() + 4 + v.len())
            .sum()
    }

    /// Writes every property as `name-length name value-length value`.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(self.encoded_len());
        for (name, value) in &self.props {
            // Both lengths were checked by `insert` or `decode`.
            dst.put_u8(name.len() as u8);
            dst.put_slice(name.as_bytes());
            dst.put_u32(value.len() as u32);
            dst.put_slice(value);
        }
    }

    /// Reads properties until the reader is empty. Values are slices of the command body.
    pub fn decode(r: &mut Reader) -> Result<Metadata, Malformed> {
        let mut props = Vec::new();
        while !r.is_empty() {
            let name = r.short_bytes().ok_or(Malformed::Truncated)?;
            if !is_valid_name(&name) {
                return Err(Malformed::BadPropertyName);
            }
            let len = r.u32().ok_or(Malformed::Truncated)?;
            let value = usize::try_from(len)
                .ok()
                .and_then(|len| r.take(len))
                .ok_or(Malformed::Truncated)?;
            // Valid names are ASCII, so this conversion cannot fail.
            let name = String::from_utf8_lossy(&name).into_owned();
            props.push((name, value));
        }
        Ok(Metadata { props })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_case_insensitive() {
        let mut m = Metadata::new();
        m.insert("Socket-Type", "DEALER").unwrap();
        m.insert("socket-type", "ROUTER").unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("SOCKET-TYPE").unwrap().as_ref(), b"ROUTER");
        assert_eq!(m.remove("socket-TYPE").unwrap().as_ref(), b"ROUTER");
        assert!(m.is_empty());
    }

    #[test]
    fn invalid_names_are_refused() {
        let mut m = Metadata::new();
        for bad in ["", "a b", "é", "x:y", &"a".repeat(256)] {
            assert!(m.insert(bad, "v").is_err(), "{bad:?}");
        }
        m.insert("X-Custom.1+2_3", "").unwrap();
    }

    #[test]
    fn decodes_rfc_worked_example() {
        let body = b"\x0bSocket-Type\0\0\0\x06DEALER\x08Identity\0\0\0\0";
        let m = Metadata::decode(&mut Reader::new(Bytes::from_static(body))).unwrap();
        assert_eq!(m.get(SOCKET_TYPE).unwrap().as_ref(), b"DEALER");
        assert_eq!(m.get(IDENTITY).unwrap().as_ref(), b"");
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(out.as_ref(), body);
        assert_eq!(m.encoded_len(), body.len());
    }

    #[test]
    fn truncation_and_bad_names_are_reported() {
        let cases: [(&[u8], Malformed); 4] = [
            (b"\x05Sock", Malformed::Truncated),
            (b"\x01A\0\0", Malformed::Truncated),
            (b"\x01A\0\0\0\x09abc", Malformed::Truncated),
            (b"\x00\0\0\0\0", Malformed::BadPropertyName),
        ];
        for (body, want) in cases {
            let got = Metadata::decode(&mut Reader::new(Bytes::copy_from_slice(body)));
            assert_eq!(got, Err(want), "{body:?}");
        }
        // A huge declared value length is refused without allocating it.
        let got = Metadata::decode(&mut Reader::new(Bytes::from_static(
            b"\x01A\x7f\xff\xff\xff",
        )));
        assert_eq!(got, Err(Malformed::Truncated));
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(props in proptest::collection::vec(("[A-Za-z0-9._+-]{1,20}", proptest::collection::vec(any::<u8>(), 0..40)), 0..6)) {
            let mut m = Metadata::new();
            for (n, v) in &props {
                m.insert(n, v.clone()).unwrap();
            }
            let mut out = BytesMut::new();
            m.encode(&mut out);
            prop_assert_eq!(Metadata::decode(&mut Reader::new(out.freeze())).unwrap(), m);
        }
    }
}
