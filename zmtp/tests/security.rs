//! PLAIN, CURVE and authentication through the public API, in memory on a fake clock.

use std::time::{Duration, Instant};

use bytes::Bytes;
use zmtp::pair::{Pair, PairError};
use zmtp::{
    AuthOutcome, AuthRequest, Config, Connection, Curve, Error, Event, KeyPair, MechanismName,
    Message, Metadata, Plain, ProtocolError, PublicKey, Role, SecretKey, SocketType,
};

/// libzmq's example server key pair.
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
/// A fixed client secret key.
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

fn server_keys() -> KeyPair {
    KeyPair::from_secret(SecretKey::parse(SERVER_SECRET.as_bytes()).unwrap())
}

fn client_keys() -> KeyPair {
    KeyPair::from_secret(SecretKey::parse(CLIENT_SECRET.as_bytes()).unwrap())
}

fn config(socket_type: SocketType, role: Role, mechanism: zmtp::Mechanism) -> Config {
    let mut c = Config::new(socket_type, role);
    c.mechanism = mechanism;
    c
}

fn plain_pair(username: &str, password: &str, authenticate: bool) -> Pair {
    let client = config(
        SocketType::Push,
        Role::Client,
        zmtp::Mechanism::Plain(Plain::Client {
            username: Bytes::copy_from_slice(username.as_bytes()),
            password: Bytes::copy_from_slice(password.as_bytes()),
        }),
    );
    let mut server = config(
        SocketType::Pull,
        Role::Server,
        zmtp::Mechanism::Plain(Plain::Server),
    );
    server.authenticate = authenticate;
    Pair::new(client, server).unwrap()
}

fn curve_client(server_key: PublicKey) -> zmtp::Mechanism {
    zmtp::Mechanism::Curve(Curve::Client {
        keys: client_keys(),
        server_key,
    })
}

fn curve_server() -> zmtp::Mechanism {
    zmtp::Mechanism::Curve(Curve::Server {
        keys: server_keys(),
    })
}

fn curve_pair(authenticate: bool) -> Pair {
    let client = config(
        SocketType::Dealer,
        Role::Client,
        curve_client(SERVER_PUBLIC.parse().unwrap()),
    );
    let mut server = config(SocketType::Router, Role::Server, curve_server());
    server.authenticate = authenticate;
    Pair::new(client, server).unwrap()
}

fn auth_requests(events: &[Event]) -> Vec<&AuthRequest> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Authenticate(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn peer_info(events: &[Event]) -> &zmtp::PeerInfo {
    events
        .iter()
        .find_map(|e| match e {
            Event::Ready(info) => Some(info),
            _ => None,
        })
        .expect("a Ready event")
}

fn allow_as(user: &str) -> AuthOutcome {
    let mut metadata = Metadata::new();
    metadata.insert("X-Role", "admin").unwrap();
    AuthOutcome::Allow {
        user_id: Bytes::copy_from_slice(user.as_bytes()),
        metadata,
    }
}

#[test]
fn plain_asks_the_application_then_completes() {
    let mut pair = plain_pair("alice", "secret", true);
    pair.drive().unwrap();
    assert!(!pair.both_ready());
    let requests = auth_requests(&pair.server_events);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].mechanism, MechanismName::PLAIN);
    assert_eq!(requests[0].credentials, vec!["alice", "secret"]);

    pair.authenticate(allow_as("alice")).unwrap();
    assert!(pair.both_ready());
    let info = peer_info(&pair.server_events);
    assert_eq!(info.user_id.as_deref(), Some(&b"alice"[..]));
    assert_eq!(info.auth_metadata.get("X-Role").unwrap(), "admin");
    assert_eq!(info.socket_type, SocketType::Push);
    assert_eq!(peer_info(&pair.client_events).socket_type, SocketType::Pull);

    pair.client.send(Message::from("hello")).unwrap();
    pair.drive().unwrap();
    assert_eq!(
        pair.server_events.last(),
        Some(&Event::Message(Message::from("hello")))
    );
}

#[test]
fn plain_hello_matches_rfc_24_bytes() {
    let mut pair = plain_pair("u", "pw", true);
    let mut first = Vec::new();
    while let Some(b) = pair.client.poll_transmit() {
        first.extend_from_slice(&b);
    }
    // Greeting: mechanism "PLAIN", as-server 0.
    assert_eq!(&first[12..17], b"PLAIN");
    assert_eq!(first[32], 0);
    let mut answer = Vec::new();
    while let Some(b) = pair.server.poll_transmit() {
        answer.extend_from_slice(&b);
    }
    assert_eq!(answer[32], 1, "the PLAIN server announces as-server");
    pair.client.handle_bytes(&answer, pair.now).unwrap();
    let mut hello = Vec::new();
    while let Some(b) = pair.client.poll_transmit() {
        hello.extend_from_slice(&b);
    }
    assert_eq!(hello, b"\x04\x0b\x05HELLO\x01u\x02pw");
}

#[test]
fn plain_without_a_handler_refuses_without_error() {
    let mut pair = plain_pair("alice", "secret", false);
    let err = pair.drive().unwrap_err();
    assert_eq!(err.server, Some(Error::NoAuthenticator));
    // No ERROR was sent: the client may retry once a handler exists.
    assert_eq!(err.client, None);
    assert!(!pair.client.is_ready());
}

#[test]
fn plain_denied_client_is_told_the_status_code() {
    let mut pair = plain_pair("mallory", "guess", true);
    pair.drive().unwrap();
    let err = pair
        .authenticate(AuthOutcome::Deny {
            status: 400,
            text: "bad password".into(),
        })
        .unwrap_err();
    assert_eq!(
        err.server,
        Some(Error::Denied {
            status: 400,
            text: "bad password".into()
        })
    );
    let client = err.client.unwrap();
    assert_eq!(
        client,
        Error::Refused {
            reason: "400".into()
        }
    );
    assert_eq!(client.auth_status(), Some(400));
    assert!(client.forbids_reconnect());
    assert!(
        !pair
            .client_events
            .iter()
            .any(|e| matches!(e, Event::Ready(_)))
    );
}

#[test]
fn temporary_refusal_allows_reconnection() {
    let mut pair = plain_pair("alice", "secret", true);
    pair.drive().unwrap();
    let err = pair
        .authenticate(AuthOutcome::Deny {
            status: 300,
            text: "try later".into(),
        })
        .unwrap_err();
    assert!(!err.client.unwrap().forbids_reconnect());
}

#[test]
fn plain_refuses_two_clients_and_long_credentials() {
    let mut a = config(
        SocketType::Push,
        Role::Client,
        zmtp::Mechanism::Plain(Plain::Client {
            username: "a".into(),
            password: "b".into(),
        }),
    );
    let b = a.clone();
    let mut pair = Pair::new(a.clone(), b).unwrap();
    let err = pair.drive().unwrap_err();
    assert!(matches!(
        err.server,
        Some(Error::Protocol(ProtocolError::UnexpectedCommand { .. }))
    ));
    let server = config(
        SocketType::Pull,
        Role::Server,
        zmtp::Mechanism::Plain(Plain::Server),
    );
    let mut pair = Pair::new(server.clone(), server).unwrap();
    let err = pair.drive().unwrap_err();
    assert_eq!(
        err.server,
        Some(Error::Protocol(ProtocolError::RoleMismatch {
            as_server: true
        }))
    );

    a.mechanism = zmtp::Mechanism::Plain(Plain::Client {
        username: Bytes::from(vec![b'x'; 256]),
        password: "b".into(),
    });
    assert_eq!(
        Connection::new(a, Instant::now()).unwrap_err(),
        zmtp::UsageError::CredentialTooLong {
            what: "user name",
            len: 256
        }
    );
}

#[test]
fn plain_password_never_shows_in_debug() {
    let m = Plain::Client {
        username: "alice".into(),
        password: "hunter2".into(),
    };
    assert!(!format!("{m:?}").contains("hunter2"));
}

#[test]
fn null_server_can_ask_the_application() {
    let client = Config::new(SocketType::Req, Role::Client);
    let mut server = Config::new(SocketType::Rep, Role::Server);
    server.authenticate = true;
    let mut pair = Pair::new(client.clone(), server.clone()).unwrap();
    pair.drive().unwrap();
    let requests = auth_requests(&pair.server_events);
    assert_eq!(requests[0].mechanism, MechanismName::NULL);
    assert!(requests[0].credentials.is_empty());
    pair.authenticate(allow_as("anonymous")).unwrap();
    assert!(pair.both_ready());

    let mut pair = Pair::new(client, server).unwrap();
    pair.drive().unwrap();
    let err = pair
        .authenticate(AuthOutcome::Deny {
            status: 400,
            text: String::new(),
        })
        .unwrap_err();
    assert_eq!(err.client.unwrap().auth_status(), Some(400));
}

#[test]
fn a_client_speaking_out_of_turn_while_authenticating_is_dropped() {
    let mut pair = plain_pair("alice", "secret", true);
    pair.drive().unwrap();
    let err = pair
        .server
        .handle_bytes(b"\x04\x06\x05READY", pair.now)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Protocol(ProtocolError::UnexpectedCommand { .. })
    ));
}

#[test]
fn curve_without_a_handler_accepts_and_encrypts() {
    let mut pair = curve_pair(false);
    pair.drive().unwrap();
    assert!(pair.both_ready());
    assert_eq!(
        peer_info(&pair.server_events).socket_type,
        SocketType::Dealer
    );

    let secret = b"attack at dawn, bring snacks";
    pair.client
        .send(Message::from_frames([&b""[..], &secret[..]]))
        .unwrap();
    let mut wire = Vec::new();
    while let Some(b) = pair.client.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    assert!(
        !wire.windows(secret.len()).any(|w| w == secret),
        "plaintext on the wire"
    );
    // Two frames, two MESSAGE boxes, each a plain short frame as libzmq sends them.
    assert_eq!(wire[0], 0x00);
    assert_eq!(&wire[2..10], b"\x07MESSAGE");
    pair.server.handle_bytes(&wire, pair.now).unwrap();
    assert_eq!(
        pair.server.poll_event(),
        Some(Event::Message(Message::from_frames([
            &b""[..],
            &secret[..]
        ])))
    );

    // And back, with a large multipart message.
    let big = Bytes::from(vec![7u8; 300_000]);
    pair.server
        .send(Message::from_frames([
            Bytes::from_static(b"x"),
            big.clone(),
        ]))
        .unwrap();
    pair.drive().unwrap();
    assert_eq!(
        pair.client_events.last(),
        Some(&Event::Message(Message::from_frames([
            Bytes::from_static(b"x"),
            big
        ])))
    );
}

#[test]
fn curve_hello_is_200_octets_with_72_of_padding() {
    let mut pair = curve_pair(false);
    let mut server_greeting = Vec::new();
    while let Some(b) = pair.server.poll_transmit() {
        server_greeting.extend_from_slice(&b);
    }
    assert_eq!(&server_greeting[12..17], b"CURVE");
    assert_eq!(server_greeting[32], 1);
    pair.client
        .handle_bytes(&server_greeting, pair.now)
        .unwrap();
    let mut out = Vec::new();
    while let Some(b) = pair.client.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let hello = &out[64..];
    assert_eq!(hello.len(), 2 + 200);
    assert_eq!(&hello[..2], &[0x04, 200]);
    assert_eq!(&hello[2..8], b"\x05HELLO");
    assert_eq!(&hello[8..10], &[1, 0]);
    assert!(hello[10..82].iter().all(|&b| b == 0));
    // Short nonce 1.
    assert_eq!(&hello[114..122], &1u64.to_be_bytes());
}

#[test]
fn curve_asks_the_application_with_the_client_key() {
    let mut pair = curve_pair(true);
    pair.drive().unwrap();
    let requests = auth_requests(&pair.server_events);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].mechanism, MechanismName::CURVE);
    assert_eq!(
        requests[0].credentials,
        vec![Bytes::copy_from_slice(client_keys().public.as_bytes())]
    );
    pair.authenticate(allow_as("client-1")).unwrap();
    assert!(pair.both_ready());
    assert_eq!(
        peer_info(&pair.server_events).user_id.as_deref(),
        Some(&b"client-1"[..])
    );
}

#[test]
fn curve_denied_client_key() {
    let mut pair = curve_pair(true);
    pair.drive().unwrap();
    let err = pair
        .authenticate(AuthOutcome::Deny {
            status: 400,
            text: "unknown key".into(),
        })
        .unwrap_err();
    assert_eq!(err.client.unwrap().auth_status(), Some(400));
    assert!(!pair.client.is_ready());
}

#[test]
fn curve_wrong_server_key_fails_at_hello() {
    let client = config(
        SocketType::Dealer,
        Role::Client,
        curve_client(KeyPair::generate().public),
    );
    let server = config(SocketType::Router, Role::Server, curve_server());
    let mut pair = Pair::new(client, server).unwrap();
    let err = pair.drive().unwrap_err();
    assert_eq!(
        err.server,
        Some(Error::Protocol(ProtocolError::BadBox { command: "HELLO" }))
    );
    // The server says why, so the client does not retry with the same key.
    assert!(err.client.unwrap().forbids_reconnect());
    assert!(!pair.both_ready());
}

/// Takes what `conn` queued as separate writes of one MESSAGE each.
fn take_wire(conn: &mut Connection) -> Vec<u8> {
    let mut wire = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    wire
}

#[test]
fn curve_rejects_a_replayed_message() {
    let mut pair = curve_pair(false);
    pair.drive().unwrap();
    pair.client.send(Message::from("pay 100")).unwrap();
    let wire = take_wire(&mut pair.client);
    pair.server.handle_bytes(&wire, pair.now).unwrap();
    assert_eq!(
        pair.server.poll_event(),
        Some(Event::Message(Message::from("pay 100")))
    );
    let err = pair.server.handle_bytes(&wire, pair.now).unwrap_err();
    assert_eq!(
        err,
        Error::Protocol(ProtocolError::NonceNotIncreasing { command: "MESSAGE" })
    );
    assert_eq!(pair.server.poll_event(), None);
}

#[test]
fn curve_rejects_a_reordered_message() {
    let mut pair = curve_pair(false);
    pair.drive().unwrap();
    pair.client.send(Message::from("first")).unwrap();
    let first = take_wire(&mut pair.client);
    pair.client.send(Message::from("second")).unwrap();
    let second = take_wire(&mut pair.client);
    pair.server.handle_bytes(&second, pair.now).unwrap();
    assert_eq!(
        pair.server.poll_event(),
        Some(Event::Message(Message::from("second")))
    );
    let err = pair.server.handle_bytes(&first, pair.now).unwrap_err();
    assert_eq!(
        err,
        Error::Protocol(ProtocolError::NonceNotIncreasing { command: "MESSAGE" })
    );
}

#[test]
fn curve_rejects_an_altered_message_and_plaintext() {
    let mut pair = curve_pair(false);
    pair.drive().unwrap();
    pair.client.send(Message::from("hello")).unwrap();
    let mut wire = take_wire(&mut pair.client);
    let last = wire.len() - 1;
    wire[last] ^= 1;
    assert_eq!(
        pair.server.handle_bytes(&wire, pair.now).unwrap_err(),
        Error::Protocol(ProtocolError::BadBox { command: "MESSAGE" })
    );

    let mut pair = curve_pair(false);
    pair.drive().unwrap();
    assert_eq!(
        pair.server
            .handle_bytes(b"\x00\x05hello", pair.now)
            .unwrap_err(),
        Error::Protocol(ProtocolError::Unencrypted)
    );
}

#[test]
fn curve_commands_travel_inside_boxes() {
    let client = config(
        SocketType::Sub,
        Role::Client,
        curve_client(SERVER_PUBLIC.parse().unwrap()),
    );
    let mut server = config(SocketType::Pub, Role::Server, curve_server());
    server.heartbeat_interval = Some(Duration::from_secs(1));
    let mut pair = Pair::new(client, server).unwrap();
    pair.drive().unwrap();
    pair.client
        .subscribe(Bytes::from_static(b"weather"))
        .unwrap();
    let wire = take_wire(&mut pair.client);
    assert_eq!(&wire[2..10], b"\x07MESSAGE");
    assert!(!wire.windows(7).any(|w| w == b"weather"));
    pair.server.handle_bytes(&wire, pair.now).unwrap();
    assert_eq!(
        pair.server.poll_event(),
        Some(Event::Subscribe(Bytes::from_static(b"weather")))
    );
    // A heartbeat PING goes boxed and the PONG comes back boxed.
    pair.advance(Duration::from_secs(1)).unwrap();
    assert_eq!(pair.server.stats().pings_sent, 1);
    assert_eq!(pair.server.stats().pongs_received, 1);
}

#[test]
fn curve_limits_apply_to_the_plaintext() {
    let client = config(
        SocketType::Push,
        Role::Client,
        curve_client(SERVER_PUBLIC.parse().unwrap()),
    );
    let mut server = config(SocketType::Pull, Role::Server, curve_server());
    server.max_msg_size = Some(1000);
    let mut pair = Pair::new(client, server).unwrap();
    pair.drive().unwrap();
    pair.client.send(Message::from(vec![1u8; 1000])).unwrap();
    pair.drive().unwrap();
    pair.client.send(Message::from(vec![1u8; 1001])).unwrap();
    let err = pair.drive().unwrap_err();
    assert!(matches!(
        err.server,
        Some(Error::Protocol(ProtocolError::FrameTooLarge { .. }))
    ));
}

#[test]
fn curve_cookie_is_forgotten_after_sixty_seconds() {
    let client = config(
        SocketType::Push,
        Role::Client,
        curve_client(SERVER_PUBLIC.parse().unwrap()),
    );
    let mut server = config(SocketType::Pull, Role::Server, curve_server());
    server.handshake_timeout = None;
    let mut pair = Pair::new(client, server).unwrap();
    let now = pair.now;
    // Greetings, then HELLO; WELCOME is held back.
    let c = take_wire(&mut pair.client);
    pair.server.handle_bytes(&c, now).unwrap();
    let s = take_wire(&mut pair.server);
    pair.client.handle_bytes(&s, now).unwrap();
    let hello = take_wire(&mut pair.client);
    pair.server.handle_bytes(&hello, now).unwrap();
    let welcome = take_wire(&mut pair.server);
    assert_eq!(welcome.len(), 2 + 168);
    let later = now + Duration::from_secs(61);
    assert_eq!(
        pair.server.poll_timeout(),
        Some(now + Duration::from_secs(60))
    );
    pair.server.handle_timeout(later).unwrap();
    pair.client.handle_bytes(&welcome, later).unwrap();
    let initiate = take_wire(&mut pair.client);
    assert_eq!(
        pair.server.handle_bytes(&initiate, later).unwrap_err(),
        Error::Protocol(ProtocolError::CookieExpired)
    );
}

#[test]
fn curve_server_needs_a_curve_client() {
    let client = config(
        SocketType::Push,
        Role::Client,
        zmtp::Mechanism::Plain(Plain::Client {
            username: "a".into(),
            password: "b".into(),
        }),
    );
    let server = config(SocketType::Pull, Role::Server, curve_server());
    let mut pair = Pair::new(client, server).unwrap();
    let err: PairError = pair.drive().unwrap_err();
    assert!(matches!(
        err.server,
        Some(Error::Protocol(ProtocolError::MechanismMismatch { .. }))
    ));
}

#[test]
fn plain_client_reads_both_forms_of_refusal() {
    // libzmq 4.3 PLAIN servers send `^RROR` (see plain.rs); RFC 23 peers send `\x05ERROR`.
    for refusal in [&b"\x04\x09^RROR\x03400"[..], b"\x04\x0a\x05ERROR\x03400"] {
        let mut config = Config::new(SocketType::Push, Role::Client);
        config.mechanism = zmtp::Mechanism::Plain(Plain::Client {
            username: "u".into(),
            password: "p".into(),
        });
        let now = Instant::now();
        let mut conn = Connection::new(config, now).unwrap();
        let mut greeting = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1];
        greeting.extend_from_slice(b"PLAIN");
        greeting.resize(64, 0);
        conn.read_buffer().extend_from_slice(&greeting);
        conn.read_buffer().extend_from_slice(refusal);
        let err = conn.handle_read(now).unwrap_err();
        assert_eq!(err.auth_status(), Some(400), "{refusal:?}: {err}");
    }
}
