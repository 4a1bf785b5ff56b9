//! The line format of the CLI: frames separated by TAB, `\\ \t \n \0 \xHH` escapes inside a frame.

use bytes::Bytes;
use zvtran::zmtp::Message;

/// Writes a message as one line (without the terminator): printable ASCII as is, except the
/// backslash, and every other byte escaped.
pub fn encode(msg: &Message) -> String {
    let mut out = String::new();
    for (i, frame) in msg.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        for &b in frame.iter() {
            match b {
                b'\\' => out.push_str("\\\\"),
                b'\t' => out.push_str("\\t"),
                b'\n' => out.push_str("\\n"),
                0 => out.push_str("\\0"),
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\x{b:02x}")),
            }
        }
    }
    out
}

/// A line that does not follow the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad escape {escape:?} at byte {at} of {line:?} (use \\\\, \\t, \\n, \\0 or \\xHH)")]
pub struct BadEscape {
    /// The offending escape as written.
    pub escape: String,
    /// Its byte offset in the line.
    pub at: usize,
    /// The whole line.
    pub line: String,
}

/// Reads one line (without its terminator) into a message: `a\t\tb` is three frames.
pub fn decode(line: &str) -> Result<Message, BadEscape> {
    let bytes = line.as_bytes();
    let mut msg = Message::new();
    let mut frame = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\t' => msg.push(Bytes::from(std::mem::take(&mut frame))),
            b'\\' => {
                let bad = |len: usize| BadEscape {
                    escape: String::from_utf8_lossy(
                        bytes.get(i..(i + len).min(bytes.len())).unwrap_or_default(),
                    )
                    .into_owned(),
                    at: i,
                    line: line.into(),
                };
                let (byte, len) = match bytes.get(i + 1) {
                    Some(b'\\') => (b'\\', 2),
                    Some(b't') => (b'\t', 2),
                    Some(b'n') => (b'\n', 2),
                    Some(b'0') => (0, 2),
                    Some(b'x') => {
                        let hex = bytes.get(i + 2..i + 4).ok_or_else(|| bad(4))?;
                        let hex = std::str::from_utf8(hex).map_err(|_| bad(4))?;
                        (u8::from_str_radix(hex, 16).map_err(|_| bad(4))?, 4)
                    }
                    _ => return Err(bad(2)),
                };
                frame.push(byte);
                i += len;
                continue;
            }
            _ => frame.push(b),
        }
        i += 1;
    }
    msg.push(Bytes::from(frame));
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_separate_frames() {
        assert_eq!(
            decode("a\t\tb").unwrap(),
            Message::from_frames(["a", "", "b"])
        );
        assert_eq!(decode("").unwrap(), Message::from_frames([""]));
    }

    #[test]
    fn escapes_round_trip_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let msg = Message::from_frames([Bytes::from(all), Bytes::from_static(b"\\t")]);
        let line = encode(&msg);
        assert!(line.is_ascii() && !line.contains('\n'));
        assert_eq!(line.matches('\t').count(), 1);
        assert_eq!(decode(&line).unwrap(), msg);
        assert_eq!(encode(&decode("x\\x41\\0\\\\").unwrap()), "xA\\0\\\\");
    }

    #[test]
    fn bad_escapes_name_themselves() {
        for (line, escape) in [
            ("a\\q", "\\q"),
            ("\\x4", "\\x4"),
            ("\\xzz", "\\xzz"),
            ("end\\", "\\"),
        ] {
            let err = decode(line).unwrap_err();
            assert_eq!(err.escape, escape, "{line}");
        }
    }
}
