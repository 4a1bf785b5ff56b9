//! Frames: a flags octet, a short (1-octet) or long (8-octet) size, and a body (RFC 37).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::ProtocolError;

/// Flag bit 0: more frames of this message follow.
pub const MORE: u8 = 0x01;
/// Flag bit 1: the size is 8 octets.
pub const LONG: u8 = 0x02;
/// Flag bit 2: the frame is a command.
pub const COMMAND: u8 = 0x04;
/// Flag bits 7-3, which are reserved and MUST be zero.
pub const RESERVED: u8 = 0xf8;

/// Longest header: flags and an 8-octet size.
pub const MAX_HEADER_LEN: usize = 9;

/// The decoded header of a frame whose body may not have arrived yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// More frames of this message follow.
    pub more: bool,
    /// The frame is a command.
    pub command: bool,
    /// The body size the peer declared.
    pub size: u64,
    /// Octets taken by the flags and size fields (2 or 9).
    pub len: usize,
}

impl Header {
    /// Decodes a header from the front of `src`: `Ok(None)` when more octets are needed.
    /// Reserved flags and MORE on a command are refused here, before the body is awaited.
    pub fn decode(src: &[u8]) -> Result<Option<Header>, ProtocolError> {
        let Some(&flags) = src.first() else {
            return Ok(None);
        };
        if flags & RESERVED != 0 {
            return Err(ProtocolError::ReservedFlags { flags });
        }
        let command = flags & COMMAND != 0;
        let more = flags & MORE != 0;
        if command && more {
            return Err(ProtocolError::CommandWithMore);
        }
        let (size, len) = if flags & LONG != 0 {
            let Some(mut field) = src.get(1..9) else {
                return Ok(None);
            };
            (field.get_u64(), 9)
        } else {
            let Some(&size) = src.get(1) else {
                return Ok(None);
            };
            (u64::from(size), 2)
        };
        Ok(Some(Header {
            more,
            command,
            size,
            len,
        }))
    }

    /// Writes a header for a body of `size` octets, short when it fits in one octet.
    pub fn encode(dst: &mut BytesMut, more: bool, command: bool, size: usize) {
        let mut flags = 0;
        if more {
            flags |= MORE;
        }
        if command {
            flags |= COMMAND;
        }
        match u8::try_from(size) {
            Ok(short) => {
                dst.put_u8(flags);
                dst.put_u8(short);
            }
            Err(_) => {
                dst.put_u8(flags | LONG);
                dst.put_u64(size as u64);
            }
        }
    }

    /// Octets a header for a body of `size` octets takes.
    pub fn encoded_len(size: usize) -> usize {
        if size <= usize::from(u8::MAX) { 2 } else { 9 }
    }
}

/// Size limits the decoder enforces from the header, before the body is awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body of a message frame.
    pub message: u64,
    /// Largest body of a command frame.
    pub command: u64,
}

impl Limits {
    /// The same limit for messages and commands.
    pub fn uniform(limit: u64) -> Limits {
        Limits {
            message: limit,
            command: limit,
        }
    }
}

/// One frame with its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// More frames of this message follow.
    pub more: bool,
    /// The frame is a command.
    pub command: bool,
    /// The body.
    pub body: Bytes,
}

impl Frame {
    /// Writes header and body.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(Header::encoded_len(self.body.len()) + self.body.len());
        Header::encode(dst, self.more, self.command, self.body.len());
        dst.put_slice(&self.body);
    }

    /// Splits the next frame off the front of `src` if it is complete. The body is a slice of
    /// `src`'s buffer, not a copy. A size over the limit is refused from the header alone,
    /// before any buffer is reserved for the body.
    pub fn decode(src: &mut BytesMut, limits: Limits) -> Result<Option<Frame>, ProtocolError> {
        let Some((header, size)) = Frame::sized_header(src, limits)? else {
            return Ok(None);
        };
        if src.len() - header.len < size {
            return Ok(None);
        }
        src.advance(header.len);
        let body = src.split_to(size).freeze();
        Ok(Some(Frame {
            more: header.more,
            command: header.command,
            body,
        }))
    }

    /// The header at the front of `src` and its body size, checked against `limits`:
    /// `Ok(None)` when the header is not complete yet.
    pub fn sized_header(
        src: &[u8],
        limits: Limits,
    ) -> Result<Option<(Header, usize)>, ProtocolError> {
        let Some(header) = Header::decode(src)? else {
            return Ok(None);
        };
        let limit = if header.command {
            limits.command
        } else {
            limits.message
        };
        if header.size > limit {
            return Err(ProtocolError::FrameTooLarge {
                declared: header.size,
                limit,
            });
        }
        // `size <= limit`, and callers keep limits within the address space, but a limit of
        // u64::MAX on a 32-bit target must not truncate.
        let Ok(size) = usize::try_from(header.size) else {
            return Err(ProtocolError::FrameTooLarge {
                declared: header.size,
                limit: usize::MAX as u64,
            });
        };
        Ok(Some((header, size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(frame: &Frame) -> Frame {
        let mut buf = BytesMut::new();
        frame.encode(&mut buf);
        let out = Frame::decode(&mut buf, Limits::uniform(u64::MAX))
            .unwrap()
            .unwrap();
        assert!(buf.is_empty());
        out
    }

    #[test]
    fn short_and_long_sizes() {
        for size in [0usize, 1, 255, 256, 65_536] {
            let frame = Frame {
                more: size % 2 == 0,
                command: false,
                body: Bytes::from(vec![7u8; size]),
            };
            let mut buf = BytesMut::new();
            frame.encode(&mut buf);
            assert_eq!(buf.len(), Header::encoded_len(size) + size);
            assert_eq!(buf[0] & LONG != 0, size > 255);
            assert_eq!(round_trip(&frame), frame);
        }
    }

    #[test]
    fn long_form_of_small_size_is_accepted() {
        let mut buf = BytesMut::from(&b"\x02\0\0\0\0\0\0\0\x03abc"[..]);
        let frame = Frame::decode(&mut buf, Limits::uniform(10))
            .unwrap()
            .unwrap();
        assert_eq!(frame.body.as_ref(), b"abc");
    }

    #[test]
    fn refuses_reserved_flags_and_more_on_command() {
        for flags in [0x08u8, 0x10, 0x80, 0xff] {
            let mut buf = BytesMut::from(&[flags, 0][..]);
            assert_eq!(
                Frame::decode(&mut buf, Limits::uniform(10)),
                Err(ProtocolError::ReservedFlags { flags })
            );
        }
        let mut buf = BytesMut::from(&[COMMAND | MORE, 0][..]);
        assert_eq!(
            Frame::decode(&mut buf, Limits::uniform(10)),
            Err(ProtocolError::CommandWithMore)
        );
    }

    #[test]
    fn refuses_oversize_from_the_header_alone() {
        // 2^62 declared, nothing of the body sent: refused without waiting or reserving.
        let mut buf = BytesMut::from(&b"\x02\x40\0\0\0\0\0\0\0"[..]);
        let cap_before = buf.capacity();
        assert_eq!(
            Frame::decode(&mut buf, Limits::uniform(1 << 20)),
            Err(ProtocolError::FrameTooLarge {
                declared: 1 << 62,
                limit: 1 << 20
            })
        );
        assert_eq!(buf.capacity(), cap_before);
    }

    #[test]
    fn commands_and_messages_have_their_own_limits() {
        let limits = Limits {
            message: 3,
            command: 5,
        };
        let mut buf = BytesMut::from(&b"\x04\x05HELLO"[..]);
        assert!(Frame::decode(&mut buf, limits).unwrap().is_some());
        let mut buf = BytesMut::from(&b"\x00\x04abcd"[..]);
        assert_eq!(
            Frame::decode(&mut buf, limits),
            Err(ProtocolError::FrameTooLarge {
                declared: 4,
                limit: 3
            })
        );
    }

    #[test]
    fn waits_for_incomplete_frames() {
        let mut full = BytesMut::new();
        Frame {
            more: false,
            command: true,
            body: Bytes::from_static(&[1; 300]),
        }
        .encode(&mut full);
        for cut in 0..full.len() {
            let mut part = BytesMut::from(&full[..cut]);
            assert_eq!(
                Frame::decode(&mut part, Limits::uniform(u64::MAX)),
                Ok(None)
            );
            assert_eq!(part.len(), cut);
        }
    }

    #[test]
    fn body_is_a_slice_of_the_read_buffer() {
        let mut buf = BytesMut::from(&b"\x01\x03abc\x00\x02de"[..]);
        let base = buf.as_ptr() as usize;
        let a = Frame::decode(&mut buf, Limits::uniform(10))
            .unwrap()
            .unwrap();
        let b = Frame::decode(&mut buf, Limits::uniform(10))
            .unwrap()
            .unwrap();
        assert_eq!(a.body.as_ptr() as usize, base + 2);
        assert_eq!(b.body.as_ptr() as usize, base + 7);
        assert!(a.more && !b.more);
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(more: bool, command: bool, body in proptest::collection::vec(any::<u8>(), 0..600)) {
            let frame = Frame { more: more && !command, command, body: body.into() };
            prop_assert_eq!(round_trip(&frame), frame);
        }

        #[test]
        fn any_header_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..12), limit: u64) {
            let mut buf = BytesMut::from(&bytes[..]);
            let _ = Frame::decode(&mut buf, Limits::uniform(limit));
        }
    }
}
