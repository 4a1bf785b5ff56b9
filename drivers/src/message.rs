//! Plumbing for message drivers: an endpoint thread that stops on close, and pipe wake-ups.
//!
//! A message driver (one that keeps message boundaries and its own wire format, such as udp)
//! typically runs one thread per endpoint. [`spawn_endpoint`] starts it and returns the
//! [`EndpointHandle`] the socket keeps: closing the handle sets the thread's stop flag, wakes
//! it and waits for it. [`wake_on_news`] makes a pipe end unpark the thread when the socket
//! queued messages or let go.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{JoinHandle, Thread};

use crate::driver::{DriverError, EndpointHandle};
use crate::pipe::{PipeEnd, PipeEvent, Wake};

/// Set when the endpoint is closed (unbind, disconnect, socket closed): the thread should
/// flush what it holds and return.
pub type StopFlag = Arc<AtomicBool>;

/// Starts `run` on a thread named `name` for `endpoint`; the handle stops it.
pub fn spawn_endpoint(
    endpoint: String,
    name: &str,
    run: impl FnOnce(StopFlag) + Send + 'static,
) -> Result<Box<dyn EndpointHandle>, DriverError> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let join = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || run(flag))
        .map_err(|source| DriverError::Io {
            endpoint: endpoint.clone(),
            source,
        })?;
    Ok(Box::new(EndpointThread {
        endpoint,
        stop,
        join: Some(join),
    }))
}

/// Unparks the calling thread whenever `pipe` has news (messages, room, or the socket letting
/// go); the flag returned is set once the socket has let go of its end. Call it on the thread
/// that serves the pipe, and wait with `std::thread::park_timeout` between rounds.
pub fn wake_on_news(pipe: &PipeEnd) -> Arc<AtomicBool> {
    let closed = Arc::new(AtomicBool::new(false));
    pipe.set_waker(
        Arc::new(ThreadWake {
            thread: std::thread::current(),
            closed: closed.clone(),
        }),
        0,
    );
    closed
}

struct ThreadWake {
    thread: Thread,
    closed: Arc<AtomicBool>,
}

impl Wake for ThreadWake {
    fn wake(&self, _token: u64, event: PipeEvent) {
        if matches!(event, PipeEvent::Closed) {
            self.closed.store(true, Ordering::Release);
        }
        self.thread.unpark();
    }
}

/// A running endpoint thread; closing (or dropping) it stops the thread and waits for it.
struct EndpointThread {
    endpoint: String,
    stop: StopFlag,
    join: Option<JoinHandle<()>>,
}

impl EndpointThread {
    fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(join) = self.join.take() {
            join.thread().unpark();
            let _ = join.join();
        }
    }
}

impl EndpointHandle for EndpointThread {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn close(mut self: Box<Self>) {
        self.stop();
    }
}

impl Drop for EndpointThread {
    fn drop(&mut self) {
        self.stop();
    }
}
