//! CURVE keys: long-term X25519 key pairs, their Z85 text form, secrets wiped on drop.

use std::fmt;
use std::str::FromStr;

use crypto_box::aead::OsRng;

use crate::z85::{self, Z85Error};

/// Octets in a CURVE public or secret key.
pub const KEY_LEN: usize = 32;

/// Characters in a key's Z85 form.
pub const KEY_Z85_LEN: usize = 40;

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key is 32 raw octets or 40 Z85 characters.
    #[error("a CURVE key is 32 octets or 40 Z85 characters, got {len} octets")]
    Length {
        /// The rejected length.
        len: usize,
    },
    /// The 40 characters are not valid Z85.
    #[error("invalid Z85 key: {0}")]
    Z85(#[from] Z85Error),
}

/// Reads 32 raw octets or 40 Z85 characters.
fn parse_key(input: &[u8]) -> Result<[u8; KEY_LEN], KeyError> {
    let raw = match input.len() {
        KEY_LEN => input.to_vec(),
        KEY_Z85_LEN => {
            // Z85 is ASCII; other bytes are reported by the decoder as bad characters.
            let text = String::from_utf8_lossy(input);
            z85::decode(&text)?
        }
        len => return Err(KeyError::Length { len }),
    };
    raw.as_slice()
        .try_into()
        .map_err(|_| KeyError::Length { len: raw.len() })
}

/// A CURVE public key. `Debug` and `Display` show it in Z85.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; KEY_LEN]);

impl PublicKey {
    /// The key with these 32 octets.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> PublicKey {
        PublicKey(bytes)
    }

    /// Reads 32 raw octets or 40 Z85 characters (the two forms ZMQ_CURVE_SERVERKEY takes).
    pub fn parse(input: &[u8]) -> Result<PublicKey, KeyError> {
        parse_key(input).map(PublicKey)
    }

    /// The 32 octets.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The 40-character Z85 form.
    pub fn to_z85(&self) -> String {
        key_to_z85(&self.0)
    }

    pub(crate) fn to_box_key(self) -> crypto_box::PublicKey {
        crypto_box::PublicKey::from(self.0)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_z85())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<PublicKey, KeyError> {
        PublicKey::parse(s.as_bytes())
    }
}

/// A CURVE secret key. Its octets are wiped when it is dropped, and `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(crypto_box::SecretKey);

impl SecretKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> SecretKey {
        SecretKey(crypto_box::SecretKey::generate(&mut OsRng))
    }

    /// The key with these 32 octets.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SecretKey {
        SecretKey(crypto_box::SecretKey::from(bytes))
    }

    /// Reads 32 raw octets or 40 Z85 characters (the two forms ZMQ_CURVE_SECRETKEY takes).
    pub fn parse(input: &[u8]) -> Result<SecretKey, KeyError> {
        let mut raw = zeroize::Zeroizing::new(parse_key(input)?);
        Ok(SecretKey::from_bytes(std::mem::take(&mut *raw)))
    }

    /// The public key that belongs to this secret key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.public_key().as_bytes())
    }

    /// The 40-character Z85 form, for printing a new key once (as `zvtran keygen` does).
    pub fn to_z85(&self) -> String {
        let raw = zeroize::Zeroizing::new(self.0.to_bytes());
        key_to_z85(&raw)
    }

    pub(crate) fn box_key(&self) -> &crypto_box::SecretKey {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// A public key and the secret key it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// The half peers may know.
    pub public: PublicKey,
    /// The half only this side knows.
    pub secret: SecretKey,
}

impl KeyPair {
    /// A fresh random key pair (like zmq_curve_keypair).
    pub fn generate() -> KeyPair {
        KeyPair::from_secret(SecretKey::generate())
    }

    /// The pair for a secret key, deriving the public key (like zmq_curve_public).
    pub fn from_secret(secret: SecretKey) -> KeyPair {
        KeyPair {
            public: secret.public_key(),
            secret,
        }
    }
}

fn key_to_z85(raw: &[u8; KEY_LEN]) -> String {
    // 32 is a multiple of 4, so encoding cannot fail.
    z85::encode(raw).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The key pairs from libzmq's curve examples (also in pyzmq's test suite).
    const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    #[test]
    fn derives_the_public_key_libzmq_derives() {
        let secret: SecretKey = SecretKey::parse(SERVER_SECRET.as_bytes()).unwrap();
        assert_eq!(secret.public_key().to_z85(), SERVER_PUBLIC);
        assert_eq!(secret.to_z85(), SERVER_SECRET);
    }

    #[test]
    fn parses_raw_and_z85_forms() {
        let z: PublicKey = SERVER_PUBLIC.parse().unwrap();
        assert_eq!(PublicKey::parse(z.as_bytes()).unwrap(), z);
        assert_eq!(format!("{z}"), SERVER_PUBLIC);
        assert_eq!(PublicKey::parse(b"short"), Err(KeyError::Length { len: 5 }));
        assert!(matches!(
            PublicKey::parse(&[b'~'; 40]),
            Err(KeyError::Z85(Z85Error::BadCharacter { at: 0, .. }))
        ));
    }

    #[test]
    fn generated_pairs_match_and_secrets_stay_hidden() {
        let a = KeyPair::generate();
        let b = KeyPair::generate();
        assert_ne!(a.public, b.public);
        assert_eq!(a.secret.public_key(), a.public);
        assert_eq!(format!("{:?}", a.secret), "SecretKey(..)");
        assert!(!format!("{a:?}").contains(&a.secret.to_z85()));
    }
}
