//! The CURVE mechanism (RFC 25 over RFC 26, CurveZMQ): HELLO, WELCOME, INITIATE, READY, then MESSAGE boxes.
//!
//! Every box is XSalsa20-Poly1305 as NaCl's `crypto_box` makes it, written as the 16-octet
//! authenticator followed by the ciphertext. Short nonces count up from 1 in each direction and
//! a peer's must strictly increase, so a replayed or reordered box is refused. A server keeps no
//! key material about a client between WELCOME and INITIATE except a random cookie key, which
//! it forgets after [`COOKIE_LIFETIME`]; the client's transient key and the server's transient
//! secret travel inside the cookie.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use crypto_box::SalsaBox;
use crypto_box::aead::consts::U24;
use crypto_box::aead::generic_array::GenericArray;
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::{AeadCore, AeadInPlace, KeyInit, OsRng};
use crypto_secretbox::XSalsa20Poly1305;
use zeroize::{Zeroize, Zeroizing};

use super::{AuthRequest, Step};
use crate::codec::Reader;
use crate::command::Command;
use crate::error::{Error, Malformed, ProtocolError, UsageError, printable};
use crate::frame::Header;
use crate::greeting::MechanismName;
use crate::keys::{KEY_LEN, KeyPair, PublicKey};
use crate::metadata::Metadata;

/// CURVE settings: which side this is, and the keys it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Curve {
    /// Connects to a server whose public key it knows (ZMQ_CURVE_SERVERKEY), proving its own
    /// long-term key pair (ZMQ_CURVE_PUBLICKEY, ZMQ_CURVE_SECRETKEY).
    Client {
        /// The client's long-term key pair.
        keys: KeyPair,
        /// The server's long-term public key.
        server_key: PublicKey,
    },
    /// Accepts clients that know its public key (ZMQ_CURVE_SERVER with ZMQ_CURVE_SECRETKEY).
    Server {
        /// The server's long-term key pair.
        keys: KeyPair,
    },
}

/// How long a server remembers the cookie key of a WELCOME it sent ("about 60 seconds",
/// RFC 26). An INITIATE after that is refused.
pub const COOKIE_LIFETIME: Duration = Duration::from_secs(60);

/// RFC 26: the HELLO command body is 200 octets, so that it is larger than WELCOME and a
/// server cannot be used to amplify traffic.
const HELLO_LEN: usize = 200;
/// The WELCOME command body.
const WELCOME_LEN: usize = 168;
/// Cookie: a 16-octet nonce and a box of the client's transient key and the server's
/// transient secret.
const COOKIE_LEN: usize = 16 + 2 * KEY_LEN + TAG_LEN;
/// Poly1305 authenticator in front of every box.
const TAG_LEN: usize = 16;
/// Octets a MESSAGE command adds to a frame: name, short nonce, authenticator, flags.
pub const MESSAGE_OVERHEAD: usize = 8 + 8 + TAG_LEN + 1;

/// Inside a MESSAGE box, flag bit 0: more frames follow.
const BOX_MORE: u8 = 0x01;
/// Inside a MESSAGE box, flag bit 1: the frame is a command (as libzmq writes it).
const BOX_COMMAND: u8 = 0x02;

type Nonce = GenericArray<u8, U24>;

fn nonce(prefix: &[u8], rest: &[u8]) -> Nonce {
    let mut n = Nonce::default();
    let (head, tail) = n.split_at_mut(prefix.len().min(24));
    head.copy_from_slice(prefix.get(..head.len()).unwrap_or_default());
    let take = tail.len().min(rest.len());
    if let (Some(dst), Some(src)) = (tail.get_mut(..take), rest.get(..take)) {
        dst.copy_from_slice(src);
    }
    n
}

fn short_nonce(prefix: &[u8; 16], counter: u64) -> Nonce {
    nonce(prefix, &counter.to_be_bytes())
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

/// Appends `Box[plaintext]`: the authenticator, then the ciphertext.
fn seal<A>(key: &A, nonce: &Nonce, plaintext: &[u8], out: &mut BytesMut) -> Result<(), Error>
where
    A: AeadInPlace + AeadCore<NonceSize = U24>,
{
    let at = out.len();
    out.reserve(TAG_LEN + plaintext.len());
    out.put_bytes(0, TAG_LEN);
    out.put_slice(plaintext);
    let (head, body) = out.split_at_mut(at + TAG_LEN);
    let tag = key
        .encrypt_in_place_detached(nonce, b"", body)
        .map_err(|_| Error::Cipher)?;
    let (_, slot) = head.split_at_mut(at);
    slot.copy_from_slice(&tag);
    Ok(())
}

/// Opens `Box[...]`; the plaintext is wiped when dropped, since some boxes hold secrets.
fn open<A>(
    key: &A,
    nonce: &Nonce,
    boxed: &[u8],
    command: &'static str,
) -> Result<Zeroizing<Vec<u8>>, Error>
where
    A: AeadInPlace + AeadCore<NonceSize = U24>,
{
    let bad = || Error::from(ProtocolError::BadBox { command });
    let (tag, ciphertext) = boxed.split_at_checked(TAG_LEN).ok_or_else(bad)?;
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    key.decrypt_in_place_detached(nonce, b"", &mut plain, GenericArray::from_slice(tag))
        .map_err(|_| bad())?;
    Ok(plain)
}

fn take(r: &mut Reader, n: usize, command: &'static str) -> Result<Bytes, Error> {
    r.take(n)
        .ok_or_else(|| malformed(command, Malformed::Truncated))
}

fn take_key(r: &mut Reader, command: &'static str) -> Result<[u8; KEY_LEN], Error> {
    let b = take(r, KEY_LEN, command)?;
    b.as_ref()
        .try_into()
        .map_err(|_| malformed(command, Malformed::Truncated))
}

fn take_u64(r: &mut Reader, command: &'static str) -> Result<u64, Error> {
    let b = take(r, 8, command)?;
    Ok(b.iter().fold(0u64, |v, &x| v << 8 | u64::from(x)))
}

fn malformed(command: &str, reason: Malformed) -> Error {
    ProtocolError::MalformedCommand {
        command: command.into(),
        reason,
    }
    .into()
}

/// Writes a command frame header and name for a body of `len` octets in all.
fn command_head(out: &mut BytesMut, name: &[u8], len: usize) {
    Header::encode(out, false, true, len);
    out.put_u8(name.len() as u8);
    out.put_slice(name);
}

#[derive(Debug)]
enum State {
    // Client states.
    /// The greeting has not been exchanged yet.
    Start,
    /// HELLO sent; the transient secret waits for the server's transient key.
    ExpectWelcome {
        transient: crypto_box::SecretKey,
    },
    ExpectReady,
    // Server states.
    ExpectHello,
    /// WELCOME sent. Only the cookie key is kept, wiped on drop.
    ExpectInitiate {
        cookie_key: Zeroizing<[u8; KEY_LEN]>,
        expires: Instant,
    },
    /// The cookie key was forgotten.
    CookieExpired,
    /// INITIATE was valid; the application is deciding about the client.
    Authenticating {
        metadata: Metadata,
    },
    Done,
}

/// CURVE handshake state.
pub(crate) struct CurveHandshake {
    config: Curve,
    state: State,
    /// Our next short nonce; RFC 26 starts at 1.
    next_nonce: u64,
    /// The peer's last short nonce.
    peer_nonce: u64,
    /// The box between the two transient keys, once both are known.
    session: Option<SalsaBox>,
}

impl std::fmt::Debug for CurveHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Start => "Start",
            State::ExpectWelcome { .. } => "ExpectWelcome",
            State::ExpectReady => "ExpectReady",
            State::ExpectHello => "ExpectHello",
            State::ExpectInitiate { .. } => "ExpectInitiate",
            State::CookieExpired => "CookieExpired",
            State::Authenticating { .. } => "Authenticating",
            State::Done => "Done",
        };
        f.debug_struct("CurveHandshake")
            .field("config", &self.config)
            .field("state", &state)
            .field("next_nonce", &self.next_nonce)
            .field("peer_nonce", &self.peer_nonce)
            .finish_non_exhaustive()
    }
}

impl CurveHandshake {
    pub(crate) fn new(config: Curve) -> CurveHandshake {
        let state = match config {
            Curve::Client { .. } => State::Start,
            Curve::Server { .. } => State::ExpectHello,
        };
        CurveHandshake {
            config,
            state,
            next_nonce: 1,
            peer_nonce: 0,
            session: None,
        }
    }

    fn is_server(&self) -> bool {
        matches!(self.config, Curve::Server { .. })
    }

    fn take_nonce(&mut self) -> Result<u64, Error> {
        let n = self.next_nonce;
        self.next_nonce = n.checked_add(1).ok_or(Error::Cipher)?;
        Ok(n)
    }

    fn accept_peer_nonce(&mut self, n: u64, command: &'static str) -> Result<(), Error> {
        if n <= self.peer_nonce {
            return Err(ProtocolError::NonceNotIncreasing { command }.into());
        }
        self.peer_nonce = n;
        Ok(())
    }

    /// The client's HELLO: its transient public key and a box proving it knows the server's
    /// public key.
    pub(crate) fn start(&mut self, out: &mut BytesMut) -> Result<(), Error> {
        let Curve::Client { server_key, .. } = &self.config else {
            return Ok(());
        };
        let server_key = server_key.to_box_key();
        let transient = crypto_box::SecretKey::generate(&mut OsRng);
        let n = self.take_nonce()?;
        command_head(out, b"HELLO", HELLO_LEN);
        out.put_slice(&[1, 0]);
        out.put_bytes(0, 72);
        out.put_slice(transient.public_key().as_bytes());
        out.put_u64(n);
        let hello_box = SalsaBox::new(&server_key, &transient);
        seal(
            &hello_box,
            &short_nonce(b"CurveZMQHELLO---", n),
            &[0u8; 64],
            out,
        )?;
        self.state = State::ExpectWelcome { transient };
        Ok(())
    }

    pub(crate) fn handle(
        &mut self,
        body: Bytes,
        ours: &Metadata,
        out: &mut BytesMut,
        now: Instant,
    ) -> Result<Step, Error> {
        let mut r = Reader::new(body.clone());
        let name = r
            .short_bytes()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| malformed("", Malformed::BadName))?;
        let body_len = body.len();
        if name == "ERROR" {
            if let Command::Error(e) = Command::decode(body)? {
                return Err(Error::Refused {
                    reason: printable(&e.reason),
                });
            }
        }
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, name.as_ref()) {
            (State::ExpectWelcome { transient }, b"WELCOME") => {
                self.on_welcome(&transient, r, ours, out)?;
                self.state = State::ExpectReady;
                Ok(Step::Continue)
            }
            (State::ExpectReady, b"READY") => {
                let metadata = self.on_ready(r)?;
                Ok(Step::PeerReady(metadata))
            }
            (State::ExpectHello, b"HELLO") => {
                self.state = self.on_hello(body_len, r, out, now)?;
                Ok(Step::Continue)
            }
            (
                State::ExpectInitiate {
                    cookie_key,
                    expires,
                },
                b"INITIATE",
            ) => {
                if now >= expires {
                    return Err(ProtocolError::CookieExpired.into());
                }
                let (client_key, metadata) = self.on_initiate(&cookie_key, r)?;
                self.state = State::Authenticating { metadata };
                Ok(Step::Authenticate(AuthRequest {
                    mechanism: MechanismName::CURVE,
                    credentials: vec![Bytes::copy_from_slice(&client_key)],
                }))
            }
            (State::CookieExpired, b"INITIATE") => Err(ProtocolError::CookieExpired.into()),
            _ => Err(ProtocolError::UnexpectedCommand {
                command: printable(&name),
                mechanism: "CURVE",
            }
            .into()),
        }
    }

    /// Client: opens WELCOME, then sends INITIATE with the cookie, our long-term key, the
    /// vouch and our metadata.
    fn on_welcome(
        &mut self,
        transient: &crypto_box::SecretKey,
        mut r: Reader,
        ours: &Metadata,
        out: &mut BytesMut,
    ) -> Result<(), Error> {
        let Curve::Client { keys, server_key } = &self.config else {
            return Err(Error::Cipher);
        };
        if r.remaining() != WELCOME_LEN - 8 {
            return Err(malformed("WELCOME", Malformed::BadLength));
        }
        let long_nonce = take(&mut r, 16, "WELCOME")?;
        let welcome_box = SalsaBox::new(&server_key.to_box_key(), transient);
        let plain = open(
            &welcome_box,
            &nonce(b"WELCOME-", &long_nonce),
            &r.rest(),
            "WELCOME",
        )?;
        let mut p = Reader::new(Bytes::copy_from_slice(&plain));
        let server_transient = crypto_box::PublicKey::from(take_key(&mut p, "WELCOME")?);
        let cookie = p.rest();
        if cookie.len() != COOKIE_LEN {
            return Err(malformed("WELCOME", Malformed::BadLength));
        }
        let session = SalsaBox::new(&server_transient, transient);

        // The vouch: our long-term key vouches for the transient one, for this server.
        let vouch_nonce = random::<16>();
        let mut vouch_plain = Vec::with_capacity(2 * KEY_LEN);
        vouch_plain.extend_from_slice(transient.public_key().as_bytes());
        vouch_plain.extend_from_slice(server_key.as_bytes());
        let mut vouch = BytesMut::new();
        seal(
            &SalsaBox::new(&server_transient, keys.secret.box_key()),
            &nonce(b"VOUCH---", &vouch_nonce),
            &vouch_plain,
            &mut vouch,
        )?;

        let mut plain = Zeroizing::new(Vec::new());
        plain.extend_from_slice(keys.public.as_bytes());
        plain.extend_from_slice(&vouch_nonce);
        plain.extend_from_slice(&vouch);
        let mut meta = BytesMut::new();
        ours.encode(&mut meta);
        plain.extend_from_slice(&meta);

        let n = self.take_nonce()?;
        command_head(out, b"INITIATE", 9 + COOKIE_LEN + 8 + TAG_LEN + plain.len());
        out.put_slice(&cookie);
        out.put_u64(n);
        seal(&session, &short_nonce(b"CurveZMQINITIATE", n), &plain, out)?;
        self.session = Some(session);
        Ok(())
    }

    /// Client: opens READY, which carries the server's metadata.
    fn on_ready(&mut self, mut r: Reader) -> Result<Metadata, Error> {
        let n = take_u64(&mut r, "READY")?;
        self.accept_peer_nonce(n, "READY")?;
        let session = self.session.as_ref().ok_or(Error::Cipher)?;
        let plain = open(
            session,
            &short_nonce(b"CurveZMQREADY---", n),
            &r.rest(),
            "READY",
        )?;
        Metadata::decode(&mut Reader::new(Bytes::copy_from_slice(&plain)))
            .map_err(|reason| malformed("READY", reason))
    }

    /// Server: checks HELLO, then answers WELCOME with a new transient key and a cookie that
    /// holds everything needed later. Returns the state to wait in.
    fn on_hello(
        &mut self,
        body_len: usize,
        mut r: Reader,
        out: &mut BytesMut,
        now: Instant,
    ) -> Result<State, Error> {
        let Curve::Server { keys } = &self.config else {
            return Err(Error::Cipher);
        };
        if body_len != HELLO_LEN {
            return Err(malformed("HELLO", Malformed::BadLength));
        }
        let version = take(&mut r, 2, "HELLO")?;
        if version.as_ref() != [1, 0] {
            let (major, minor) = (
                version.first().copied().unwrap_or(0),
                version.get(1).copied().unwrap_or(0),
            );
            return Err(ProtocolError::UnsupportedCurveVersion { major, minor }.into());
        }
        take(&mut r, 72, "HELLO")?;
        let client_transient = crypto_box::PublicKey::from(take_key(&mut r, "HELLO")?);
        let n = take_u64(&mut r, "HELLO")?;
        let hello_box = SalsaBox::new(&client_transient, keys.secret.box_key());
        open(
            &hello_box,
            &short_nonce(b"CurveZMQHELLO---", n),
            &r.rest(),
            "HELLO",
        )?;
        self.accept_peer_nonce(n, "HELLO")?;

        let server_transient = crypto_box::SecretKey::generate(&mut OsRng);
        let cookie_key = Zeroizing::new(random::<KEY_LEN>());
        let cookie_nonce = random::<16>();
        let mut cookie_plain = Zeroizing::new([0u8; 2 * KEY_LEN]);
        let (c, s) = cookie_plain.split_at_mut(KEY_LEN);
        c.copy_from_slice(client_transient.as_bytes());
        s.copy_from_slice(Zeroizing::new(server_transient.to_bytes()).as_slice());
        let mut welcome_plain = BytesMut::with_capacity(KEY_LEN + COOKIE_LEN);
        welcome_plain.put_slice(server_transient.public_key().as_bytes());
        welcome_plain.put_slice(&cookie_nonce);
        seal(
            &XSalsa20Poly1305::new(GenericArray::from_slice(cookie_key.as_slice())),
            &nonce(b"COOKIE--", &cookie_nonce),
            cookie_plain.as_slice(),
            &mut welcome_plain,
        )?;

        let long_nonce = random::<16>();
        command_head(out, b"WELCOME", WELCOME_LEN);
        out.put_slice(&long_nonce);
        seal(
            &hello_box,
            &nonce(b"WELCOME-", &long_nonce),
            &welcome_plain,
            out,
        )?;
        welcome_plain.zeroize();
        Ok(State::ExpectInitiate {
            cookie_key,
            expires: now + COOKIE_LIFETIME,
        })
    }

    /// Server: recovers the transient keys from the cookie, opens INITIATE and checks the
    /// vouch. Returns the client's long-term public key and its metadata.
    fn on_initiate(
        &mut self,
        cookie_key: &[u8; KEY_LEN],
        mut r: Reader,
    ) -> Result<([u8; KEY_LEN], Metadata), Error> {
        let Curve::Server { keys } = &self.config else {
            return Err(Error::Cipher);
        };
        let server_public = keys.public;
        let cookie_nonce = take(&mut r, 16, "INITIATE")?;
        let cookie_box = take(&mut r, COOKIE_LEN - 16, "INITIATE")?;
        let n = take_u64(&mut r, "INITIATE")?;
        let cookie = open(
            &XSalsa20Poly1305::new(GenericArray::from_slice(cookie_key)),
            &nonce(b"COOKIE--", &cookie_nonce),
            &cookie_box,
            "INITIATE cookie",
        )?;
        let (client_transient, server_transient) = cookie.split_at(KEY_LEN);
        let client_transient = crypto_box::PublicKey::from_slice(client_transient)
            .map_err(|_| malformed("INITIATE", Malformed::BadLength))?;
        let server_transient = crypto_box::SecretKey::from_slice(server_transient)
            .map_err(|_| malformed("INITIATE", Malformed::BadLength))?;
        let session = SalsaBox::new(&client_transient, &server_transient);
        let plain = open(
            &session,
            &short_nonce(b"CurveZMQINITIATE", n),
            &r.rest(),
            "INITIATE",
        )?;
        self.accept_peer_nonce(n, "INITIATE")?;

        let mut p = Reader::new(Bytes::copy_from_slice(&plain));
        let client_key = take_key(&mut p, "INITIATE")?;
        let vouch_nonce = take(&mut p, 16, "INITIATE")?;
        let vouch_box = take(&mut p, 2 * KEY_LEN + TAG_LEN, "INITIATE")?;
        let vouch = open(
            &SalsaBox::new(&crypto_box::PublicKey::from(client_key), &server_transient),
            &nonce(b"VOUCH---", &vouch_nonce),
            &vouch_box,
            "INITIATE vouch",
        )?;
        let (vouched_transient, vouched_server) = vouch.split_at(KEY_LEN);
        if vouched_transient != client_transient.as_bytes()
            || vouched_server != server_public.as_bytes()
        {
            return Err(ProtocolError::VouchMismatch.into());
        }
        let metadata = Metadata::decode(&mut p).map_err(|reason| malformed("INITIATE", reason))?;
        self.session = Some(session);
        Ok((client_key, metadata))
    }

    pub(crate) fn allowed(&mut self) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Authenticating { metadata } => Step::PeerReady(metadata),
            other => {
                self.state = other;
                Step::Continue
            }
        }
    }

    /// Server: READY with our metadata, in the session box.
    pub(crate) fn finish(&mut self, ours: &Metadata, out: &mut BytesMut) -> Result<(), Error> {
        if !self.is_server() {
            return Ok(());
        }
        let mut meta = BytesMut::new();
        ours.encode(&mut meta);
        let n = self.take_nonce()?;
        let session = self.session.as_ref().ok_or(Error::Cipher)?;
        command_head(out, b"READY", 6 + 8 + TAG_LEN + meta.len());
        out.put_u64(n);
        seal(session, &short_nonce(b"CurveZMQREADY---", n), &meta, out)
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::ExpectInitiate { expires, .. } => Some(*expires),
            _ => None,
        }
    }

    /// Forgets the cookie key once it is too old to accept an INITIATE.
    pub(crate) fn expire(&mut self, now: Instant) {
        if self.deadline().is_some_and(|d| now >= d) {
            self.state = State::CookieExpired;
        }
    }

    pub(crate) fn take_cipher(&mut self) -> Option<Cipher> {
        let session = self.session.take()?;
        let (send_prefix, recv_prefix) = if self.is_server() {
            (b"CurveZMQMESSAGES", b"CurveZMQMESSAGEC")
        } else {
            (b"CurveZMQMESSAGEC", b"CurveZMQMESSAGES")
        };
        Some(Cipher {
            session,
            send_prefix,
            recv_prefix,
            next_nonce: self.next_nonce,
            peer_nonce: self.peer_nonce,
        })
    }
}

/// Encrypts and decrypts frames as MESSAGE commands once the handshake is complete.
pub(crate) struct Cipher {
    session: SalsaBox,
    send_prefix: &'static [u8; 16],
    recv_prefix: &'static [u8; 16],
    next_nonce: u64,
    peer_nonce: u64,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("next_nonce", &self.next_nonce)
            .field("peer_nonce", &self.peer_nonce)
            .finish_non_exhaustive()
    }
}

/// A frame out of a MESSAGE box.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) more: bool,
    pub(crate) command: bool,
    pub(crate) body: Bytes,
}

impl Cipher {
    /// Writes one frame as a MESSAGE command.
    pub(crate) fn seal_frame(
        &mut self,
        more: bool,
        command: bool,
        body: &[u8],
        out: &mut BytesMut,
    ) -> Result<(), UsageError> {
        let n = self.next_nonce;
        self.next_nonce = n.checked_add(1).ok_or(UsageError::NoncesExhausted)?;
        let len = MESSAGE_OVERHEAD + body.len();
        out.reserve(Header::encoded_len(len) + len);
        // libzmq sends MESSAGE boxes as plain frames, without the COMMAND or MORE bits; the
        // flags inside the box say what the frame is.
        Header::encode(out, false, false, len);
        out.put_slice(b"\x07MESSAGE");
        out.put_u64(n);
        let tag_at = out.len();
        out.put_bytes(0, TAG_LEN);
        let mut flags = 0;
        if more {
            flags |= BOX_MORE;
        }
        if command {
            flags |= BOX_COMMAND;
        }
        out.put_u8(flags);
        out.put_slice(body);
        let (head, plain) = out.split_at_mut(tag_at + TAG_LEN);
        let tag = self
            .session
            .encrypt_in_place_detached(&short_nonce(self.send_prefix, n), b"", plain)
            .map_err(|_| UsageError::NoncesExhausted)?;
        let (_, slot) = head.split_at_mut(tag_at);
        slot.copy_from_slice(&tag);
        Ok(())
    }

    /// Opens a MESSAGE command body in place, with no copy of the payload.
    pub(crate) fn open_frame(&mut self, mut body: BytesMut) -> Result<Opened, ProtocolError> {
        if !body.starts_with(b"\x07MESSAGE") {
            return Err(ProtocolError::Unencrypted);
        }
        if body.len() < MESSAGE_OVERHEAD {
            return Err(ProtocolError::MalformedCommand {
                command: "MESSAGE".into(),
                reason: Malformed::Truncated,
            });
        }
        let (head, boxed) = body.split_at_mut(8 + 8 + TAG_LEN);
        let (name_nonce, tag) = head.split_at(16);
        let n = name_nonce
            .iter()
            .skip(8)
            .fold(0u64, |v, &x| v << 8 | u64::from(x));
        if n <= self.peer_nonce {
            return Err(ProtocolError::NonceNotIncreasing { command: "MESSAGE" });
        }
        self.session
            .decrypt_in_place_detached(
                &short_nonce(self.recv_prefix, n),
                b"",
                boxed,
                GenericArray::from_slice(tag),
            )
            .map_err(|_| ProtocolError::BadBox { command: "MESSAGE" })?;
        self.peer_nonce = n;
        let payload = body.freeze().split_off(8 + 8 + TAG_LEN);
        let flags = payload.first().copied().unwrap_or(0);
        let more = flags & BOX_MORE != 0;
        let command = flags & BOX_COMMAND != 0;
        if more && command {
            return Err(ProtocolError::CommandWithMore);
        }
        Ok(Opened {
            more,
            command,
            body: payload.slice(1..),
        })
    }
}
