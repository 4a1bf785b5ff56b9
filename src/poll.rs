//! A poller over several sockets, like `zmq_poll`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::signal::Signal;
use crate::socket::Socket;

/// What to wait for on one socket, and what was found.
#[derive(Debug)]
pub struct PollItem<'a> {
    socket: &'a mut Socket,
    want_in: bool,
    want_out: bool,
    /// After [`poll`]: a message can be received.
    pub readable: bool,
    /// After [`poll`]: a message can be sent without blocking.
    pub writable: bool,
}

impl<'a> PollItem<'a> {
    /// Waits for messages to receive (POLLIN).
    pub fn readable(socket: &'a mut Socket) -> Self {
        PollItem {
            socket,
            want_in: true,
            want_out: false,
            readable: false,
            writable: false,
        }
    }

    /// Waits for room to send (POLLOUT).
    pub fn writable(socket: &'a mut Socket) -> Self {
        PollItem {
            socket,
            want_in: false,
            want_out: true,
            readable: false,
            writable: false,
        }
    }

    /// Waits for either.
    pub fn both(socket: &'a mut Socket) -> Self {
        PollItem {
            socket,
            want_in: true,
            want_out: true,
            readable: false,
            writable: false,
        }
    }

    /// The socket.
    pub fn socket(&mut self) -> &mut Socket {
        self.socket
    }
}

/// Waits until at least one item is ready or `timeout` passes (`None` waits forever); returns
/// how many items are ready.
pub fn poll(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> usize {
    let deadline = timeout.map(|t| Instant::now() + t);
    let signal = Arc::new(Signal::default());
    for item in items.iter_mut() {
        item.socket.shared().signal.add_parent(&signal);
    }
    let ready = loop {
        let seen = signal.seq();
        let mut ready = 0;
        for item in items.iter_mut() {
            item.readable = item.want_in && item.socket.can_recv();
            item.writable = item.want_out && item.socket.can_send();
            if item.readable || item.writable {
                ready += 1;
            }
        }
        if ready > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            break ready;
        }
        signal.wait(seen, deadline);
    };
    for item in items.iter_mut() {
        item.socket.shared().signal.remove_parent(&signal);
    }
    ready
}
