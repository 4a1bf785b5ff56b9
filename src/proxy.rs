//! A proxy between two sockets, like `zmq_proxy`: messages flow both ways, optionally captured.

use std::time::Duration;

use crate::poll::{PollItem, poll};
use crate::socket::Socket;

/// Moves messages from `frontend` to `backend` and back until one of them fails, copying each
/// to `capture` if given. A classic use is ROUTER–DEALER (a shared queue) or XSUB–XPUB (a
/// forwarder that passes subscriptions upstream).
pub fn proxy(
    frontend: &mut Socket,
    backend: &mut Socket,
    mut capture: Option<&mut Socket>,
) -> Result<(), crate::error::Error> {
    loop {
        let (front_in, back_in) = {
            let mut items = [PollItem::readable(frontend), PollItem::readable(backend)];
            poll(&mut items, Some(Duration::from_secs(1)));
            (items[0].readable, items[1].readable)
        };
        if front_in {
            forward(frontend, backend, capture.as_deref_mut());
        }
        if back_in {
            forward(backend, frontend, capture.as_deref_mut());
        }
    }
}

/// Forwards what `from` has now to `to`, blocking on `to` where its type blocks.
fn forward(from: &mut Socket, to: &mut Socket, capture: Option<&mut Socket>) {
    let Ok(msg) = from.try_recv() else {
        return;
    };
    if let Some(c) = capture {
        let _ = c.try_send(msg.clone());
    }
    // A PUB or ROUTER drops what it cannot deliver; a DEALER or PUSH waits for room.
    let _ = to.send(msg);
}
