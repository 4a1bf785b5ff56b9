//! The ipc transport: ZMTP over Unix domain sockets, as libzmq's `ipc://path`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::driver::DriverError;
use crate::endpoint::EndpointError;
use crate::stream::{StreamDriver, StreamListener, StreamTransport};

/// `ipc://path`: a Unix domain socket file, removed again when the listener closes.
#[derive(Debug, Default)]
pub struct Ipc;

fn check(address: &str) -> Result<PathBuf, DriverError> {
    if address.is_empty() {
        return Err(EndpointError::EmptyAddress(format!("ipc://{address}")).into());
    }
    Ok(PathBuf::from(address))
}

impl StreamDriver for Ipc {
    fn scheme(&self) -> &'static str {
        "ipc"
    }

    fn listen(&self, address: &str) -> Result<Box<dyn StreamListener>, DriverError> {
        let path = check(address)?;
        let endpoint = format!("ipc://{address}");
        let bound = match mio::net::UnixListener::bind(&path) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && is_stale(&path) => {
                // A file left by a process that is gone: libzmq replaces it too.
                let _ = std::fs::remove_file(&path);
                mio::net::UnixListener::bind(&path)
            }
            other => other,
        };
        let inner = bound.map_err(|source| {
            if source.kind() == io::ErrorKind::AddrInUse {
                DriverError::AddressInUse {
                    endpoint: endpoint.clone(),
                }
            } else {
                DriverError::Io {
                    endpoint: endpoint.clone(),
                    source,
                }
            }
        })?;
        Ok(Box::new(IpcListener {
            inner,
            path,
            endpoint,
        }))
    }

    fn check_address(&self, address: &str) -> Result<(), DriverError> {
        check(address).map(drop)
    }

    fn connect(&self, address: &str) -> io::Result<Box<dyn StreamTransport>> {
        Ok(Box::new(IpcTransport(mio::net::UnixStream::connect(
            address,
        )?)))
    }
}

/// Whether nobody listens on an existing socket file.
fn is_stale(path: &Path) -> bool {
    matches!(
        std::os::unix::net::UnixStream::connect(path),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused
    )
}

struct IpcListener {
    inner: mio::net::UnixListener,
    path: PathBuf,
    endpoint: String,
}

impl StreamListener for IpcListener {
    fn accept(&mut self) -> io::Result<Box<dyn StreamTransport>> {
        let (stream, _) = self.inner.accept()?;
        Ok(Box::new(IpcTransport(stream)))
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    fn cleanup(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct IpcTransport(mio::net::UnixStream);

impl StreamTransport for IpcTransport {
    fn finish_connect(&mut self) -> io::Result<bool> {
        if let Some(e) = self.0.take_error()? {
            return Err(e);
        }
        match self.0.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn peer_address(&self) -> String {
        "ipc://".into()
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.shutdown(std::net::Shutdown::Write)
    }

    fn read_into(&mut self, buf: &mut bytes::BytesMut, max: usize) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        crate::stream::read_fd_into(self.0.as_raw_fd(), buf, max)
    }
}

impl Read for IpcTransport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for IpcTransport {
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

crate::delegate_source!(IpcListener, inner);
crate::delegate_source!(IpcTransport, 0);
