//! Inputs the fuzzers found; each once broke an invariant and must keep passing.

use std::time::Instant;

use bytes::Bytes;
use zmtp::{Command, Config, Connection, Error, ProtocolError, Role, SocketType};

/// handshake_server, crash-2cb88313: a frame declaring almost 2^64 octets in the middle of a
/// limited multipart message overflowed the addition that reports the whole message's size.
#[test]
fn oversize_frame_declared_near_u64_max_mid_message() {
    let now = Instant::now();
    let mut config = Config::new(SocketType::Pull, Role::Server);
    config.max_msg_size = Some(1 << 10);
    let mut conn = Connection::new(config, now).unwrap();
    let mut greeting = [0u8; 64];
    greeting[..16].copy_from_slice(b"\xff\0\0\0\0\0\0\0\x01\x7f\x03\x01NULL");
    conn.handle_bytes(&greeting, now).unwrap();
    conn.handle_bytes(b"\x04\x1a\x05READY\x0bSocket-Type\0\0\0\x04PUSH", now)
        .unwrap();
    // One frame with MORE, then a long frame declaring 2^64 - 1 octets.
    let mut input = b"\x01\x02ab\x02".to_vec();
    input.extend_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(
        conn.handle_bytes(&input, now),
        Err(Error::Protocol(ProtocolError::FrameTooLarge {
            declared: u64::MAX,
            limit: 1 << 10
        }))
    );
}

/// command, crash-c4d562f6: a READY of hundreds of tiny properties decodes (into memory
/// proportional to its size) rather than being mistaken for an oversize allocation.
#[test]
fn ready_with_many_small_properties() {
    let mut body = b"\x05READY".to_vec();
    for _ in 0..500 {
        body.extend_from_slice(b"\x01A\0\0\0\0");
    }
    let Ok(Command::Ready(meta)) = Command::decode(Bytes::from(body)) else {
        panic!("a READY of valid properties decodes");
    };
    assert_eq!(meta.len(), 500);
}
