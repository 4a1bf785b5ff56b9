//! Stream connections through an HTTP proxy: the CONNECT request and reply before the bytes pass.
//!
//! [`HttpConnect`] wraps a stream to the proxy. It sends `CONNECT target HTTP/1.1` at once, and
//! holds what the core writes (the ZMTP greeting) until the proxy answers `2xx`; from then on
//! bytes pass through unchanged. A proxy that refuses with `4xx` (forbidden, authentication
//! required) ends the connection for good ([`crate::stream::fatal`]); other failures are
//! retried like any lost connection. The tcp driver uses it when the socket sets `HTTP_PROXY`,
//! and so does every stream driver built on tcp (`tls+tcp://`).

use std::io::{self, Read, Write};

use crate::stream::{StreamTransport, fatal};

/// The socket option naming the proxy: `host:port` (or `http://host:port`).
pub const HTTP_PROXY: &str = "HTTP_PROXY";

/// The most a proxy's reply header may take.
const MAX_REPLY: usize = 8192;
/// The most the core may write before the tunnel opens (a ZMTP greeting and handshake are far
/// less).
const MAX_HELD: usize = 64 * 1024;

/// The proxy's `host:port` from the option's value.
pub fn proxy_address(value: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(value).map_err(|_| format!("{HTTP_PROXY}: not UTF-8"))?;
    let text = text.trim();
    let bare = text.strip_prefix("http://").unwrap_or(text);
    let bare = bare.strip_suffix('/').unwrap_or(bare);
    match bare.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Ok(bare.to_string())
        }
        _ => Err(format!(
            "{HTTP_PROXY}: {text:?} is not host:port (or http://host:port)"
        )),
    }
}

/// A stream through an HTTP proxy's CONNECT tunnel.
pub struct HttpConnect {
    inner: Box<dyn StreamTransport>,
    target: String,
    request: Vec<u8>,
    sent: usize,
    reply: Vec<u8>,
    open: bool,
    /// Written by the core before the tunnel opened (or not yet taken by the stream since).
    held: Vec<u8>,
    /// Bytes that came after the proxy's reply header: the peer's first bytes.
    early: Vec<u8>,
    early_at: usize,
}

impl HttpConnect {
    /// Tunnels to `target` (`host:port`) over `inner`, a connection to the proxy.
    pub fn new(inner: Box<dyn StreamTransport>, target: &str) -> HttpConnect {
        let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").into_bytes();
        HttpConnect {
            inner,
            target: target.to_string(),
            request,
            sent: 0,
            reply: Vec::new(),
            open: false,
            held: Vec::new(),
            early: Vec::new(),
            early_at: 0,
        }
    }

    fn send_request(&mut self) -> io::Result<()> {
        while self.sent < self.request.len() {
            match self.inner.write(&self.request[self.sent..])? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => self.sent += n,
            }
        }
        Ok(())
    }

    fn send_held(&mut self) -> io::Result<()> {
        while !self.held.is_empty() {
            match self.inner.write(&self.held)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => {
                    self.held.drain(..n);
                }
            }
        }
        Ok(())
    }

    /// Reads the proxy's reply; Ok once the tunnel is open.
    fn open_tunnel(&mut self) -> io::Result<()> {
        self.send_request()?;
        let mut chunk = [0u8; 1024];
        loop {
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the HTTP proxy closed the connection before answering CONNECT",
                ));
            }
            self.reply.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.reply.windows(4).position(|w| w == b"\r\n\r\n") {
                let status_line = String::from_utf8_lossy(
                    self.reply.split(|b| *b == b'\r').next().unwrap_or_default(),
                )
                .into_owned();
                let code = status_line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse::<u16>().ok());
                match code {
                    Some(200..=299) => {}
                    Some(400..=499) => {
                        return Err(fatal(format!(
                            "the HTTP proxy refused CONNECT {}: {status_line}",
                            self.target
                        )));
                    }
                    _ => {
                        return Err(io::Error::other(format!(
                            "the HTTP proxy failed CONNECT {}: {status_line}",
                            self.target
                        )));
                    }
                }
                self.early = self.reply.split_off(end + 4);
                self.reply = Vec::new();
                self.open = true;
                match self.send_held() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    other => other?,
                }
                return Ok(());
            }
            if self.reply.len() > MAX_REPLY {
                return Err(fatal(format!(
                    "the HTTP proxy's reply to CONNECT {} is over {MAX_REPLY} octets",
                    self.target
                )));
            }
        }
    }
}

impl Read for HttpConnect {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.open {
            self.open_tunnel()?;
        }
        if self.early_at < self.early.len() {
            let n = buf.len().min(self.early.len() - self.early_at);
            buf[..n].copy_from_slice(&self.early[self.early_at..self.early_at + n]);
            self.early_at += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

impl Write for HttpConnect {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.open {
            self.send_held()?;
            return self.inner.write(buf);
        }
        match self.send_request() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => other?,
        }
        if self.held.len() >= MAX_HELD {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.held.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        if self.open && self.held.is_empty() {
            return self.inner.write_vectored(bufs);
        }
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        self.write(first)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.open {
            self.send_held()
        } else {
            self.send_request()
        }
    }
}

impl StreamTransport for HttpConnect {
    fn finish_connect(&mut self) -> io::Result<bool> {
        self.inner.finish_connect()
    }

    fn peer_address(&self) -> String {
        self.inner.peer_address()
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.inner.shutdown_write()
    }

    fn has_pending_output(&self) -> bool {
        self.sent < self.request.len() || (self.open && !self.held.is_empty())
    }

    fn read_into(&mut self, buf: &mut bytes::BytesMut, max: usize) -> io::Result<usize> {
        if self.open && self.early_at >= self.early.len() {
            return self.inner.read_into(buf, max);
        }
        let len = buf.len();
        buf.resize(len + max.max(1), 0);
        let got = self.read(&mut buf[len..]);
        buf.truncate(len + *got.as_ref().unwrap_or(&0));
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory stream: reads come from `input` (then WouldBlock, or end of stream when
    /// `eof`), writes go to `output`.
    struct Mock {
        input: Vec<u8>,
        at: usize,
        eof: bool,
        output: Vec<u8>,
    }

    impl Read for Mock {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.input.len() {
                return if self.eof {
                    Ok(0)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                };
            }
            let n = buf.len().min(self.input.len() - self.at).min(7);
            buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    impl Write for Mock {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl mio::event::Source for Mock {
        fn register(
            &mut self,
            _: &mio::Registry,
            _: mio::Token,
            _: mio::Interest,
        ) -> io::Result<()> {
            Ok(())
        }
        fn reregister(
            &mut self,
            _: &mio::Registry,
            _: mio::Token,
            _: mio::Interest,
        ) -> io::Result<()> {
            Ok(())
        }
        fn deregister(&mut self, _: &mio::Registry) -> io::Result<()> {
            Ok(())
        }
    }

    impl StreamTransport for Mock {
        fn finish_connect(&mut self) -> io::Result<bool> {
            Ok(true)
        }
        fn peer_address(&self) -> String {
            "tcp://127.0.0.1:1".into()
        }
        fn shutdown_write(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn through(reply: &[u8], eof: bool) -> (HttpConnect, io::Result<Vec<u8>>) {
        let mock = Mock {
            input: reply.to_vec(),
            at: 0,
            eof,
            output: Vec::new(),
        };
        let mut t = HttpConnect::new(Box::new(mock), "10.0.0.1:5555");
        // The core writes its greeting before the proxy answers.
        assert_eq!(t.write(b"GREETING").unwrap(), 8);
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        let result = loop {
            match t.read(&mut buf) {
                Ok(0) => break Ok(got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(got),
                Err(e) => break Err(e),
            }
        };
        (t, result)
    }

    #[test]
    fn the_tunnel_opens_on_2xx_and_passes_the_peers_first_bytes() {
        let (t, got) = through(
            b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\nPEER",
            false,
        );
        assert_eq!(got.unwrap(), b"PEER");
        assert!(t.open);
        assert!(!t.has_pending_output(), "the held greeting went out");
    }

    #[test]
    fn hostile_or_failing_proxies_end_the_connection() {
        // 4xx: fatal.
        let (_, got) = through(b"HTTP/1.1 403 Forbidden\r\n\r\n", false);
        assert!(crate::stream::is_fatal(&got.unwrap_err()));
        // 5xx and nonsense: retried like a lost connection.
        for reply in [
            &b"HTTP/1.1 502 Bad Gateway\r\n\r\n"[..],
            b"\xff\xfe garbage\r\n\r\n",
        ] {
            let (_, got) = through(reply, false);
            let e = got.unwrap_err();
            assert!(!crate::stream::is_fatal(&e), "{e}");
        }
        // A reply header that never ends: refused past the limit, without growing further.
        let endless = vec![b'a'; MAX_REPLY + 2000];
        let (t, got) = through(&endless, false);
        assert!(crate::stream::is_fatal(&got.unwrap_err()));
        assert!(t.reply.len() <= MAX_REPLY + 1024);
        // The proxy hangs up before answering.
        let (_, got) = through(b"HTTP/1.1 20", true);
        assert_eq!(got.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn proxy_addresses() {
        assert_eq!(proxy_address(b"127.0.0.1:8888").unwrap(), "127.0.0.1:8888");
        assert_eq!(proxy_address(b"http://proxy:3128/").unwrap(), "proxy:3128");
        for bad in [&b"proxy"[..], b":80", b"proxy:0", b"proxy:x", b"\xff:1"] {
            assert!(proxy_address(bad).is_err(), "{bad:?}");
        }
    }
}

crate::delegate_source!(HttpConnect, inner);
