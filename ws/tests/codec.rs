//! RFC 6455's own examples, every rule the decoder enforces, hostile lengths, split input, and
//! round trips.

use bytes::Bytes;
use proptest::prelude::*;
use zvtran_ws::frame::{Decoder, Event, Opcode, Role, WsError, encode_frame};
use zvtran_ws::handshake::{
    self, HandshakeError, accept_key, client_request, parse_request, parse_response,
    server_response,
};

const MAX: u64 = 1 << 20;

fn decode_all(role: Role, bytes: &[u8]) -> Result<Vec<Event>, WsError> {
    let mut d = Decoder::new(role, MAX);
    d.feed(bytes);
    let mut out = Vec::new();
    while let Some(e) = d.next_event()? {
        out.push(e);
    }
    Ok(out)
}

#[test]
fn rfc_6455_examples() {
    // Section 1.3: the accept key.
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    // Section 5.7: "Hello" unmasked (from a server), masked (from a client), fragmented.
    let hello = Event::Message {
        text: true,
        payload: Bytes::from_static(b"Hello"),
    };
    let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    assert_eq!(
        decode_all(Role::Client, &unmasked).unwrap(),
        vec![hello.clone()]
    );
    let masked = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        decode_all(Role::Server, &masked).unwrap(),
        vec![hello.clone()]
    );
    let fragmented = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    assert_eq!(decode_all(Role::Client, &fragmented).unwrap(), vec![hello]);
    // A ping in the middle of a fragmented message is delivered at once.
    let mut with_ping = vec![0x01, 0x03, 0x48, 0x65, 0x6c];
    with_ping.extend_from_slice(&[0x89, 0x02, b'h', b'i']);
    with_ping.extend_from_slice(&[0x80, 0x02, 0x6c, 0x6f]);
    let events = decode_all(Role::Client, &with_ping).unwrap();
    assert_eq!(events[0], Event::Ping(Bytes::from_static(b"hi")));
    assert!(matches!(&events[1], Event::Message { payload, .. } if payload == "Hello"));
    // 256 and 65536 octets: the 16- and 64-bit length forms.
    for n in [256usize, 65536] {
        let mut f = Vec::new();
        encode_frame(Opcode::Binary, true, &vec![7u8; n], None, &mut f);
        assert_eq!(f[1], if n == 256 { 126 } else { 127 });
        let e = decode_all(Role::Client, &f).unwrap();
        assert!(matches!(&e[0], Event::Message { text: false, payload } if payload.len() == n));
    }
}

#[test]
fn every_rule_is_enforced() {
    let cases: Vec<(&[u8], Role, WsError)> = vec![
        (&[0xc2, 0x00], Role::Client, WsError::ReservedBits),
        (&[0x83, 0x00], Role::Client, WsError::UnknownOpcode(3)),
        (&[0x09, 0x00], Role::Client, WsError::FragmentedControl),
        (
            &[0x89, 0x7e, 0x00, 0x7e],
            Role::Client,
            WsError::ControlTooLong(126),
        ),
        (&[0x82, 0x7e, 0x00, 0x05], Role::Client, WsError::BadLength),
        (
            &[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 5],
            Role::Client,
            WsError::BadLength,
        ),
        (&[0x82, 0x05, 1, 2, 3, 4, 5], Role::Server, WsError::Masking),
        (&[0x82, 0x81, 1, 2, 3, 4, 5], Role::Client, WsError::Masking),
        (&[0x80, 0x00], Role::Client, WsError::UnexpectedContinuation),
        (
            &[0x02, 0x01, 0x41, 0x82, 0x00],
            Role::Client,
            WsError::ExpectedContinuation,
        ),
        (&[0x88, 0x01, 0x03], Role::Client, WsError::BadClose),
        (&[0x88, 0x02, 0x03, 0xed], Role::Client, WsError::BadClose),
    ];
    for (bytes, role, want) in cases {
        assert_eq!(decode_all(role, bytes), Err(want), "{bytes:02x?}");
    }
    let close = decode_all(Role::Client, &[0x88, 0x04, 0x03, 0xe8, b'o', b'k']);
    assert!(close.is_ok());
}

#[test]
fn hostile_lengths_are_refused_at_the_header() {
    // 2^63 - 1 declared (the largest legal form) and 2^63 (top bit set): no payload follows,
    // and the decoder neither waits for it nor allocates for it.
    let mut huge = vec![0x82, 0x7f];
    huge.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
    assert_eq!(
        decode_all(Role::Client, &huge),
        Err(WsError::TooLarge {
            declared: u64::MAX >> 1,
            max: MAX
        })
    );
    let mut top = vec![0x82, 0x7f];
    top.extend_from_slice(&(1u64 << 63).to_be_bytes());
    assert_eq!(decode_all(Role::Client, &top), Err(WsError::BadLength));
    // Fragments that add up past the limit: refused at the fragment that crosses it.
    let mut d = Decoder::new(Role::Client, 1000);
    let mut f = Vec::new();
    encode_frame(Opcode::Binary, false, &[0u8; 600], None, &mut f);
    encode_frame(Opcode::Continuation, true, &[0u8; 600], None, &mut f);
    // The first fragment (4-octet header, 600 octets) is taken; the second's header crosses.
    d.feed(&f[..604]);
    assert_eq!(d.next_event(), Ok(None));
    d.feed(&f[604..608]);
    assert!(matches!(
        d.next_event(),
        Err(WsError::TooLarge { declared: 1200, .. })
    ));
}

#[test]
fn the_handshake_both_ways_and_its_refusals() {
    let key = handshake::new_key([9; 16]);
    let req = client_request(
        "example.com:80",
        "/zeromq",
        &key,
        &["ZWS2.0/NULL", "ZWS2.0"],
    );
    // Byte by byte: incomplete until the blank line.
    for cut in 0..req.len() - 1 {
        assert_eq!(parse_request(&req.as_bytes()[..cut]), Ok(None));
    }
    let mut with_body = req.clone().into_bytes();
    with_body.extend_from_slice(b"\x82\x00");
    let (parsed, used) = parse_request(&with_body).unwrap().unwrap();
    assert_eq!(used, req.len());
    assert_eq!(parsed.path, "/zeromq");
    assert_eq!(parsed.protocols, ["ZWS2.0/NULL", "ZWS2.0"]);
    let reply = server_response(&parsed.key, Some("ZWS2.0/NULL"));
    let (protocol, used) = parse_response(reply.as_bytes(), &key).unwrap().unwrap();
    assert_eq!(protocol.as_deref(), Some("ZWS2.0/NULL"));
    assert_eq!(used, reply.len());
    // A reply for another key, and a refusal.
    let other = server_response(&handshake::new_key([1; 16]), None);
    assert!(matches!(
        parse_response(other.as_bytes(), &key),
        Err(HandshakeError::Refused(_))
    ));
    assert!(parse_response(handshake::refusal(400, "Bad Request").as_bytes(), &key).is_err());
    // Requests that are not upgrades.
    for bad in [
        "POST / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n",
    ] {
        assert!(
            matches!(
                parse_request(bad.as_bytes()),
                Err(HandshakeError::BadRequest(_))
            ),
            "{bad}"
        );
    }
    // A head that never ends.
    assert_eq!(
        parse_request(&vec![b'a'; handshake::MAX_HEAD + 1]),
        Err(HandshakeError::TooLong)
    );
}

proptest! {
    #[test]
    fn messages_round_trip_in_any_split(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..6),
        mask in any::<[u8; 4]>(),
        cuts in proptest::collection::vec(1usize..500, 1..20),
    ) {
        let mut wire = Vec::new();
        for p in &payloads {
            // Two fragments each when long enough, masked as a client sends them.
            let half = p.len() / 2;
            encode_frame(Opcode::Binary, false, &p[..half], Some(mask), &mut wire);
            encode_frame(Opcode::Continuation, true, &p[half..], Some(mask), &mut wire);
        }
        let mut d = Decoder::new(Role::Server, MAX);
        let mut got = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= wire.len() {
                break;
            }
            let end = (at + cut).min(wire.len());
            d.feed(&wire[at..end]);
            at = end;
            while let Some(e) = d.next_event().unwrap() {
                got.push(e);
            }
        }
        let want: Vec<Event> = payloads
            .iter()
            .map(|p| Event::Message { text: false, payload: Bytes::from(p.clone()) })
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn any_bytes_give_events_or_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for role in [Role::Client, Role::Server] {
            let _ = decode_all(role, &bytes);
        }
        let _ = parse_request(&bytes);
        let _ = parse_response(&bytes, "AAAAAAAAAAAAAAAAAAAAAA==");
    }
}
