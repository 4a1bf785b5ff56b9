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
use zvtran_drivers::udp::Udp;

use zvtran_drivers::options::Options;
use zvtran_drivers::zap::{Authenticator, ZapReply, ZapRequest};

use crate::error::Error;
use crate::service::ServiceDriver;
use crate::socket::Socket;
use crate::zap::ZapService;

pub(crate) struct ContextInner {
    io: Vec<IoThread>,
    next: AtomicUsize,
    pub(crate) registry: Registry,
    zap: Arc<ZapService>,
}

impl ContextInner {
    /// The I/O thread for a new socket, round-robin.
    pub(crate) fn next_io(&self) -> IoHandle {
        // `io` is never empty: `Context::with_io_threads` starts at least one.
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.io.len();
        self.io[i].handle().clone()
    }

    /// The authenticator for an endpoint with these options: the context's ZAP service, for
    /// endpoints that ask ZAP.
    pub(crate) fn authenticator(&self, options: &Options) -> Option<Arc<dyn Authenticator>> {
        options
            .uses_zap()
            .then(|| self.zap.clone() as Arc<dyn Authenticator>)
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
    /// A context with one I/O thread (libzmq's default) and the tcp, ipc, inproc and udp
    /// transports.
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
        registry.register(Arc::new(Stream(Arc::new(zvtran_tls::Tls))));
        registry.register(Arc::new(Stream(Arc::new(zvtran_ws::Ws::plain()))));
        registry.register(Arc::new(Stream(Arc::new(zvtran_ws::Ws::secure()))));
        registry.register(Arc::new(zvtran_persist::Queues::sqlite()));
        registry.register(Arc::new(zvtran_persist::Queues::postgres()));
        registry.register(Arc::new(zvtran_persist::Queues::postgresql()));
        let inproc = Arc::new(Inproc::default());
        registry.register(inproc.clone());
        registry.register(Arc::new(Udp));
        registry.register(Arc::new(ServiceDriver {
            registry: registry.downgrade(),
        }));
        Ok(Context {
            inner: Arc::new_cyclic(|weak| ContextInner {
                io,
                next: AtomicUsize::new(0),
                registry,
                zap: Arc::new(ZapService::new(inproc, weak.clone())),
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

    /// Answers ZAP requests (RFC 27) for every socket of this context with `handler`: it sees
    /// the domain, the client's address, the server socket's routing id, the mechanism and
    /// the credentials, and allows (200, with a user id and properties that reach the client's
    /// messages) or refuses (300, 400, 500). It runs on the context's ZAP thread, one request
    /// at a time. It takes precedence over a classic handler bound at
    /// `inproc://zeromq.zap.01`.
    ///
    /// Without any handler libzmq's defaults apply: a PLAIN server refuses every client, a
    /// CURVE server accepts any client that knows its public key, NULL accepts.
    ///
    /// ```
    /// use zvtran::{Context, ZapReply};
    ///
    /// let ctx = Context::new()?;
    /// ctx.set_zap_handler(|req| match (req.username(), req.password()) {
    ///     (Some(b"admin"), Some(b"secret")) => ZapReply::allow("admin"),
    ///     _ => ZapReply::deny("wrong user name or password"),
    /// });
    /// # Ok::<(), zvtran::Error>(())
    /// ```
    pub fn set_zap_handler<F>(&self, handler: F)
    where
        F: Fn(&ZapRequest) -> ZapReply + Send + Sync + 'static,
    {
        self.inner.zap.set_handler(Some(Arc::new(handler)));
    }

    /// Removes the handler set with [`set_zap_handler`](Self::set_zap_handler).
    pub fn clear_zap_handler(&self) {
        self.inner.zap.set_handler(None);
    }
}
