//! What a queue backend does: store, count, claim for a while, renew, delete, release, move.
//!
//! The writer and reader loops (in the crate root) are written once against [`Store`]; SQLite
//! and PostgreSQL each implement it. A reader *claims* rows: each claimed row carries the
//! reader's owner token and a lease deadline, and counts one more attempt. While the lease
//! holds, no other reader claims the row, so competing readers never get the same message. A
//! reader renews the leases of what it holds, deletes what its socket took, and releases what
//! it did not take when it closes; a reader that dies without closing lets its leases run out,
//! and the rows come back to the queue.

use std::time::Duration;

/// A backend's error, reported on the socket's monitor.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// A row a reader claimed.
#[derive(Debug)]
pub struct Claimed {
    /// The row's id; ids grow in the order messages were stored.
    pub id: i64,
    /// The stored message: each frame as a 4-octet length and its octets.
    pub body: Vec<u8>,
    /// Claims of this row so far, this one included.
    pub attempts: i64,
}

/// A queue backend, used by one endpoint thread.
pub trait Store: Send {
    /// Stores `bodies` at the end of `queue`, in order, in one transaction, and wakes readers
    /// that wait for news.
    fn insert(&mut self, queue: &str, bodies: &[Vec<u8>]) -> Result<(), StoreError>;

    /// Messages in `queue`, claimed or not.
    fn depth(&mut self, queue: &str) -> Result<u64, StoreError>;

    /// Claims up to `n` unclaimed rows (or rows whose lease ran out) of `queue` with ids past
    /// `after`, oldest first, for `lease`, counting one more attempt on each.
    fn claim(
        &mut self,
        queue: &str,
        after: i64,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError>;

    /// Extends the lease of the rows in `ids` that this reader still holds.
    fn renew(&mut self, ids: &[i64], lease: Duration) -> Result<(), StoreError>;

    /// Deletes the rows in `ids` (the socket took them).
    fn delete(&mut self, ids: &[i64]) -> Result<(), StoreError>;

    /// Gives back the rows in `ids` that this reader holds, for other readers to claim at once;
    /// `uncount` takes back the attempt their claim counted (they were never handed over).
    fn release(&mut self, ids: &[i64], uncount: bool) -> Result<(), StoreError>;

    /// Moves a row this reader holds to the end of `queue`, unclaimed, with no attempts.
    fn move_to(&mut self, id: i64, queue: &str) -> Result<(), StoreError>;

    /// Waits up to `timeout` for news of `queue` (a write, a release); true if there may be
    /// some. A backend that cannot be told waits the time out and answers true.
    fn wait_for_news(&mut self, queue: &str, timeout: Duration) -> bool;
}

/// A token that marks this reader's claims: different for every reader.
pub fn owner_token() -> i64 {
    // Positive, so it never matches the "nobody" owner 0.
    (zvtran_drivers::random::random_u64() >> 1) as i64 | 1
}
