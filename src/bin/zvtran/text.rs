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
#[error("bad escape {escape:?} in {text:?} (use \\\\, \\t, \\n, \\0 or \\xHH)")]
pub struct BadEscape {
    /// The offending escape as written.
    pub escape: String,
    /// The text it is in.
    pub text: String,
}

/// Decodes the escapes of one frame (a TAB in it stays a TAB).
pub fn unescape(text: &[u8]) -> Result<Vec<u8>, BadEscape> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let bad = |len: usize| BadEscape {
            escape: String::from_utf8_lossy(
                text.get(i..(i + len).min(text.len())).unwrap_or_default(),
            )
            .into_owned(),
            text: String::from_utf8_lossy(text).into_owned(),
        };
        let (byte, len) = match text.get(i + 1) {
            Some(b'\\') => (b'\\', 2),
            Some(b't') => (b'\t', 2),
            Some(b'n') => (b'\n', 2),
            Some(b'0') => (0, 2),
            Some(b'x') => {
                let hex = text.get(i + 2..i + 4).ok_or_else(|| bad(4))?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad(4))?;
                (u8::from_str_radix(hex, 16).map_err(|_| bad(4))?, 4)
            }
            _ => return Err(bad(2)),
        };
        out.push(byte);
        i += len;
    }
    Ok(out)
}

/// Reads one line (without its terminator) into a message: TAB separates frames, so `a\t\tb`
/// (with real TABs) is three frames.
pub fn decode(line: &[u8]) -> Result<Message, BadEscape> {
    line.split(|b| *b == b'\t')
        .map(|frame| unescape(frame).map(Bytes::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_separate_frames() {
        assert_eq!(
            decode(b"a\t\tb").unwrap(),
            Message::from_frames(["a", "", "b"])
        );
        assert_eq!(decode(b"").unwrap(), Message::from_frames([""]));
        // Bytes that are not UTF-8 pass through.
        assert_eq!(decode(b"\xff").unwrap(), Message::from(vec![0xffu8]));
    }

    #[test]
    fn escapes_round_trip_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let msg = Message::from_frames([Bytes::from(all), Bytes::from_static(b"\\t")]);
        let line = encode(&msg);
        assert!(line.is_ascii() && !line.contains('\n'));
        assert_eq!(line.matches('\t').count(), 1);
        assert_eq!(decode(line.as_bytes()).unwrap(), msg);
        assert_eq!(encode(&decode(b"x\\x41\\0\\\\").unwrap()), "xA\\0\\\\");
    }

    #[test]
    fn bad_escapes_name_themselves() {
        for (line, escape) in [
            ("a\\q", "\\q"),
            ("\\x4", "\\x4"),
            ("\\xzz", "\\xzz"),
            ("end\\", "\\"),
        ] {
            let err = decode(line.as_bytes()).unwrap_err();
            assert_eq!(err.escape, escape, "{line}");
        }
    }
}
