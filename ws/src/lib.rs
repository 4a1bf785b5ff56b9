//! WebSocket (RFC 6455) without I/O: frames in and out, and the opening handshake, for zvtran's
//! `ws://` transport (ZWS 2.0, RFC 45).
//!
//! Peer input is hostile: every length a peer declares is checked against the limit before
//! anything is allocated for it (a frame declaring 2^63 octets is an error at its header), and
//! no input makes these functions panic.

pub mod driver;
pub mod frame;
pub mod handshake;

pub use driver::Ws;
pub use frame::{Decoder, Event, Opcode, Role, WsError, apply_mask, encode_frame, encode_header};
pub use handshake::{HandshakeError, Request, accept_key};
