//! `Context`: the I/O threads and the transport registry that sockets share.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use zmtp::SocketType;
use zvtran_drivers::driver::{Driver, Registry};
use zvtran_drivers::inproc::Inproc;
use zvtran_drivers::io_thread::{IoHandle, IoThread};
use zvtran_drivers::ipc::Ipc;
use zvtran_drivers::stream::Stream;
use zvtran_drivers::tcp::Tcp;

use crate::error::Error;
use crate::socket::Socket;

pub(crate) struct ContextInner {
    io: Vec<IoThread>,
    next: AtomicUsize,
    pub(crate) registry: Registry,
}

impl ContextInner {
    /// The I/O thread for a new socket, round-robin.
    pub(crate) fn next_io(&self) -> IoHandle {
        // `io` is never empty: `Context::with_io_threads` starts at least one.
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.io.len();
        self.io[i].handle().clone()
    }
}

/// Shared by every socket it creates: I/O threads and the transports registered by scheme.
/// Cloning is cheap. When the last clone and the last socket are gone, the I/O threads finish
/// sending what closed sockets queued (each within its LINGER), then stop: dropping the last
/// handle may therefore block, like `zmq_ctx_term`.
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("io_threads", &self.inner.io.len())
            .field("transports", &self.inner.registry)
            .finish()
    }
}

impl Context {
    /// A context with one I/O thread (libzmq's default) and the tcp, ipc and inproc transports.
    pub fn new() -> Result<Context, Error> {
        Context::with_io_threads(1)
    }

    /// A context with `n` I/O threads (at least one).
    pub fn with_io_threads(n: usize) -> Result<Context, Error> {
        let io = (0..n.max(1))
            .map(|i| IoThread::spawn(format!("zvtran-io-{i}")))
            .collect::<Result<Vec<_>, _>>()?;
        let registry = Registry::default();
        registry.register(Arc::new(Stream(Arc::new(Tcp))));
        registry.register(Arc::new(Stream(Arc::new(Ipc))));
        registry.register(Arc::new(Inproc::default()));
        Ok(Context {
            inner: Arc::new(ContextInner {
                io,
                next: AtomicUsize::new(0),
                registry,
            }),
        })
    }

    /// A socket of one of the types with a preset (every classic and draft type).
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket, Error> {
        let pattern = zvtran_patterns::preset::for_type(socket_type).ok_or(Error::NotSupported(
            "this socket type has no preset: compose it with Pattern::builder()",
        ))?;
        Ok(Socket::new(self.inner.clone(), pattern))
    }

    /// A socket with a composed pattern (see [`crate::Pattern::builder`]).
    pub fn socket_with(&self, pattern: zvtran_patterns::Pattern) -> Socket {
        Socket::new(self.inner.clone(), pattern)
    }

    /// Adds a transport under its scheme (replacing one of the same scheme); sockets of this
    /// context can bind and connect with it at once.
    pub fn register_driver(&self, driver: Arc<dyn Driver>) {
        self.inner.registry.register(driver);
    }
}
