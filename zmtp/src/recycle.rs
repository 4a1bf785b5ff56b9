//! Recycles the read buffers of large frames: a message's buffer, freed wherever the
//! application drops the message, comes back for the next frame of that size.
//!
//! A large frame is read into a buffer of its own (see
//! [`Connection::read_buffer`](crate::Connection::read_buffer)), and its body is handed out
//! without a copy. Without recycling, each such buffer is allocated on the I/O thread and freed
//! on the application's: the allocator then gives the memory back to the system and takes it
//! again for the next frame, and every page of it faults in afresh (glibc's heap trimming:
//! a fifth of the receiving thread's time and more at 64 KiB). Kept here, the pages stay
//! mapped. What is kept is bounded by [`KEPT_BYTES`] in all: to keep a buffer past that bound,
//! the longest-kept ones are freed, so that sizes no longer in use make way for current ones.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};

/// The most octets of free buffers kept for reuse, over all connections.
pub const KEPT_BYTES: usize = 32 << 20;

/// The kept buffers, longest-kept first, and their capacities' sum.
struct Free {
    buffers: VecDeque<BytesMut>,
    bytes: usize,
}

static FREE: Mutex<Free> = Mutex::new(Free {
    buffers: VecDeque::new(),
    bytes: 0,
});

/// An empty buffer with a capacity of exactly `size`: a kept one if there is one.
pub(crate) fn take(size: usize) -> BytesMut {
    if let Ok(mut free) = FREE.lock() {
        let found = free.buffers.iter().rposition(|b| b.capacity() == size);
        if let Some(buffer) = found.and_then(|i| free.buffers.swap_remove_back(i)) {
            free.bytes -= size;
            return buffer;
        }
    }
    BytesMut::with_capacity(size)
}

/// Keeps `buffer` for reuse, freeing the longest-kept ones if the bound needs it (or
/// `buffer` itself if it alone is over the bound).
fn give(mut buffer: BytesMut) {
    let size = buffer.capacity();
    if size > KEPT_BYTES {
        return;
    }
    let mut evicted = Vec::new();
    if let Ok(mut free) = FREE.lock() {
        while free.bytes + size > KEPT_BYTES {
            let Some(old) = free.buffers.pop_front() else {
                break;
            };
            free.bytes -= old.capacity();
            evicted.push(old);
        }
        buffer.clear();
        free.bytes += size;
        free.buffers.push_back(buffer);
    }
    // Freed outside the lock.
    drop(evicted);
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

    /// The kept buffers are the process's: these tests take turns.
    static TURN: Mutex<()> = Mutex::new(());

    #[test]
    fn a_dropped_body_gives_its_buffer_back_for_the_same_size() {
        let _turn = TURN.lock().unwrap();
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
    fn what_is_kept_is_bounded_and_the_longest_kept_make_way() {
        let _turn = TURN.lock().unwrap();
        let size = KEPT_BYTES / 2 + 1;
        let (a, b) = (take(size), take(size));
        drop(into_bytes(a));
        assert_eq!(kept_of(size), 1);
        // The second one does not fit beside the first, which is freed to make way.
        let at = b.as_ptr();
        drop(into_bytes(b));
        assert_eq!(kept_of(size), 1);
        assert_eq!(take(size).as_ptr(), at);
        assert_eq!(kept_of(size), 0);
        // Over the bound by itself: never kept.
        drop(into_bytes(BytesMut::with_capacity(KEPT_BYTES + 1)));
        assert_eq!(kept_of(KEPT_BYTES + 1), 0);
    }
}
