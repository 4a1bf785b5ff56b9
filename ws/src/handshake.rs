//! The opening handshake (RFC 6455 section 4): the client's upgrade request, the server's
//! reply, and the accept key that ties them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 appends to the client's key.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The most octets a request or reply head may take before its blank line.
pub const MAX_HEAD: usize = 8192;

/// Why a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head did not end within [`MAX_HEAD`] octets.
    #[error("the HTTP head is over {MAX_HEAD} octets")]
    TooLong,
    /// Not an HTTP/1.1 GET upgrade to websocket, version 13, with a key.
    #[error("not a WebSocket upgrade request: {0}")]
    BadRequest(String),
    /// The server did not switch protocols, or its accept key is wrong.
    #[error("the server refused the WebSocket upgrade: {0}")]
    Refused(String),
}

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.trim().as_bytes());
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// A client key from 16 random octets.
pub fn new_key(random: [u8; 16]) -> String {
    STANDARD.encode(random)
}

/// A client's upgrade request to `path` on `host`, offering `protocols`.
pub fn client_request(host: &str, path: &str, key: &str, protocols: &[&str]) -> String {
    let mut r = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if !protocols.is_empty() {
        r.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            protocols.join(", ")
        ));
    }
    r.push_str("\r\n");
    r
}

/// A parsed upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The path asked for (with its query, if any).
    pub path: String,
    /// The `Host` header.
    pub host: Option<String>,
    /// `Sec-WebSocket-Key`.
    pub key: String,
    /// The subprotocols offered, in the client's order.
    pub protocols: Vec<String>,
    /// The `Origin` header (browsers send it).
    pub origin: Option<String>,
}

/// The head's lines, once it is all here: `Ok(None)` while incomplete, and its length.
fn head(buf: &[u8]) -> Result<Option<(Vec<&str>, usize)>, HandshakeError> {
    let window = &buf[..buf.len().min(MAX_HEAD)];
    let Some(end) = window.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() >= MAX_HEAD {
            Err(HandshakeError::TooLong)
        } else {
            Ok(None)
        };
    };
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| HandshakeError::BadRequest("the head is not UTF-8".into()))?;
    Ok(Some((text.split("\r\n").collect(), end + 4)))
}

/// Header values by lower-case name (a repeated header's values joined with commas).
fn headers<'a>(lines: &[&'a str]) -> Vec<(String, &'a str)> {
    lines
        .iter()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim()))
        .collect()
}

fn get<'a>(h: &'a [(String, &'a str)], name: &str) -> Option<&'a str> {
    h.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

fn tokens<'a>(h: &'a [(String, &'a str)], name: &str) -> Vec<&'a str> {
    h.iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// Parses a client's upgrade request: `Ok(None)` until its head is complete, then the
/// request and how many octets it took.
pub fn parse_request(buf: &[u8]) -> Result<Option<(Request, usize)>, HandshakeError> {
    let Some((lines, used)) = head(buf)? else {
        return Ok(None);
    };
    let bad = |why: &str| HandshakeError::BadRequest(why.to_string());
    let mut first = lines.first().copied().unwrap_or_default().split(' ');
    let (method, path, version) = (first.next(), first.next(), first.next());
    if method != Some("GET") || version != Some("HTTP/1.1") {
        return Err(bad("expected GET ... HTTP/1.1"));
    }
    let path = path
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| bad("no path"))?;
    let h = headers(&lines);
    let upgrade = tokens(&h, "upgrade");
    if !upgrade.iter().any(|t| t.eq_ignore_ascii_case("websocket")) {
        return Err(bad("no Upgrade: websocket"));
    }
    let connection = tokens(&h, "connection");
    if !connection.iter().any(|t| t.eq_ignore_ascii_case("upgrade")) {
        return Err(bad("no Connection: Upgrade"));
    }
    if get(&h, "sec-websocket-version") != Some("13") {
        return Err(bad("Sec-WebSocket-Version is not 13"));
    }
    let key = get(&h, "sec-websocket-key").ok_or_else(|| bad("no Sec-WebSocket-Key"))?;
    if STANDARD.decode(key).map(|k| k.len()) != Ok(16) {
        return Err(bad("Sec-WebSocket-Key is not 16 octets in base64"));
    }
    Ok(Some((
        Request {
            path: path.to_string(),
            host: get(&h, "host").map(str::to_string),
            key: key.to_string(),
            protocols: tokens(&h, "sec-websocket-protocol")
                .into_iter()
                .map(str::to_string)
                .collect(),
            origin: get(&h, "origin").map(str::to_string),
        },
        used,
    )))
}

/// The server's reply accepting `key`, choosing `protocol`.
pub fn server_response(key: &str, protocol: Option<&str>) -> String {
    let mut r = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        accept_key(key)
    );
    if let Some(p) = protocol {
        r.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    r.push_str("\r\n");
    r
}

/// A refusal (e.g. `400 Bad Request`), closing the connection.
pub fn refusal(status: u16, reason: &str) -> String {
    format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
}

/// Parses the server's reply to a request made with `key`: `Ok(None)` until its head is
/// complete, then the chosen subprotocol and how many octets the head took.
pub fn parse_response(
    buf: &[u8],
    key: &str,
) -> Result<Option<(Option<String>, usize)>, HandshakeError> {
    let Some((lines, used)) = head(buf)? else {
        return Ok(None);
    };
    let status = lines.first().copied().unwrap_or_default();
    if status.split(' ').nth(1) != Some("101") {
        return Err(HandshakeError::Refused(status.to_string()));
    }
    let h = headers(&lines);
    if get(&h, "sec-websocket-accept") != Some(accept_key(key).as_str()) {
        return Err(HandshakeError::Refused(
            "wrong Sec-WebSocket-Accept".to_string(),
        ));
    }
    let protocol = get(&h, "sec-websocket-protocol").map(str::to_string);
    Ok(Some((protocol, used)))
}
