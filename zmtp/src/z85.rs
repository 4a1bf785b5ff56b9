//! Z85 (RFC 32): the printable encoding of binary keys, 5 characters for every 4 octets.

/// RFC 32's alphabet: the digit for each value 0 to 84.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Marks characters outside the alphabet in [`DIGITS`].
const NOT_A_DIGIT: u8 = 0xff;

/// The value of each character, or [`NOT_A_DIGIT`]. Built at compile time, where an index out of
/// bounds would fail the build rather than panic.
#[allow(clippy::indexing_slicing)]
const DIGITS: [u8; 256] = {
    let mut table = [NOT_A_DIGIT; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The character for a value below 85.
fn digit_char(value: u32) -> u8 {
    usize::try_from(value)
        .ok()
        .and_then(|i| ALPHABET.get(i))
        .copied()
        .unwrap_or(b'0')
}

/// Why a Z85 encode or decode was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Z85Error {
    /// Z85 encodes binary in groups of 4 octets.
    #[error("Z85 encodes a multiple of 4 octets, got {len}")]
    BinaryLength {
        /// The rejected length.
        len: usize,
    },
    /// Z85 text comes in groups of 5 characters.
    #[error("Z85 text is a multiple of 5 characters, got {len}")]
    TextLength {
        /// The rejected length.
        len: usize,
    },
    /// A character outside the Z85 alphabet.
    #[error("invalid Z85 character {found:?} at position {at}")]
    BadCharacter {
        /// Where it is, counting from 0.
        at: usize,
        /// The character.
        found: char,
    },
    /// Five characters whose value does not fit in 32 bits.
    #[error("Z85 group at position {at} is out of range")]
    Overflow {
        /// Where the group starts.
        at: usize,
    },
}

/// Encodes `data`, whose length must be a multiple of 4.
pub fn encode(data: &[u8]) -> Result<String, Z85Error> {
    if data.len() % 4 != 0 {
        return Err(Z85Error::BinaryLength { len: data.len() });
    }
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for chunk in data.chunks_exact(4) {
        let mut value = chunk.iter().fold(0u32, |v, &b| v << 8 | u32::from(b));
        let mut group = [0u8; 5];
        for slot in group.iter_mut().rev() {
            *slot = digit_char(value % 85);
            value /= 85;
        }
        out.extend(group.iter().map(|&b| char::from(b)));
    }
    Ok(out)
}

/// Decodes Z85 text, whose length must be a multiple of 5.
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let bytes = text.as_bytes();
    if bytes.len() % 5 != 0 {
        return Err(Z85Error::TextLength {
            len: text.chars().count(),
        });
    }
    let mut out = Vec::with_capacity(bytes.len() / 5 * 4);
    for (group_no, group) in bytes.chunks_exact(5).enumerate() {
        let mut value: u64 = 0;
        for (i, &c) in group.iter().enumerate() {
            let digit = DIGITS.get(usize::from(c)).copied().unwrap_or(NOT_A_DIGIT);
            if digit == NOT_A_DIGIT {
                let at = group_no * 5 + i;
                // A multi-byte character: report it whole.
                let found = text
                    .get(at..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or(char::REPLACEMENT_CHARACTER);
                return Err(Z85Error::BadCharacter { at, found });
            }
            value = value * 85 + u64::from(digit);
        }
        let value = u32::try_from(value).map_err(|_| Z85Error::Overflow { at: group_no * 5 })?;
        out.extend_from_slice(&value.to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 32's test vector.
    const RFC_BINARY: [u8; 8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];

    #[test]
    fn rfc32_test_vector() {
        assert_eq!(encode(&RFC_BINARY).unwrap(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap(), RFC_BINARY);
    }

    #[test]
    fn round_trips_every_octet_value() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&data).unwrap()).unwrap(), data);
        assert_eq!(encode(&[0xff; 4]).unwrap(), "%nSc0");
        assert_eq!(encode(&[]).unwrap(), "");
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(encode(&[1, 2, 3]), Err(Z85Error::BinaryLength { len: 3 }));
        assert_eq!(decode("Hello!"), Err(Z85Error::TextLength { len: 6 }));
        assert_eq!(
            decode("Hel~o"),
            Err(Z85Error::BadCharacter { at: 3, found: '~' })
        );
        assert_eq!(
            decode("Hé1234567"),
            Err(Z85Error::BadCharacter { at: 1, found: 'é' })
        );
        // "%nSc1" is 2^32: one past the largest group.
        assert_eq!(decode("%nSc1"), Err(Z85Error::Overflow { at: 0 }));
        assert_eq!(decode("#####"), Err(Z85Error::Overflow { at: 0 }));
    }
}
