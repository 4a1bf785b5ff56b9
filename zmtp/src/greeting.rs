//! The 64-octet greeting: signature, version, mechanism, as-server, filler (RFC 37).

use std::fmt;

use bytes::{BufMut, BytesMut};

use crate::error::{ProtocolError, UsageError, printable};

/// Length of a full greeting.
pub const GREETING_LEN: usize = 64;

/// Octets of the greeting before the mechanism: signature (10) and version (2).
const MECHANISM_AT: usize = 12;

/// A protocol version from the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version; 3 for ZMTP 3.x.
    pub major: u8,
    /// Minor version; 0 or 1 today.
    pub minor: u8,
}

impl Version {
    /// ZMTP 3.0 (RFC 23).
    pub const V3_0: Version = Version { major: 3, minor: 0 };
    /// ZMTP 3.1 (RFC 37), the version we speak.
    pub const V3_1: Version = Version { major: 3, minor: 1 };

    /// The version both sides use: RFC 37 says a peer uses its own protocol with an equal or
    /// higher peer and may downgrade to a lower one, so the effective version is the lower one.
    pub fn negotiate(ours: Version, theirs: Version) -> Version {
        ours.min(theirs)
    }

    /// Whether subscriptions travel as SUBSCRIBE/CANCEL commands (3.1) rather than as
    /// `\x01topic`/`\x00topic` messages (3.0).
    pub fn has_subscription_commands(self) -> bool {
        self >= Version::V3_1
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A security mechanism name: up to 20 characters of `A-Z 0-9 - _ . +`, null-padded on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MechanismName([u8; 20]);

impl MechanismName {
    /// No security (RFC 37).
    pub const NULL: MechanismName = MechanismName::from_static(b"NULL");
    /// Clear-text user name and password (RFC 24).
    pub const PLAIN: MechanismName = MechanismName::from_static(b"PLAIN");
    /// CurveZMQ (RFC 25/26).
    pub const CURVE: MechanismName = MechanismName::from_static(b"CURVE");

    #[allow(
        clippy::indexing_slicing,
        reason = "only evaluated in constants, where an out-of-bounds name fails the build"
    )]
    const fn from_static(name: &[u8]) -> MechanismName {
        let mut raw = [0u8; 20];
        let mut i = 0;
        while i < name.len() {
            raw[i] = name[i];
            i += 1;
        }
        MechanismName(raw)
    }

    /// Validates a name for a custom mechanism.
    pub fn new(name: &str) -> Result<MechanismName, UsageError> {
        let ok = !name.is_empty()
            && name.len() <= 20
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.+".contains(&b));
        if !ok {
            return Err(UsageError::InvalidMechanismName { name: name.into() });
        }
        let mut raw = [0u8; 20];
        raw.iter_mut().zip(name.bytes()).for_each(|(d, s)| *d = s);
        Ok(MechanismName(raw))
    }

    /// The 20 octets as they travel.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The name without its null padding; peer-supplied odd bytes are shown as `?`.
    pub fn to_printable(&self) -> String {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(20);
        printable(self.0.get(..end).unwrap_or_default())
    }
}

impl fmt::Debug for MechanismName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MechanismName({})", self.to_printable())
    }
}

impl fmt::Display for MechanismName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_printable())
    }
}

/// A decoded greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting {
    /// The version the sender speaks.
    pub version: Version,
    /// The sender's security mechanism.
    pub mechanism: MechanismName,
    /// Whether the sender acts as server in the security handshake.
    pub as_server: bool,
}

impl Greeting {
    /// Writes the full 64 octets. The padding is zero, as RFC 37 recommends when the whole
    /// greeting is sent at once, except its last octet, which is 1: that is what libzmq sends and
    /// what ZMTP 1.0 peers read as an empty identity.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(GREETING_LEN);
        dst.put_u8(0xff);
        dst.put_bytes(0, 7);
        dst.put_u8(1);
        dst.put_u8(0x7f);
        dst.put_u8(self.version.major);
        dst.put_u8(self.version.minor);
        dst.put_slice(self.mechanism.as_bytes());
        dst.put_u8(u8::from(self.as_server));
        dst.put_bytes(0, 31);
    }

    /// Checks the octets received so far, so that a peer that is not ZMTP 3.x is refused at
    /// once instead of when (if ever) 64 octets have arrived.
    pub fn check_prefix(src: &[u8]) -> Result<(), ProtocolError> {
        // RFC 37: signature = %xFF padding %x7F. A ZMTP 1.0 peer sends a length instead.
        if src.first().is_some_and(|&b| b != 0xff) || src.get(9).is_some_and(|&b| b != 0x7f) {
            return Err(ProtocolError::BadSignature);
        }
        if let Some(&major) = src.get(10) {
            if major < 3 {
                let minor = src.get(11).copied().unwrap_or(0);
                return Err(ProtocolError::UnsupportedVersion { major, minor });
            }
        }
        Ok(())
    }

    /// Decodes a full greeting. The padding and filler are not significant (RFC 37: a peer
    /// MUST NOT validate the padding).
    pub fn decode(src: &[u8; GREETING_LEN]) -> Result<Greeting, ProtocolError> {
        Greeting::check_prefix(src)?;
        let version = Version {
            major: src[10],
            minor: src[11],
        };
        let mut mechanism = [0u8; 20];
        mechanism.copy_from_slice(&src[MECHANISM_AT..MECHANISM_AT + 20]);
        let as_server = match src[32] {
            0 => false,
            1 => true,
            value => return Err(ProtocolError::InvalidAsServer { value }),
        };
        Ok(Greeting {
            version,
            mechanism: MechanismName(mechanism),
            as_server,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(g: &Greeting) -> [u8; GREETING_LEN] {
        let mut buf = BytesMut::new();
        g.encode(&mut buf);
        buf.as_ref().try_into().unwrap()
    }

    #[test]
    fn matches_libzmq_bytes() {
        let g = Greeting {
            version: Version::V3_1,
            mechanism: MechanismName::NULL,
            as_server: false,
        };
        let bytes = encoded(&g);
        // What libzmq 4.3.5 sends (captured from pyzmq 27.3.0).
        let mut expected = [0u8; 64];
        expected[..16].copy_from_slice(b"\xff\0\0\0\0\0\0\0\x01\x7f\x03\x01NULL");
        assert_eq!(bytes, expected);
        assert_eq!(Greeting::decode(&bytes), Ok(g));
    }

    #[test]
    fn round_trips_every_field() {
        for minor in [0, 1, 7] {
            for mechanism in [
                MechanismName::NULL,
                MechanismName::PLAIN,
                MechanismName::CURVE,
            ] {
                for as_server in [false, true] {
                    let g = Greeting {
                        version: Version { major: 3, minor },
                        mechanism,
                        as_server,
                    };
                    assert_eq!(Greeting::decode(&encoded(&g)), Ok(g));
                }
            }
        }
    }

    #[test]
    fn refuses_old_and_foreign_peers_early() {
        assert_eq!(
            Greeting::check_prefix(b"GET / HTTP/1.1"),
            Err(ProtocolError::BadSignature)
        );
        // ZMTP 1.0: a long identity length with the low bit of octet 9 clear.
        assert_eq!(
            Greeting::check_prefix(b"\xff\0\0\0\0\0\0\0\x01\x00"),
            Err(ProtocolError::BadSignature)
        );
        assert_eq!(
            Greeting::check_prefix(b"\xff\0\0\0\0\0\0\0\x01\x7f\x02"),
            Err(ProtocolError::UnsupportedVersion { major: 2, minor: 0 })
        );
        assert_eq!(Greeting::check_prefix(b"\xff\0\0\0"), Ok(()));
    }

    #[test]
    fn accepts_higher_versions_and_rejects_bad_as_server() {
        let mut bytes = encoded(&Greeting {
            version: Version { major: 4, minor: 2 },
            mechanism: MechanismName::NULL,
            as_server: false,
        });
        assert_eq!(
            Greeting::decode(&bytes).unwrap().version,
            Version { major: 4, minor: 2 }
        );
        bytes[32] = 2;
        assert_eq!(
            Greeting::decode(&bytes),
            Err(ProtocolError::InvalidAsServer { value: 2 })
        );
    }

    #[test]
    fn negotiates_lower_version() {
        assert_eq!(
            Version::negotiate(Version::V3_1, Version::V3_0),
            Version::V3_0
        );
        assert_eq!(
            Version::negotiate(Version::V3_1, Version { major: 3, minor: 9 }),
            Version::V3_1
        );
        assert_eq!(
            Version::negotiate(Version::V3_1, Version { major: 4, minor: 0 }),
            Version::V3_1
        );
    }

    #[test]
    fn mechanism_names_are_validated() {
        assert_eq!(MechanismName::new("NULL"), Ok(MechanismName::NULL));
        assert!(MechanismName::new("null").is_err());
        assert!(MechanismName::new("").is_err());
        assert!(MechanismName::new("ABCDEFGHIJKLMNOPQRSTU").is_err());
        assert_eq!(MechanismName::CURVE.to_string(), "CURVE");
    }
}
