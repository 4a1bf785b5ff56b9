//! Recycles the read buffers of large frames: a message's buffer, freed wherever the
//! application drops the message, comes back for the next frame of that size.
//!
//! A large frame is read into a buffer of its own (see
//! [`Connection::read_buffer`](crate::Connection::read_buffer)), and its body is handed out
//! without a copy. Without recycling, each such buffer is allocated on the I/O thread and freed
//! on the application's: the allocator then gives the memory back to the system and takes it
//! again for the next frame, and every page of it faults in afresh (glibc's heap trimming:
//! about a tenth of the receiving thread's time at 64 KiB). Kept here, the pages stay mapped.
//! What is kept is bounded by [`KEPT_BYTES`] in all; a buffer that does not fit is freed.

use std::sync::Mutex;

use bytes::{Bytes, BytesMut};

/// The most octets of free buffers kept for reuse, over all connections.
pub const KEPT_BYTES: usize = 32 << 20;

struct Free {
    buffers: Vec<BytesMut>,
    bytes: usize,
}

static FREE: Mutex<Free> = Mutex::new(Free {
    buffers: Vec::new(),
    bytes: 0,
});

/// An empty buffer with a capacity of exactly `size`: a kept one if there is one.
pub(crate) fn take(size: usize) -> BytesMut {
    if let Ok(mut free) = FREE.lock() {
        if let Some(i) = free.buffers.iter().rposition(|b| b.capacity() == size) {
            let buffer = free.buffers.swap_remove(i);
            free.bytes -= size;
            return buffer;
        }
    }
    BytesMut::with_capacity(size)
}

/// Keeps `buffer` for reuse, or frees it when the kept buffers are at their bound.
fn give(mut buffer: BytesMut) {
    let size = buffer.capacity();
    if let Ok(mut free) = FREE.lock() {
        if free.bytes + size <= KEPT_BYTES {
            buffer.clear();
            free.bytes += size;
            free.buffers.push(buffer);
        }
    }
}

/// A whole read buffer as a frame's body: `Bytes` over it, and back to the kept buffers when
/// the last of them is dropped.
pub(crate) fn into_bytes(buffer: BytesMut) -> Bytes {
    Bytes::from_owner(Recycled(buffer))
}

struct Recycled(BytesMut);

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        give(std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_body_gives_its_buffer_back_for_the_same_size() {
        // A size no other test uses, as the kept buffers are shared by the whole process.
        let size = 123_457;
        let mut buffer = take(size);
        assert_eq!(buffer.capacity(), size);
        buffer.extend_from_slice(&vec![5u8; size]);
        let at = buffer.as_ptr();
        let body = into_bytes(buffer).slice(9..);
        let clone = body.clone();
        drop(body);
        // Still in use by the clone: not kept yet.
        assert_ne!(take(size).as_ptr(), at);
        drop(clone);
        let again = take(size);
        assert_eq!(
            (again.as_ptr(), again.len(), again.capacity()),
            (at, 0, size)
        );
    }

    fn kept_of(size: usize) -> usize {
        let free = FREE.lock().unwrap();
        free.buffers.iter().filter(|b| b.capacity() == size).count()
    }

    #[test]
    fn what_is_kept_is_bounded() {
        let size = KEPT_BYTES / 2 + 1;
        let (a, b) = (take(size), take(size));
        drop(into_bytes(a));
        drop(into_bytes(b));
        // One fits under the bound; the second was freed.
        assert_eq!(kept_of(size), 1);
        drop(take(size));
        assert_eq!(kept_of(size), 0);
    }
}
