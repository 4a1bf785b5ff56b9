//! `tls+tcp://` between zvtran sockets: certificates checked both ways, failures reported as
//! fatal handshake errors, options refused clearly, CURVE on top, and a hostile peer dropped
//! while a good one is served.

#[path = "support/pki.rs"]
mod pki;
mod support;

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use pki::Pki;
use support::wait_event;
use zvtran::{Context, EventKind, Message, Socket, SocketOption, SocketType};

const WAIT: Duration = Duration::from_secs(10);

fn set(s: &mut Socket, name: &str, value: &str) {
    s.set_option_by_name(name, value.as_bytes()).unwrap();
}

/// A server socket with the PKI's server certificate.
fn server(ctx: &Context, t: SocketType, pki: &Pki) -> (Socket, String) {
    let mut s = ctx.socket(t).unwrap();
    set(&mut s, "TLS_CERT_CHAIN", &pki.server_cert);
    set(&mut s, "TLS_PRIVATE_KEY", &pki.server_key);
    let endpoint = s.bind("tls+tcp://127.0.0.1:*").unwrap();
    assert!(endpoint.starts_with("tls+tcp://127.0.0.1:"), "{endpoint}");
    (s, endpoint)
}

/// A client socket trusting the PKI's CA.
fn client(ctx: &Context, t: SocketType, pki: &Pki) -> Socket {
    let mut s = ctx.socket(t).unwrap();
    set(&mut s, "TLS_TRUSTED_ROOTS", &pki.ca);
    s
}

#[test]
fn push_pull_over_tls_with_large_and_many_messages() {
    let pki = Pki::new();
    let ctx = Context::new().unwrap();
    let (mut pull, endpoint) = server(&ctx, SocketType::Pull, &pki);
    let mut push = client(&ctx, SocketType::Push, &pki);
    push.connect(&endpoint).unwrap();
    let big = Bytes::from(vec![0x5a; 1 << 20]);
    push.send(Message::from_frames([
        Bytes::from_static(b"big"),
        big.clone(),
    ]))
    .unwrap();
    for i in 0..10_000u32 {
        push.send(Message::from(i.to_be_bytes().to_vec())).unwrap();
    }
    let first = pull.recv_timeout(WAIT).unwrap();
    assert_eq!(first.frames()[1], big);
    for i in 0..10_000u32 {
        let m = pull.recv_timeout(WAIT).unwrap();
        assert_eq!(&m.frames()[0][..], &i.to_be_bytes());
    }
}

#[test]
fn req_rep_by_host_name_and_the_server_name_option() {
    let pki = Pki::new();
    let ctx = Context::new().unwrap();
    let (mut rep, endpoint) = server(&ctx, SocketType::Rep, &pki);
    let port = endpoint.rsplit(':').next().unwrap();
    // By name: the certificate carries localhost.
    let mut req = client(&ctx, SocketType::Req, &pki);
    req.connect(&format!("tls+tcp://localhost:{port}")).unwrap();
    req.send(Message::from("ping")).unwrap();
    assert_eq!(rep.recv_timeout(WAIT).unwrap(), Message::from("ping"));
    rep.send(Message::from("pong")).unwrap();
    assert_eq!(req.recv_timeout(WAIT).unwrap(), Message::from("pong"));
    // An address the certificate does not name, told which name to expect.
    let mut other = client(&ctx, SocketType::Req, &pki);
    set(&mut other, "TLS_SERVER_NAME", "localhost");
    other.connect(&endpoint).unwrap();
    other.send(Message::from("again")).unwrap();
    assert_eq!(rep.recv_timeout(WAIT).unwrap(), Message::from("again"));
}

#[test]
fn a_server_certificate_from_an_unknown_ca_is_a_fatal_handshake_error() {
    let pki = Pki::new();
    let ctx = Context::new().unwrap();
    let mut rogue = ctx.socket(SocketType::Pull).unwrap();
    set(&mut rogue, "TLS_CERT_CHAIN", &pki.rogue_cert);
    set(&mut rogue, "TLS_PRIVATE_KEY", &pki.rogue_key);
    let server_events = rogue.monitor();
    let endpoint = rogue.bind("tls+tcp://127.0.0.1:*").unwrap();
    let mut push = client(&ctx, SocketType::Push, &pki);
    let events = push.monitor();
    push.connect(&endpoint).unwrap();
    wait_event(&events, "HandshakeFailed (certificate)", |k| {
        matches!(k, EventKind::HandshakeFailed { reason, no_retry: true }
            if reason.contains("certificate"))
    });
    // Fatal: no reconnection follows.
    std::thread::sleep(Duration::from_millis(500));
    let later: Vec<EventKind> = events.try_iter().map(|e| e.kind).collect();
    assert!(
        !later
            .iter()
            .any(|k| matches!(k, EventKind::ConnectRetried { .. } | EventKind::Connected)),
        "{later:?}"
    );
    // The server learns why, too (the client's alert).
    wait_event(&server_events, "HandshakeFailed on the server", |k| {
        matches!(k, EventKind::HandshakeFailed { .. })
    });
    push.set_option(SocketOption::SndTimeo(Some(Duration::from_millis(100))))
        .unwrap();
    let _ = push.send(Message::from("never"));
    assert!(rogue.recv_timeout(Duration::from_millis(300)).is_err());
}

#[test]
fn client_certificates_when_the_server_asks_for_them() {
    let pki = Pki::new();
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    set(&mut pull, "TLS_CERT_CHAIN", &pki.server_cert);
    set(&mut pull, "TLS_PRIVATE_KEY", &pki.server_key);
    set(&mut pull, "TLS_TRUSTED_ROOTS", &pki.ca);
    set(&mut pull, "TLS_CLIENT_AUTH", "1");
    let endpoint = pull.bind("tls+tcp://127.0.0.1:*").unwrap();

    // Without a certificate: refused.
    let mut anonymous = client(&ctx, SocketType::Push, &pki);
    let events = anonymous.monitor();
    anonymous.connect(&endpoint).unwrap();
    wait_event(
        &events,
        "HandshakeFailed without a client certificate",
        |k| matches!(k, EventKind::HandshakeFailed { no_retry: true, .. }),
    );

    // With one the CA signed: served.
    let mut known = client(&ctx, SocketType::Push, &pki);
    set(&mut known, "TLS_CERT_CHAIN", &pki.client_cert);
    set(&mut known, "TLS_PRIVATE_KEY", &pki.client_key);
    known.connect(&endpoint).unwrap();
    known.send(Message::from("with a certificate")).unwrap();
    assert_eq!(
        pull.recv_timeout(WAIT).unwrap(),
        Message::from("with a certificate")
    );
}

#[test]
fn curve_runs_inside_tls() {
    let pki = Pki::new();
    let ctx = Context::new().unwrap();
    let keys = zvtran::KeyPair::generate();
    let mut server_socket = ctx.socket(SocketType::Pull).unwrap();
    server_socket
        .set_option(SocketOption::CurveServer(true))
        .unwrap();
    server_socket
        .set_option(SocketOption::CurveSecretKey(keys.secret.clone()))
        .unwrap();
    set(&mut server_socket, "TLS_CERT_CHAIN", &pki.server_cert);
    set(&mut server_socket, "TLS_PRIVATE_KEY", &pki.server_key);
    let endpoint = server_socket.bind("tls+tcp://127.0.0.1:*").unwrap();
    let mut push = client(&ctx, SocketType::Push, &pki);
    push.set_option(SocketOption::CurveServerKey(keys.public))
        .unwrap();
    push.connect(&endpoint).unwrap();
    push.send(Message::from("twice wrapped")).unwrap();
    assert_eq!(
        server_socket.recv_timeout(WAIT).unwrap(),
        Message::from("twice wrapped")
    );
}

#[test]
fn missing_or_bad_options_are_clear_errors() {
    let pki = Pki::new();
    let ctx = Context::new().unwrap();
    let mut s = ctx.socket(SocketType::Pull).unwrap();
    let err = s.bind("tls+tcp://127.0.0.1:*").unwrap_err();
    assert!(err.to_string().contains("needs TLS_CERT_CHAIN"), "{err}");
    set(&mut s, "TLS_CERT_CHAIN", "not pem at all");
    set(&mut s, "TLS_PRIVATE_KEY", &pki.server_key);
    let err = s.bind("tls+tcp://127.0.0.1:*").unwrap_err();
    assert!(err.to_string().contains("TLS_CERT_CHAIN"), "{err}");
    set(&mut s, "TLS_CERT_CHAIN", &pki.server_cert);
    set(
        &mut s,
        "TLS_PRIVATE_KEY",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let err = s.bind("tls+tcp://127.0.0.1:*").unwrap_err();
    assert!(err.to_string().contains("TLS_PRIVATE_KEY"), "{err}");
    assert!(!err.to_string().contains("AAAA"), "{err}");

    let mut c = ctx.socket(SocketType::Push).unwrap();
    let err = c.connect("tls+tcp://127.0.0.1:5555").unwrap_err();
    assert!(err.to_string().contains("needs TLS_TRUSTED_ROOTS"), "{err}");
    set(&mut c, "TLS_TRUSTED_ROOTS", &pki.ca);
    set(&mut c, "TLS_CLIENT_AUTH", "maybe");
    assert!(c.connect("tls+tcp://127.0.0.1:5555").is_err());
    // Secrets stay out of Debug output.
    let opt = SocketOption::Transport {
        name: "TLS_PRIVATE_KEY".into(),
        value: zvtran::Secret(Bytes::from(pki.server_key.clone())),
    };
    assert!(!format!("{opt:?}").contains("PRIVATE KEY-----"));
    // A name no driver declares is unknown.
    assert!(s.set_option_by_name("TLS_NOPE", b"1").is_err());
}

#[test]
fn a_hostile_peer_is_dropped_while_a_good_one_is_served() {
    let pki = Pki::new();
    let ctx = Context::new().unwrap();
    let (mut pull, endpoint) = server(&ctx, SocketType::Pull, &pki);
    let events = pull.monitor();
    let addr = endpoint.trim_start_matches("tls+tcp://").to_string();
    // Garbage that is not a TLS record, and a record header declaring 2^14 + 1 octets.
    let mut garbage = std::net::TcpStream::connect(&addr).unwrap();
    garbage.write_all(&[0x42; 300]).unwrap();
    let mut oversize = std::net::TcpStream::connect(&addr).unwrap();
    oversize.write_all(&[0x16, 0x03, 0x01, 0x48, 0x01]).unwrap();
    oversize.write_all(&[0u8; 64]).unwrap();
    let mut push = client(&ctx, SocketType::Push, &pki);
    push.connect(&endpoint).unwrap();
    support::push_pull_in_order(&mut push, &mut pull, "good", 100);
    wait_event(&events, "the garbage peer dropped", |k| {
        matches!(k, EventKind::HandshakeFailed { .. })
    });
    wait_event(&events, "the oversize record dropped", |k| {
        matches!(k, EventKind::HandshakeFailed { .. })
    });
    // Both closed by the server.
    garbage
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = std::io::Read::read(&mut garbage, &mut buf).unwrap_or(0);
    assert!(n < 64);
}

#[test]
fn the_cli_takes_tls_options_as_in_the_readme() {
    let pki = Pki::new();
    let port = support::free_port();
    let reader = std::process::Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["cat", "-r", "-n", "1", "--timeout", "10000", "-b", "PULL"])
        .arg(format!("tls+tcp://127.0.0.1:{port}"))
        .arg("-o")
        .arg(format!("TLS_CERT_CHAIN={}", pki.server_cert))
        .arg("-o")
        .arg(format!("TLS_PRIVATE_KEY={}", pki.server_key))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut writer = std::process::Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["cat", "-w", "-c", "PUSH"])
        .arg(format!("tls+tcp://localhost:{port}"))
        .arg("-o")
        .arg(format!("TLS_TRUSTED_ROOTS={}", pki.ca))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writer
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello over tls\n")
        .unwrap();
    assert!(writer.wait().unwrap().success());
    let out = reader.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello over tls\n");
    // Without the roots: a usage error naming the option.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["cat", "-w", "-c", "PUSH", "tls+tcp://localhost:1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("TLS_TRUSTED_ROOTS"));
}
