//! `tls+tcp://`: ZMTP over TLS 1.3 (rustls), written on zvtran's public driver API only.
//!
//! The driver wraps the tcp stream driver: each connection is a TCP stream carrying TLS, and
//! the ZMTP greeting, security mechanism and framing that zvtran's core runs go inside it. The
//! socket options it adds (declared through [`StreamDriver::option_names`], so any socket takes
//! them by name):
//!
//! | option | value |
//! | --- | --- |
//! | `TLS_CERT_CHAIN` | PEM certificates, leaf first: required to bind; on a client, sent when the server asks |
//! | `TLS_PRIVATE_KEY` | PEM private key of the chain |
//! | `TLS_TRUSTED_ROOTS` | PEM CA certificates a client checks the server against (required to connect), and a server checks clients against with `TLS_CLIENT_AUTH` |
//! | `TLS_CLIENT_AUTH` | `1`: the server requires a client certificate signed by `TLS_TRUSTED_ROOTS` |
//! | `TLS_SERVER_NAME` | the name the server's certificate must carry; default: the endpoint's host |
//!
//! A certificate that fails its check ends the connection with a fatal handshake error: the
//! socket's monitor reports `HandshakeFailed` with the reason, and no reconnection follows.

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use zvtran_drivers::driver::{Capabilities, DriverError};
use zvtran_drivers::options::Options;
use zvtran_drivers::stream::{StreamDriver, StreamListener, StreamTransport, fatal};
use zvtran_drivers::tcp::Tcp;

/// The URI scheme.
pub const SCHEME: &str = "tls+tcp";

/// PEM certificate chain, leaf first.
pub const CERT_CHAIN: &str = "TLS_CERT_CHAIN";
/// PEM private key.
pub const PRIVATE_KEY: &str = "TLS_PRIVATE_KEY";
/// PEM trusted CA certificates.
pub const TRUSTED_ROOTS: &str = "TLS_TRUSTED_ROOTS";
/// `1`: a server requires client certificates.
pub const CLIENT_AUTH: &str = "TLS_CLIENT_AUTH";
/// The name to check the server's certificate against.
pub const SERVER_NAME: &str = "TLS_SERVER_NAME";

const OPTION_NAMES: &[&str] = &[
    CERT_CHAIN,
    PRIVATE_KEY,
    TRUSTED_ROOTS,
    CLIENT_AUTH,
    SERVER_NAME,
];

/// The `tls+tcp://` stream driver; register it wrapped in `zvtran_drivers::stream::Stream`.
#[derive(Debug, Default)]
pub struct Tls;

/// ring's TLS 1.3 suites, AES-128-GCM first (the cheapest with AES instructions; a client's
/// order decides).
fn provider() -> Arc<CryptoProvider> {
    use rustls::crypto::ring::cipher_suite;
    Arc::new(CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ],
        ..rustls::crypto::ring::default_provider()
    })
}

fn option<'a>(options: &'a Options, name: &str) -> Option<&'a [u8]> {
    options.transport_option(name).map(|b| &b[..])
}

fn certs(options: &Options, name: &str) -> Result<Option<Vec<CertificateDer<'static>>>, String> {
    let Some(pem) = option(options, name) else {
        return Ok(None);
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{name}: not PEM certificates ({e})"))?;
    if certs.is_empty() {
        return Err(format!("{name}: no certificate in it"));
    }
    Ok(Some(certs))
}

fn key(options: &Options) -> Result<Option<PrivateKeyDer<'static>>, String> {
    option(options, PRIVATE_KEY)
        .map(|pem| {
            // The key's bytes never go into an error message.
            PrivateKeyDer::from_pem_slice(pem)
                .map_err(|_| format!("{PRIVATE_KEY}: not a PEM private key"))
        })
        .transpose()
}

fn roots(options: &Options) -> Result<Option<Arc<RootCertStore>>, String> {
    let Some(certs) = certs(options, TRUSTED_ROOTS)? else {
        return Ok(None);
    };
    let mut store = RootCertStore::empty();
    for c in certs {
        store
            .add(c)
            .map_err(|e| format!("{TRUSTED_ROOTS}: unusable CA certificate ({e})"))?;
    }
    Ok(Some(Arc::new(store)))
}

fn flag(options: &Options, name: &str) -> Result<bool, String> {
    match option(options, name) {
        None | Some(b"0") => Ok(false),
        Some(b"1") => Ok(true),
        Some(_) => Err(format!("{name}: must be 0 or 1")),
    }
}

/// The server side's configuration from the socket's options.
pub fn server_config(options: &Options) -> Result<Arc<ServerConfig>, String> {
    let chain = certs(options, CERT_CHAIN)?
        .ok_or_else(|| format!("binding {SCHEME}:// needs {CERT_CHAIN} and {PRIVATE_KEY}"))?;
    let key = key(options)?
        .ok_or_else(|| format!("binding {SCHEME}:// needs {PRIVATE_KEY} with {CERT_CHAIN}"))?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?;
    let builder = if flag(options, CLIENT_AUTH)? {
        let roots = roots(options)?.ok_or_else(|| {
            format!("{CLIENT_AUTH}=1 needs {TRUSTED_ROOTS}, the CAs client certificates come from")
        })?;
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| format!("{TRUSTED_ROOTS}: {e}"))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    builder
        .with_single_cert(chain, key)
        .map(Arc::new)
        .map_err(|e| format!("{CERT_CHAIN} and {PRIVATE_KEY}: {e}"))
}

/// The client side's configuration and the name the server must prove, for `address`.
pub fn client_config(
    options: &Options,
    address: &str,
) -> Result<(Arc<ClientConfig>, ServerName<'static>), String> {
    // Only servers use it, but a bad value is the user's mistake either way.
    flag(options, CLIENT_AUTH)?;
    let roots = roots(options)?.ok_or_else(|| {
        format!(
            "connecting over {SCHEME}:// needs {TRUSTED_ROOTS}, the CAs to check the server against"
        )
    })?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match (certs(options, CERT_CHAIN)?, key(options)?) {
        (Some(chain), Some(key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("{CERT_CHAIN} and {PRIVATE_KEY}: {e}"))?,
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(format!(
                "a client certificate needs both {CERT_CHAIN} and {PRIVATE_KEY}"
            ));
        }
    };
    let name = match option(options, SERVER_NAME) {
        Some(n) => {
            String::from_utf8(n.to_vec()).map_err(|_| format!("{SERVER_NAME}: not UTF-8"))?
        }
        None => host(address).to_string(),
    };
    let server = match name.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(name.clone())
            .map_err(|_| format!("{SERVER_NAME}: {name:?} is not a host name"))?,
    };
    Ok((Arc::new(config), server))
}

/// The host of `host:port` (brackets of an IPv6 literal removed).
fn host(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

fn options_error(address: &str, reason: String) -> DriverError {
    DriverError::Options {
        endpoint: format!("{SCHEME}://{address}"),
        reason,
    }
}

impl StreamDriver for Tls {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    fn listen(
        &self,
        address: &str,
        options: &Options,
    ) -> Result<Box<dyn StreamListener>, DriverError> {
        let config = server_config(options).map_err(|r| options_error(address, r))?;
        let inner = Tcp
            .listen(address, options)
            .map_err(|e| rename(e, address))?;
        let endpoint = inner.endpoint().replacen("tcp://", "tls+tcp://", 1);
        Ok(Box::new(TlsListener {
            inner,
            config,
            endpoint,
        }))
    }

    fn check_address(&self, address: &str, options: &Options) -> Result<(), DriverError> {
        Tcp.check_address(address, options)
            .map_err(|e| rename(e, address))?;
        client_config(options, address).map_err(|r| options_error(address, r))?;
        Ok(())
    }

    fn connect(&self, address: &str, options: &Options) -> io::Result<Box<dyn StreamTransport>> {
        let (config, name) = client_config(options, address).map_err(io::Error::other)?;
        let inner = Tcp.connect(address, options)?;
        let tls = ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(Box::new(TlsStream::new(inner, tls.into())))
    }

    fn option_names(&self) -> &[&'static str] {
        OPTION_NAMES
    }

    fn capabilities(&self, _address: &str) -> Capabilities {
        Capabilities::STREAM.with_own_security(true)
    }
}

/// Errors of the tcp driver underneath, named with this scheme.
fn rename(e: DriverError, address: &str) -> DriverError {
    let endpoint = format!("{SCHEME}://{address}");
    match e {
        DriverError::AddressInUse { .. } => DriverError::AddressInUse { endpoint },
        DriverError::Io { source, .. } => DriverError::Io { endpoint, source },
        other => other,
    }
}

struct TlsListener {
    inner: Box<dyn StreamListener>,
    config: Arc<ServerConfig>,
    endpoint: String,
}

impl StreamListener for TlsListener {
    fn accept(&mut self) -> io::Result<Box<dyn StreamTransport>> {
        let inner = self.inner.accept()?;
        let tls = ServerConnection::new(self.config.clone()).map_err(io::Error::other)?;
        Ok(Box::new(TlsStream::new(inner, tls.into())))
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    fn cleanup(&mut self) {
        self.inner.cleanup();
    }
}

/// One TLS connection over a non-blocking stream. Ciphertext is read in large chunks (rustls by
/// itself reads 4 KiB per call) and fed to rustls from memory; plaintext goes straight into the
/// caller's buffer. Writes encrypt and push out what the stream takes; what it does not take
/// waits in rustls and goes out at the next write or flush (the core flushes while
/// [`StreamTransport::has_pending_output`] says so).
struct TlsStream {
    inner: Box<dyn StreamTransport>,
    tls: rustls::Connection,
    /// Ciphertext read from the stream and not yet given to rustls: `rx[rx_at..rx_end]`.
    rx: Box<[u8]>,
    rx_at: usize,
    rx_end: usize,
}

/// Ciphertext read from the stream per call.
const RX: usize = 64 * 1024;

impl TlsStream {
    fn new(inner: Box<dyn StreamTransport>, mut tls: rustls::Connection) -> TlsStream {
        // The core bounds what it queues; rustls need not refuse plaintext before the
        // handshake ends (a refusal would look like a closed stream).
        tls.set_buffer_limit(None);
        TlsStream {
            inner,
            tls,
            rx: vec![0; RX].into_boxed_slice(),
            rx_at: 0,
            rx_end: 0,
        }
    }

    /// Writes pending TLS records until none is left or the stream would block.
    fn push(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.inner) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Like [`TlsStream::push`], where a full stream is no error.
    fn push_some(&mut self) -> io::Result<()> {
        match self.push() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    /// Makes plaintext ready: `Ok(n)` octets of it, `Ok(0)` at the end of the stream (with or
    /// without the peer's close_notify: ZMTP's framing tells a cut message by itself), or
    /// `WouldBlock`.
    fn fill(&mut self) -> io::Result<usize> {
        loop {
            let state = match self.tls.process_new_packets() {
                Ok(state) => state,
                Err(e) => {
                    // The alert telling the peer why, if it can go.
                    let _ = self.push();
                    return Err(tls_error(e));
                }
            };
            // Handshake messages to answer, or plaintext written before the handshake ended.
            self.push_some()?;
            let ready = state.plaintext_bytes_to_read();
            if ready > 0 {
                return Ok(ready);
            }
            if state.peer_has_closed() {
                return Ok(0);
            }
            if self.rx_at == self.rx_end {
                match self.inner.read(&mut self.rx)? {
                    0 => return Ok(0),
                    n => (self.rx_at, self.rx_end) = (0, n),
                }
            }
            let mut ciphertext = &self.rx[self.rx_at..self.rx_end];
            let taken = self.tls.read_tls(&mut ciphertext)?;
            self.rx_at += taken;
        }
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.fill()? {
            0 => Ok(0),
            _ => self.tls.reader().read(buf),
        }
    }
}

/// A TLS failure: fatal (no reconnection), with rustls' reason.
fn tls_error(e: rustls::Error) -> io::Error {
    fatal(format!("TLS: {e}"))
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // What the stream did not take last time goes first; while it is there, take nothing.
        self.push()?;
        let n = self.tls.writer().write(buf)?;
        self.push_some()?;
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.push()?;
        let n = self.tls.writer().write_vectored(bufs)?;
        self.push_some()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.push()
    }
}

impl StreamTransport for TlsStream {
    fn finish_connect(&mut self) -> io::Result<bool> {
        self.inner.finish_connect()
    }

    fn peer_address(&self) -> String {
        self.inner
            .peer_address()
            .replacen("tcp://", "tls+tcp://", 1)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.tls.send_close_notify();
        self.push()?;
        self.inner.shutdown_write()
    }

    fn has_pending_output(&self) -> bool {
        self.tls.wants_write()
    }

    /// Plaintext straight into the frame buffer: copied out of rustls's own buffer chunk by
    /// chunk, with no zero-filling first.
    fn read_into(&mut self, buf: &mut bytes::BytesMut, max: usize) -> io::Result<usize> {
        if self.fill()? == 0 {
            return Ok(0);
        }
        let max = max.max(1);
        let mut reader = self.tls.reader();
        let mut got = 0;
        while got < max {
            let chunk = match io::BufRead::fill_buf(&mut reader) {
                Ok(c) if !c.is_empty() => c,
                _ => break,
            };
            let n = chunk.len().min(max - got);
            buf.extend_from_slice(&chunk[..n]);
            io::BufRead::consume(&mut reader, n);
            got += n;
        }
        Ok(got)
    }
}

zvtran_drivers::delegate_source!(TlsListener, inner);

zvtran_drivers::delegate_source!(TlsStream, inner);
