//! The tcp transport: ZMTP over TCP, as libzmq's `tcp://host:port`.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

use crate::driver::DriverError;
use crate::endpoint::{Endpoint, EndpointError};
use crate::fd::{FdTransport, SocketStream};
use crate::http_proxy::{HTTP_PROXY, HttpConnect, proxy_address};
use crate::options::Options;
use crate::stream::{StreamDriver, StreamListener, StreamTransport};

/// `tcp://host:port`. Binding to `*` means every interface, port `*` (or 0) an ephemeral port.
#[derive(Debug, Default)]
pub struct Tcp;

fn parse(address: &str) -> Result<(String, u16), DriverError> {
    match Endpoint::parse(&format!("tcp://{address}"))? {
        Endpoint::Tcp { host, port } => Ok((host, port)),
        Endpoint::Ipc(_) => Err(EndpointError::NoPort(address.into()).into()),
    }
}

fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    let host = if host == "*" { "0.0.0.0" } else { host };
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address")))
}

fn endpoint_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("tcp://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp://[{}]:{}", a.ip(), a.port()),
    }
}

impl StreamDriver for Tcp {
    fn scheme(&self) -> &'static str {
        "tcp"
    }

    fn listen(
        &self,
        address: &str,
        _options: &Options,
    ) -> Result<Box<dyn StreamListener>, DriverError> {
        let endpoint = format!("tcp://{address}");
        let io_err = |source: io::Error| DriverError::bind_failed(&endpoint, source);
        let (host, port) = parse(address)?;
        let addr = resolve(&host, port).map_err(io_err)?;
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(io_err)?;
        // As libzmq does on Unix, so a restarted server can rebind at once.
        socket.set_reuse_address(true).map_err(io_err)?;
        socket.bind(&addr.into()).map_err(io_err)?;
        socket.listen(1024).map_err(io_err)?;
        socket.set_nonblocking(true).map_err(io_err)?;
        let std_listener: std::net::TcpListener = socket.into();
        let local = std_listener.local_addr().map_err(io_err)?;
        Ok(Box::new(TcpListener {
            inner: mio::net::TcpListener::from_std(std_listener),
            endpoint: endpoint_of(local),
        }))
    }

    fn check_address(&self, address: &str, options: &Options) -> Result<(), DriverError> {
        if let Some(v) = options.transport_option(HTTP_PROXY) {
            proxy_address(v).map_err(|reason| DriverError::Options {
                endpoint: format!("tcp://{address}"),
                reason,
            })?;
        }
        let (host, port) = parse(address)?;
        if host == "*" || port == 0 {
            return Err(EndpointError::BadPort {
                endpoint: format!("tcp://{address}"),
                port: "* (connect needs a host and a port)".into(),
            }
            .into());
        }
        Ok(())
    }

    fn connect(&self, address: &str, options: &Options) -> io::Result<Box<dyn StreamTransport>> {
        let (host, port) = parse(address).map_err(|e| io::Error::other(e.to_string()))?;
        // Through an HTTP proxy: connect to it, and tunnel to the address with CONNECT.
        let proxy = options
            .transport_option(HTTP_PROXY)
            .map(|v| proxy_address(v).map_err(io::Error::other))
            .transpose()?;
        let addr = match &proxy {
            Some(p) => p.to_socket_addrs()?.next().ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("{p} has no address"))
            })?,
            None => resolve(&host, port)?,
        };
        let stream = mio::net::TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let direct = Box::new(FdTransport(stream));
        Ok(match proxy {
            Some(_) => Box::new(HttpConnect::new(direct, address)),
            None => direct,
        })
    }

    fn option_names(&self) -> &[&'static str] {
        &[HTTP_PROXY]
    }
}

struct TcpListener {
    inner: mio::net::TcpListener,
    endpoint: String,
}

impl StreamListener for TcpListener {
    fn accept(&mut self) -> io::Result<Box<dyn StreamTransport>> {
        let (stream, _) = self.inner.accept()?;
        stream.set_nodelay(true)?;
        Ok(Box::new(FdTransport(stream)))
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }
}

impl SocketStream for mio::net::TcpStream {
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        mio::net::TcpStream::take_error(self)
    }

    fn peer_connected(&self) -> io::Result<()> {
        self.peer_addr().map(drop)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }

    fn peer_address(&self) -> String {
        self.peer_addr()
            .map(endpoint_of)
            .unwrap_or_else(|_| "tcp://?".into())
    }
}

crate::delegate_source!(TcpListener, inner);
