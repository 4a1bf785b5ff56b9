//! A zvtran transport written outside zvtran: ZMTP over Linux abstract Unix sockets.
//!
//! `abstract://NAME` is a Unix domain socket in the kernel's abstract namespace: no file on disk,
//! gone when the last socket closes. libzmq reaches the same sockets as `ipc://@NAME`, so a
//! zvtran socket on `abstract://jobs` talks to a libzmq one on `ipc://@jobs`.
//!
//! This crate uses only zvtran's public API, as any third party would. It supplies byte streams
//! ([`StreamDriver`]); zvtran's core runs the ZMTP greeting, security, framing, heartbeats,
//! reconnection with backoff and high-water marks on them. Register it on a context and every
//! socket type works over it:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use zvtran::{Context, Message, SocketType};
//!
//! let ctx = Context::new()?;
//! zvtran_abstract::register(&ctx);
//! let mut pull = ctx.socket(SocketType::Pull)?;
//! pull.bind(&format!("abstract://zvtran-doc-{}", std::process::id()))?;
//! let mut push = ctx.socket(SocketType::Push)?;
//! push.connect(&format!("abstract://zvtran-doc-{}", std::process::id()))?;
//! push.send(Message::from("over the abstract namespace"))?;
//! assert_eq!(pull.recv()?, Message::from("over the abstract namespace"));
//! # Ok(())
//! # }
//! ```

use std::io::{self, Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;
use std::sync::Arc;

use zvtran::Context;
use zvtran::drivers::driver::DriverError;
use zvtran::drivers::endpoint::EndpointError;
use zvtran::drivers::mio::net::{UnixListener, UnixStream};
use zvtran::drivers::options::Options;
use zvtran::drivers::stream::{Stream, StreamDriver, StreamListener, StreamTransport};

/// The URI scheme this driver serves.
pub const SCHEME: &str = "abstract";

/// Registers `abstract://` on `ctx`: its sockets can bind and connect with it at once.
pub fn register(ctx: &Context) {
    ctx.register_driver(Arc::new(Stream(Arc::new(Abstract))));
}

/// The driver: opens listeners and connections in the abstract namespace.
#[derive(Debug, Default)]
pub struct Abstract;

/// The longest name: a `sun_path` holds 108 octets, one of them the leading NUL.
const MAX_NAME: usize = 107;

fn address(name: &str) -> Result<SocketAddr, DriverError> {
    let endpoint = format!("{SCHEME}://{name}");
    if name.is_empty() {
        return Err(EndpointError::EmptyAddress(endpoint).into());
    }
    if name.len() > MAX_NAME {
        return Err(DriverError::NotSupported {
            endpoint,
            reason: format!("an abstract name is at most {MAX_NAME} octets"),
        });
    }
    SocketAddr::from_abstract_name(name.as_bytes())
        .map_err(|source| DriverError::Io { endpoint, source })
}

impl StreamDriver for Abstract {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    fn listen(
        &self,
        name: &str,
        _options: &Options,
    ) -> Result<Box<dyn StreamListener>, DriverError> {
        let addr = address(name)?;
        let endpoint = format!("{SCHEME}://{name}");
        let inner = UnixListener::bind_addr(&addr)
            .map_err(|source| DriverError::bind_failed(&endpoint, source))?;
        Ok(Box::new(Listener { inner, endpoint }))
    }

    fn check_address(&self, name: &str, _options: &Options) -> Result<(), DriverError> {
        address(name).map(drop)
    }

    fn connect(&self, name: &str, _options: &Options) -> io::Result<Box<dyn StreamTransport>> {
        let addr = address(name).map_err(io::Error::other)?;
        Ok(Box::new(Connection {
            inner: UnixStream::connect_addr(&addr)?,
            name: name.to_string(),
        }))
    }
}

/// A bound abstract name.
struct Listener {
    inner: UnixListener,
    endpoint: String,
}

impl StreamListener for Listener {
    fn accept(&mut self) -> io::Result<Box<dyn StreamTransport>> {
        let (inner, _) = self.inner.accept()?;
        Ok(Box::new(Connection {
            inner,
            name: String::new(),
        }))
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }
}

/// One connection: a non-blocking stream the I/O thread polls, reads and writes.
struct Connection {
    inner: UnixStream,
    /// The name connected to (empty for accepted connections), for monitor events.
    name: String,
}

impl StreamTransport for Connection {
    fn finish_connect(&mut self) -> io::Result<bool> {
        if let Some(e) = self.inner.take_error()? {
            return Err(e);
        }
        match self.inner.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn peer_address(&self) -> String {
        format!("{SCHEME}://{}", self.name)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.inner.shutdown(std::net::Shutdown::Write)
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

zvtran::drivers::delegate_source!(Listener, inner);

zvtran::drivers::delegate_source!(Connection, inner);
