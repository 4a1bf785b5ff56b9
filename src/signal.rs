//! A wake-up signal a socket (or poller) waits on and drivers and pipes raise.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    has_parents: AtomicBool,
}

/// How long a waiter keeps checking before it sleeps. A wake-up that arrives within this window
/// costs no futex round trip, which is most of a request-reply round trip's latency. The spin
/// does not yield: under load `sched_yield` gives the CPU away for a whole time slice.
const SPIN: Duration = Duration::from_micros(50);

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
        if self.has_parents.load(Ordering::Acquire) {
            let parents = self.parents.lock().clone();
            for p in parents {
                p.notify();
            }
        }
    }

    /// Waits until the count moves past `seen` or `deadline` passes; false on timeout.
    pub(crate) fn wait(&self, seen: u64, deadline: Option<Instant>) -> bool {
        let spin_until = Instant::now() + SPIN;
        loop {
            if self.seq.load(Ordering::SeqCst) != seen {
                return true;
            }
            let now = Instant::now();
            if now >= spin_until || deadline.is_some_and(|d| now >= d) {
                break;
            }
            std::thread::yield_now();
        }
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
        let mut parents = self.parents.lock();
        parents.push(parent.clone());
        self.has_parents.store(true, Ordering::Release);
    }

    pub(crate) fn remove_parent(&self, parent: &Arc<Signal>) {
        let mut parents = self.parents.lock();
        parents.retain(|p| !Arc::ptr_eq(p, parent));
        self.has_parents
            .store(!parents.is_empty(), Ordering::Release);
    }
}
