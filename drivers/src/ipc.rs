//! The ipc transport: ZMTP over Unix domain sockets, as libzmq's `ipc://path`.

use std::io;
use std::path::{Path, PathBuf};

use crate::driver::DriverError;
use crate::endpoint::EndpointError;
use crate::fd::{FdTransport, SocketStream};
use crate::options::Options;
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

    fn listen(
        &self,
        address: &str,
        _options: &Options,
    ) -> Result<Box<dyn StreamListener>, DriverError> {
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
        let inner = bound.map_err(|source| DriverError::bind_failed(&endpoint, source))?;
        Ok(Box::new(IpcListener {
            inner,
            path,
            endpoint,
        }))
    }

    fn check_address(&self, address: &str, _options: &Options) -> Result<(), DriverError> {
        check(address).map(drop)
    }

    fn connect(&self, address: &str, _options: &Options) -> io::Result<Box<dyn StreamTransport>> {
        Ok(Box::new(FdTransport(mio::net::UnixStream::connect(
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
        Ok(Box::new(FdTransport(stream)))
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    fn cleanup(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl SocketStream for mio::net::UnixStream {
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        mio::net::UnixStream::take_error(self)
    }

    fn peer_connected(&self) -> io::Result<()> {
        self.peer_addr().map(drop)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }

    fn peer_address(&self) -> String {
        "ipc://".into()
    }
}

crate::delegate_source!(IpcListener, inner);
