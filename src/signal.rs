//! A wake-up signal a socket (or poller) waits on and drivers and pipes raise.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// A counter that waiters watch: `notify` bumps it and wakes them. Pollers register as
/// parents, so a socket's signal also wakes every poller waiting on it.
#[derive(Default)]
pub(crate) struct Signal {
    seq: AtomicU64,
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
    parents: Mutex<Vec<Arc<Signal>>>,
}

impl Signal {
    /// The current count, to pass to [`wait`](Self::wait) after checking for work.
    pub(crate) fn seq(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    /// Bumps the count and wakes waiters (and parents).
    pub(crate) fn notify(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.cv.notify_all();
        }
        let parents = self.parents.lock().clone();
        for p in parents {
            p.notify();
        }
    }

    /// Waits until the count moves past `seen` or `deadline` passes; false on timeout.
    pub(crate) fn wait(&self, seen: u64, deadline: Option<Instant>) -> bool {
        let mut guard = self.lock.lock();
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut woken = true;
        while self.seq.load(Ordering::SeqCst) == seen {
            match deadline {
                Some(d) => {
                    if self.cv.wait_until(&mut guard, d).timed_out() {
                        woken = self.seq.load(Ordering::SeqCst) != seen;
                        break;
                    }
                }
                None => self.cv.wait(&mut guard),
            }
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        woken
    }

    pub(crate) fn add_parent(&self, parent: &Arc<Signal>) {
        self.parents.lock().push(parent.clone());
    }

    pub(crate) fn remove_parent(&self, parent: &Arc<Signal>) {
        self.parents.lock().retain(|p| !Arc::ptr_eq(p, parent));
    }
}
