//! A bounds-checked cursor over peer bytes: every read returns `None` instead of panicking.

use bytes::{Buf, Bytes};

/// Reads fields from a command body. Slices share the body's buffer; nothing is copied.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
}

impl Reader {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: Bytes) -> Self {
        Reader { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next `n` bytes, or `None` if fewer remain (then nothing is consumed).
    pub fn take(&mut self, n: usize) -> Option<Bytes> {
        (n <= self.buf.len()).then(|| self.buf.split_to(n))
    }

    /// One octet.
    pub fn u8(&mut self) -> Option<u8> {
        (!self.buf.is_empty()).then(|| self.buf.get_u8())
    }

    /// A 16-bit unsigned integer in network byte order.
    pub fn u16(&mut self) -> Option<u16> {
        (self.buf.len() >= 2).then(|| self.buf.get_u16())
    }

    /// A 32-bit unsigned integer in network byte order.
    pub fn u32(&mut self) -> Option<u32> {
        (self.buf.len() >= 4).then(|| self.buf.get_u32())
    }

    /// A string of 0 to 255 octets preceded by its one-octet length.
    pub fn short_bytes(&mut self) -> Option<Bytes> {
        let mut probe = self.buf.clone();
        let len = (!probe.is_empty()).then(|| probe.get_u8())?;
        if usize::from(len) > probe.len() {
            return None;
        }
        self.buf.advance(1);
        Some(self.buf.split_to(usize::from(len)))
    }

    /// Everything that remains.
    pub fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fail_without_consuming() {
        let mut r = Reader::new(Bytes::from_static(b"\x03ab"));
        assert_eq!(r.short_bytes(), None);
        assert_eq!(r.remaining(), 3);
        assert_eq!(r.u32(), None);
        assert_eq!(r.u16(), Some(0x0361));
        assert_eq!(r.take(2), None);
        assert_eq!(r.take(1).as_deref(), Some(&b"b"[..]));
        assert!(r.is_empty());
        assert_eq!(r.u8(), None);
    }

    #[test]
    fn short_bytes_reads_length_prefixed() {
        let mut r = Reader::new(Bytes::from_static(b"\x02hiX"));
        assert_eq!(r.short_bytes().as_deref(), Some(&b"hi"[..]));
        assert_eq!(r.rest().as_ref(), b"X");
    }
}
