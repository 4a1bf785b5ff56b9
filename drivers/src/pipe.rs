//! Pipes: the bounded in-process queues that join a socket to one peer, one per direction.
//!
//! A queue's capacity is the high-water mark. Either end may fall asleep on an empty (or full)
//! queue; the other end wakes it, once, through the [`Wake`] its owner registered. The fast
//! path is a lock-free push or pop and one fence: no lock, no system call, unless the other side
//! is actually asleep.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};

use crossbeam_queue::{ArrayQueue, SegQueue};
use parking_lot::Mutex;
use zmtp::Message;

/// What a pipe end tells its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeEvent {
    /// Messages arrived in a queue the owner found empty.
    Readable,
    /// Room appeared in a queue the owner found full.
    Writable,
    /// The other end closed; the owner reads what is left, then lets go.
    Closed,
}

/// Whoever owns a pipe end: a socket, an I/O thread, or anything that can be woken.
pub trait Wake: Send + Sync {
    /// Called from the other end's thread; must not block for long.
    fn wake(&self, token: u64, event: PipeEvent);
}

/// The high-water mark of one direction of a pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// At most this many messages (at least 1).
    Bounded(usize),
    /// No limit (a high-water mark of 0).
    Unbounded,
    /// ZMQ_CONFLATE: only the newest message is kept; sending never blocks.
    Conflate,
}

impl Capacity {
    /// libzmq's convention: 0 means no limit.
    pub fn from_hwm(hwm: usize) -> Capacity {
        if hwm == 0 {
            Capacity::Unbounded
        } else {
            Capacity::Bounded(hwm)
        }
    }
}

enum Slots {
    Bounded(ArrayQueue<Message>),
    Unbounded(SegQueue<Message>),
    Conflate(ArrayQueue<Message>),
}

/// One direction of a pipe.
pub struct Queue {
    slots: Slots,
    reader_waiting: AtomicBool,
    writer_waiting: AtomicBool,
    /// A writer waiting for room is woken once the queue has drained to this many messages
    /// (half the high-water mark, as libzmq's low-water mark), not at the first free slot:
    /// otherwise a full pipe costs one wake-up per message.
    low_water: usize,
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue").field("len", &self.len()).finish()
    }
}

impl Queue {
    /// An empty queue.
    pub fn new(capacity: Capacity) -> Arc<Queue> {
        let (slots, low_water) = match capacity {
            Capacity::Bounded(n) => (Slots::Bounded(ArrayQueue::new(n.max(1))), n / 2),
            Capacity::Unbounded => (Slots::Unbounded(SegQueue::new()), usize::MAX),
            Capacity::Conflate => (Slots::Conflate(ArrayQueue::new(1)), usize::MAX),
        };
        Arc::new(Queue {
            slots,
            reader_waiting: AtomicBool::new(false),
            writer_waiting: AtomicBool::new(false),
            low_water,
        })
    }

    fn push(&self, msg: Message) -> Result<(), Message> {
        match &self.slots {
            Slots::Bounded(q) => q.push(msg),
            Slots::Unbounded(q) => {
                q.push(msg);
                Ok(())
            }
            Slots::Conflate(q) => {
                q.force_push(msg);
                Ok(())
            }
        }
    }

    fn pop(&self) -> Option<Message> {
        match &self.slots {
            Slots::Bounded(q) | Slots::Conflate(q) => q.pop(),
            Slots::Unbounded(q) => q.pop(),
        }
    }

    /// Messages queued now.
    pub fn len(&self) -> usize {
        match &self.slots {
            Slots::Bounded(q) | Slots::Conflate(q) => q.len(),
            Slots::Unbounded(q) => q.len(),
        }
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_full(&self) -> bool {
        match &self.slots {
            Slots::Bounded(q) => q.is_full(),
            Slots::Unbounded(_) | Slots::Conflate(_) => false,
        }
    }
}

/// Who to wake for one end, replaceable (a connecting pipe moves between connections).
#[derive(Default)]
struct Waker {
    target: Mutex<Option<(Arc<dyn Wake>, u64)>>,
}

impl Waker {
    fn wake(&self, event: PipeEvent) {
        let target = self.target.lock().clone();
        if let Some((owner, token)) = target {
            owner.wake(token, event);
        }
    }
}

struct Shared {
    wakers: [Waker; 2],
    closed: [AtomicBool; 2],
}

/// One end of a pipe: it writes to one queue and reads from the other.
pub struct PipeEnd {
    tx: Arc<Queue>,
    rx: Arc<Queue>,
    shared: Arc<Shared>,
    side: usize,
}

impl fmt::Debug for PipeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeEnd")
            .field("side", &self.side)
            .field("tx", &self.tx)
            .field("rx", &self.rx)
            .finish()
    }
}

/// Creates a pipe: the first end writes into a queue of capacity `a_to_b` that the second end
/// reads, and the other way round.
pub fn pipe(a_to_b: Capacity, b_to_a: Capacity) -> (PipeEnd, PipeEnd) {
    let ab = Queue::new(a_to_b);
    let ba = Queue::new(b_to_a);
    let shared = Arc::new(Shared {
        wakers: [Waker::default(), Waker::default()],
        closed: [AtomicBool::new(false), AtomicBool::new(false)],
    });
    (
        PipeEnd {
            tx: ab.clone(),
            rx: ba.clone(),
            shared: shared.clone(),
            side: 0,
        },
        PipeEnd {
            tx: ba,
            rx: ab,
            shared,
            side: 1,
        },
    )
}

impl PipeEnd {
    /// Registers who is woken, with `token`, when this end has something to do.
    pub fn set_waker(&self, owner: Arc<dyn Wake>, token: u64) {
        *self.shared.wakers[self.side].target.lock() = Some((owner, token));
    }

    fn wake_other(&self, event: PipeEvent) {
        self.shared.wakers[1 - self.side].wake(event);
    }

    /// Queues a message; gives it back at the high-water mark. The other end is woken if it
    /// was waiting for messages.
    pub fn try_send(&self, msg: Message) -> Result<(), Message> {
        let pushed = match self.tx.push(msg) {
            Ok(()) => Ok(()),
            Err(msg) => {
                // Full: ask to be woken when the reader makes room, then look again, so that a
                // pop between the failed push and the flag is not missed.
                self.tx.writer_waiting.store(true, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                self.tx.push(msg)
            }
        };
        if pushed.is_ok() {
            self.notify_reader();
        }
        pushed
    }

    /// Queues many messages and wakes the reader once; stops at the high-water mark and gives
    /// back what did not fit.
    pub fn send_batch(&self, msgs: &mut std::collections::VecDeque<Message>) {
        let mut any = false;
        while let Some(msg) = msgs.pop_front() {
            match self.tx.push(msg) {
                Ok(()) => any = true,
                Err(msg) => {
                    msgs.push_front(msg);
                    self.tx.writer_waiting.store(true, Ordering::Relaxed);
                    fence(Ordering::SeqCst);
                    if self.tx.is_full() {
                        break;
                    }
                }
            }
        }
        if any {
            self.notify_reader();
        }
    }

    fn notify_reader(&self) {
        // Pairs with the fence in `try_recv`: either the reader sees our message, or we see
        // its flag.
        fence(Ordering::SeqCst);
        if self.tx.reader_waiting.load(Ordering::Relaxed)
            && self.tx.reader_waiting.swap(false, Ordering::AcqRel)
        {
            self.wake_other(PipeEvent::Readable);
        }
    }

    /// Takes the next message. On an empty queue, the other end will wake this one when it
    /// next sends.
    pub fn try_recv(&self) -> Option<Message> {
        let msg = match self.rx.pop() {
            Some(msg) => msg,
            None => {
                self.rx.reader_waiting.store(true, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                let msg = self.rx.pop()?;
                // The writer may already have taken the flag and woken us: harmless.
                self.rx.reader_waiting.store(false, Ordering::Relaxed);
                msg
            }
        };
        fence(Ordering::SeqCst);
        if self.rx.writer_waiting.load(Ordering::Relaxed)
            && self.rx.len() <= self.rx.low_water
            && self.rx.writer_waiting.swap(false, Ordering::AcqRel)
        {
            self.wake_other(PipeEvent::Writable);
        }
        Some(msg)
    }

    /// Whether a message is waiting (does not arm a wake-up).
    pub fn has_message(&self) -> bool {
        !self.rx.is_empty()
    }

    /// Whether a message would fit now.
    pub fn has_room(&self) -> bool {
        !self.tx.is_full()
    }

    /// Like [`has_message`](Self::has_message), but when there is none the other end will
    /// wake this one at its next send (for pollers, which wait without receiving).
    pub fn poll_readable(&self) -> bool {
        if !self.rx.is_empty() {
            return true;
        }
        self.rx.reader_waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        !self.rx.is_empty()
    }

    /// Like [`has_room`](Self::has_room), but when there is none the other end will wake this
    /// one when it makes room.
    pub fn poll_writable(&self) -> bool {
        if !self.tx.is_full() {
            return true;
        }
        self.tx.writer_waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        !self.tx.is_full()
    }

    /// Messages this end has queued that the other end has not taken yet.
    pub fn unread_outbound(&self) -> usize {
        self.tx.len()
    }

    /// Says this end will send no more; the other end is woken with [`PipeEvent::Closed`].
    pub fn close(&self) {
        if !self.shared.closed[self.side].swap(true, Ordering::AcqRel) {
            self.wake_other(PipeEvent::Closed);
        }
    }

    /// Whether this end has closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed[self.side].load(Ordering::Acquire)
    }

    /// Whether the other end has closed.
    pub fn peer_closed(&self) -> bool {
        self.shared.closed[1 - self.side].load(Ordering::Acquire)
    }

    /// A handle that can close both ends, for whoever set the pipe up (inproc disconnect).
    pub fn control(&self) -> PipeControl {
        PipeControl {
            shared: self.shared.clone(),
        }
    }

    /// Replaces the queue this end reads with a fresh one of the same kind and returns it, so
    /// that the writer can be switched over with [`accept_hiccup`](Self::accept_hiccup).
    /// Whatever the writer queues into the old one until then is dropped. A subscriber's pipe
    /// does this on every reconnection, so stale subscriptions never reach the new peer twice.
    pub fn hiccup(&mut self, capacity: Capacity) -> Arc<Queue> {
        self.rx = Queue::new(capacity);
        self.rx.clone()
    }

    /// Starts writing into the queue the reader created in [`hiccup`](Self::hiccup).
    pub fn accept_hiccup(&mut self, queue: Arc<Queue>) {
        self.tx = queue;
    }
}

/// Closes a pipe from outside both ends.
#[derive(Clone)]
pub struct PipeControl {
    shared: Arc<Shared>,
}

impl fmt::Debug for PipeControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PipeControl")
    }
}

impl PipeControl {
    /// Closes both ends: each owner is woken with [`PipeEvent::Closed`] and lets go once it has
    /// read what is left.
    pub fn close(&self) {
        for side in 0..2 {
            if !self.shared.closed[side].swap(true, Ordering::AcqRel) {
                self.shared.wakers[1 - side].wake(PipeEvent::Closed);
            }
        }
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::thread;

    #[derive(Default)]
    struct Counter {
        readable: AtomicUsize,
        writable: AtomicUsize,
        closed: AtomicUsize,
    }

    impl Wake for Counter {
        fn wake(&self, _token: u64, event: PipeEvent) {
            let c = match event {
                PipeEvent::Readable => &self.readable,
                PipeEvent::Writable => &self.writable,
                PipeEvent::Closed => &self.closed,
            };
            c.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn hwm_and_wakeups_fire_once_per_sleep() {
        let (a, b) = pipe(Capacity::Bounded(2), Capacity::Bounded(2));
        let a_owner = Arc::new(Counter::default());
        let b_owner = Arc::new(Counter::default());
        a.set_waker(a_owner.clone(), 1);
        b.set_waker(b_owner.clone(), 2);
        // B finds nothing and sleeps; A's next two sends wake it once.
        assert!(b.try_recv().is_none());
        a.try_send(Message::from("1")).unwrap();
        a.try_send(Message::from("2")).unwrap();
        assert_eq!(b_owner.readable.load(Ordering::SeqCst), 1);
        // A hits the HWM and sleeps; B wakes it once the queue is down to half (1 of 2).
        assert!(a.try_send(Message::from("3")).is_err());
        assert!(!a.has_room());
        assert_eq!(b.try_recv(), Some(Message::from("1")));
        assert_eq!(a_owner.writable.load(Ordering::SeqCst), 1);
        assert_eq!(b.try_recv(), Some(Message::from("2")));
        assert_eq!(a_owner.writable.load(Ordering::SeqCst), 1);

        // With a larger HWM the writer sleeps until half the queue has drained: one wake-up.
        let (c, d) = pipe(Capacity::Bounded(10), Capacity::Bounded(1));
        let c_owner = Arc::new(Counter::default());
        c.set_waker(c_owner.clone(), 3);
        for i in 0..10 {
            c.try_send(Message::from(format!("{i}"))).unwrap();
        }
        assert!(c.try_send(Message::from("full")).is_err());
        for _ in 0..4 {
            d.try_recv().unwrap();
        }
        assert_eq!(
            c_owner.writable.load(Ordering::SeqCst),
            0,
            "6 left: above the low-water mark"
        );
        d.try_recv().unwrap();
        assert_eq!(
            c_owner.writable.load(Ordering::SeqCst),
            1,
            "5 left: at the low-water mark"
        );
        while d.try_recv().is_some() {}
        assert_eq!(c_owner.writable.load(Ordering::SeqCst), 1);
        drop(a);
        assert_eq!(b_owner.closed.load(Ordering::SeqCst), 1);
        assert!(b.peer_closed());
    }

    #[test]
    fn conflate_keeps_the_newest() {
        let (a, b) = pipe(Capacity::Conflate, Capacity::Unbounded);
        for i in 0..5 {
            a.try_send(Message::from(format!("{i}"))).unwrap();
        }
        assert_eq!(b.try_recv(), Some(Message::from("4")));
        assert_eq!(b.try_recv(), None);
    }

    #[test]
    fn hiccup_drops_stale_messages() {
        let (mut socket, mut driver) = pipe(Capacity::Bounded(10), Capacity::Bounded(10));
        socket.try_send(Message::from("stale")).unwrap();
        let fresh = driver.hiccup(Capacity::Bounded(10));
        socket.try_send(Message::from("also stale")).unwrap();
        socket.accept_hiccup(fresh);
        socket.try_send(Message::from("new")).unwrap();
        assert_eq!(driver.try_recv(), Some(Message::from("new")));
        assert_eq!(driver.try_recv(), None);
    }

    /// A reader that sleeps whenever the queue is empty is always woken: no message is stranded.
    #[test]
    fn no_lost_wakeups_across_threads() {
        const N: usize = 200_000;
        struct Parker(thread::Thread);
        impl Wake for Parker {
            fn wake(&self, _: u64, _: PipeEvent) {
                self.0.unpark();
            }
        }
        let (a, b) = pipe(Capacity::Bounded(64), Capacity::Bounded(1));
        b.set_waker(Arc::new(Parker(thread::current())), 0);
        let writer = thread::spawn(move || {
            a.set_waker(Arc::new(Parker(thread::current())), 0);
            for i in 0..N {
                let mut msg = Message::from(i.to_le_bytes().to_vec());
                loop {
                    match a.try_send(msg) {
                        Ok(()) => break,
                        Err(back) => {
                            msg = back;
                            thread::park();
                        }
                    }
                }
            }
            a
        });
        let mut next = 0usize;
        while next < N {
            match b.try_recv() {
                Some(m) => {
                    assert_eq!(m.first().unwrap().as_ref(), next.to_le_bytes());
                    next += 1;
                }
                None => thread::park(),
            }
        }
        drop(writer.join().unwrap());
    }
}
