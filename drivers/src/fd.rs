//! A transport over a connected socket descriptor: the `StreamTransport` shared by tcp and ipc.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use bytes::BytesMut;

use crate::stream::StreamTransport;

/// What tcp and ipc streams (mio's `TcpStream`, `UnixStream`) have in common.
pub trait SocketStream: Read + Write + mio::event::Source + AsRawFd + Send + 'static {
    /// The pending socket error (SO_ERROR), as after a failed non-blocking connect.
    fn take_error(&self) -> io::Result<Option<io::Error>>;
    /// Whether the connection is established; `NotConnected` while a connect is in progress.
    fn peer_connected(&self) -> io::Result<()>;
    /// Shuts down our direction.
    fn shutdown_write(&self) -> io::Result<()>;
    /// The remote address as an endpoint, for monitor events.
    fn peer_address(&self) -> String;
}

/// A [`StreamTransport`] over any [`SocketStream`].
pub struct FdTransport<S>(pub S);

impl<S: SocketStream> StreamTransport for FdTransport<S> {
    fn finish_connect(&mut self) -> io::Result<bool> {
        if let Some(e) = self.0.take_error()? {
            return Err(e);
        }
        match self.0.peer_connected() {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn peer_address(&self) -> String {
        self.0.peer_address()
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.shutdown_write()
    }

    fn read_into(&mut self, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
        read_fd_into(self.0.as_raw_fd(), buf, max)
    }
}

impl<S: SocketStream> Read for FdTransport<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<S: SocketStream> Write for FdTransport<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<S: SocketStream> mio::event::Source for FdTransport<S> {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.0.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.0.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        self.0.deregister(registry)
    }
}

/// [`StreamTransport::read_into`] for a file descriptor: `read(2)` straight into the buffer's
/// uninitialised spare capacity, with no zero-filling and no copy.
pub fn read_fd_into(fd: RawFd, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
    buf.reserve(max);
    let spare = buf.spare_capacity_mut();
    let want = spare.len().min(max);
    // SAFETY: `spare` is writable memory of at least `want` octets owned by `buf`; read(2) only
    // writes to it (never reads), and returns how many octets it initialised.
    let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), want) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: read(2) initialised the first `n` octets of the spare capacity.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}
