//! Frames (RFC 6455 section 5): a decoder that assembles messages and checks every rule, and
//! encoders.

use bytes::{Buf, Bytes, BytesMut};

/// Which side we are: a server reads masked frames, a client unmasked ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We accepted the connection: the peer must mask.
    Server,
    /// We opened it: the peer must not mask.
    Client,
}

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// The next fragment of a message.
    Continuation = 0,
    /// A text message (UTF-8).
    Text = 1,
    /// A binary message.
    Binary = 2,
    /// Closing the connection.
    Close = 8,
    /// A ping, to be answered with a pong carrying the same payload.
    Ping = 9,
    /// A pong.
    Pong = 10,
}

impl Opcode {
    fn from_u8(v: u8) -> Option<Opcode> {
        Some(match v {
            0 => Opcode::Continuation,
            1 => Opcode::Text,
            2 => Opcode::Binary,
            8 => Opcode::Close,
            9 => Opcode::Ping,
            10 => Opcode::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        (self as u8) >= 8
    }
}

/// What the decoder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole message (its fragments joined).
    Message {
        /// Sent as text rather than binary.
        text: bool,
        /// The payload, unmasked.
        payload: Bytes,
    },
    /// A ping: answer with a pong carrying `0`.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer closes, with its status code and reason if it gave them.
    Close {
        /// The status code (1000 normal, 1009 too big, ...).
        code: Option<u16>,
        /// The reason text.
        reason: Bytes,
    },
}

/// A broken rule; the connection must close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// RSV1-3 set with no extension negotiated.
    #[error("reserved bits set in a frame header")]
    ReservedBits,
    /// An opcode RFC 6455 does not define.
    #[error("unknown opcode {0:#x}")]
    UnknownOpcode(u8),
    /// A control frame split into fragments.
    #[error("a fragmented control frame")]
    FragmentedControl,
    /// A control frame over 125 octets.
    #[error("a control frame of {0} octets (at most 125)")]
    ControlTooLong(u64),
    /// A length not in its shortest form, or a 64-bit length with its top bit set.
    #[error("a malformed frame length")]
    BadLength,
    /// A message over the limit: refused at the header that declared it.
    #[error("a message of {declared} octets or more, over the {max}-octet limit")]
    TooLarge {
        /// What the peer declared so far.
        declared: u64,
        /// The limit.
        max: u64,
    },
    /// A client frame without a mask, or a server frame with one.
    #[error("a frame masked the wrong way for its direction")]
    Masking,
    /// A continuation with no message begun.
    #[error("a continuation frame with no message to continue")]
    UnexpectedContinuation,
    /// A new message while another is unfinished.
    #[error("a new message before the previous one ended")]
    ExpectedContinuation,
    /// A close frame with a one-octet body or an invalid status code.
    #[error("a malformed close frame")]
    BadClose,
}

/// Assembles messages from frames as bytes arrive.
#[derive(Debug)]
pub struct Decoder {
    role: Role,
    max_message: u64,
    buf: BytesMut,
    /// The message being assembled from fragments: (text, payload so far).
    partial: Option<(bool, BytesMut)>,
}

impl Decoder {
    /// A decoder for our `role`, refusing messages over `max_message` octets.
    pub fn new(role: Role, max_message: u64) -> Decoder {
        Decoder {
            role,
            max_message,
            buf: BytesMut::new(),
            partial: None,
        }
    }

    /// Adds received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The receive buffer, to read into directly.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Octets received and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next event, `None` until more bytes arrive.
    pub fn next_event(&mut self) -> Result<Option<Event>, WsError> {
        loop {
            let Some((fin, opcode, len, mask, header)) = self.header()? else {
                return Ok(None);
            };
            // Safe: `len` was checked against the limit (data) or 125 (control).
            let len = len as usize;
            if self.buf.len() < header + len {
                return Ok(None);
            }
            self.buf.advance(header);
            let mut payload = self.buf.split_to(len);
            if let Some(mask) = mask {
                apply_mask(&mut payload, mask, 0);
            }
            match opcode {
                Opcode::Ping => return Ok(Some(Event::Ping(payload.freeze()))),
                Opcode::Pong => return Ok(Some(Event::Pong(payload.freeze()))),
                Opcode::Close => return close(payload.freeze()).map(Some),
                Opcode::Text | Opcode::Binary => {
                    let text = opcode == Opcode::Text;
                    if fin {
                        return Ok(Some(Event::Message {
                            text,
                            payload: payload.freeze(),
                        }));
                    }
                    self.partial = Some((text, payload));
                }
                Opcode::Continuation => {
                    let Some((text, mut so_far)) = self.partial.take() else {
                        return Err(WsError::UnexpectedContinuation);
                    };
                    so_far.unsplit(payload);
                    if fin {
                        return Ok(Some(Event::Message {
                            text,
                            payload: so_far.freeze(),
                        }));
                    }
                    self.partial = Some((text, so_far));
                }
            }
        }
    }

    /// The next frame's header if it is all here: (fin, opcode, payload length, mask, header
    /// length), every rule checked.
    #[allow(clippy::type_complexity)]
    fn header(&self) -> Result<Option<(bool, Opcode, u64, Option<[u8; 4]>, usize)>, WsError> {
        let b = &self.buf[..];
        let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(WsError::ReservedBits);
        }
        let fin = b0 & 0x80 != 0;
        let opcode = Opcode::from_u8(b0 & 0x0f).ok_or(WsError::UnknownOpcode(b0 & 0x0f))?;
        let masked = b1 & 0x80 != 0;
        if masked != (self.role == Role::Server) {
            return Err(WsError::Masking);
        }
        let (len, mut at) = match b1 & 0x7f {
            126 => {
                let Some(raw) = b.get(2..4) else {
                    return Ok(None);
                };
                let len = u64::from(u16::from_be_bytes([raw[0], raw[1]]));
                if len < 126 {
                    return Err(WsError::BadLength);
                }
                (len, 4)
            }
            127 => {
                let Some(raw) = b.get(2..10) else {
                    return Ok(None);
                };
                let mut eight = [0u8; 8];
                eight.copy_from_slice(raw);
                let len = u64::from_be_bytes(eight);
                if len >> 63 != 0 || len <= 0xffff {
                    return Err(WsError::BadLength);
                }
                (len, 10)
            }
            short => (u64::from(short), 2),
        };
        if opcode.is_control() {
            if !fin {
                return Err(WsError::FragmentedControl);
            }
            if len > 125 {
                return Err(WsError::ControlTooLong(len));
            }
        } else {
            match (opcode, &self.partial) {
                (Opcode::Continuation, None) => return Err(WsError::UnexpectedContinuation),
                (Opcode::Text | Opcode::Binary, Some(_)) => {
                    return Err(WsError::ExpectedContinuation);
                }
                _ => {}
            }
            let so_far = self.partial.as_ref().map_or(0, |(_, p)| p.len() as u64);
            let declared = so_far.saturating_add(len);
            if declared > self.max_message {
                return Err(WsError::TooLarge {
                    declared,
                    max: self.max_message,
                });
            }
        }
        let mask = if masked {
            let Some(raw) = b.get(at..at + 4) else {
                return Ok(None);
            };
            at += 4;
            Some([raw[0], raw[1], raw[2], raw[3]])
        } else {
            None
        };
        Ok(Some((fin, opcode, len, mask, at)))
    }
}

fn close(payload: Bytes) -> Result<Event, WsError> {
    match payload.len() {
        0 => Ok(Event::Close {
            code: None,
            reason: Bytes::new(),
        }),
        1 => Err(WsError::BadClose),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            // 1000-1014 in use (not 1004-1006, 1015, which never travel), 3000-4999 for others.
            let valid = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !valid {
                return Err(WsError::BadClose);
            }
            Ok(Event::Close {
                code: Some(code),
                reason: payload.slice(2..),
            })
        }
    }
}

/// XORs `data` with `mask`, `offset` octets into the masked payload.
pub fn apply_mask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[(offset + i) % 4];
    }
}

/// A frame header for a payload of `len` octets; the caller masks the payload with `mask`.
pub fn encode_header(
    opcode: Opcode,
    fin: bool,
    len: u64,
    mask: Option<[u8; 4]>,
    out: &mut Vec<u8>,
) {
    out.push(u8::from(fin) << 7 | opcode as u8);
    let m = if mask.is_some() { 0x80 } else { 0 };
    match len {
        0..=125 => out.push(m | len as u8),
        126..=0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    if let Some(mask) = mask {
        out.extend_from_slice(&mask);
    }
}

/// A whole frame: header and payload (masked with `mask` if given).
pub fn encode_frame(
    opcode: Opcode,
    fin: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
    out: &mut Vec<u8>,
) {
    encode_header(opcode, fin, payload.len() as u64, mask, out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(mask) = mask {
        apply_mask(&mut out[start..], mask, 0);
    }
}
