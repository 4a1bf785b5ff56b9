//! `tls+tcp://` against an independent TLS implementation: Python's `ssl` module (OpenSSL)
//! carrying a ZMTP 3.1 NULL handshake written by hand (`tests/peers/zmtp_tls_peer.py`), as
//! server and as client, with client certificates and with certificates that must fail.

#[path = "support/pki.rs"]
mod pki;
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use pki::Pki;
use support::wait_event;
use zvtran::{Context, EventKind, Message, Socket, SocketType};

const WAIT: Duration = Duration::from_secs(10);

/// The PKI's files, for Python.
struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(pki: &Pki, test: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("zvtran-tls-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            ("ca.pem", &pki.ca),
            ("server.pem", &pki.server_cert),
            ("server.key", &pki.server_key),
            ("rogue.pem", &pki.rogue_cert),
            ("rogue.key", &pki.rogue_key),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The Python TLS peer.
struct Peer(support::Lines);

impl Peer {
    fn spawn(args: &[&str]) -> Peer {
        Peer(support::Lines::spawn(
            Command::new(support::python())
                .arg(support::root().join("tests/peers/zmtp_tls_peer.py"))
                .args(args),
            "the Python TLS peer",
        ))
    }

    fn line(&self) -> String {
        self.0.line()
    }
}

fn set(s: &mut Socket, name: &str, value: &str) {
    s.set_option_by_name(name, value.as_bytes()).unwrap();
}

/// zvtran PUSH connects to a Python TLS server acting as PULL.
fn push_to_python(pki: &Pki, server: &Peer, client_cert: bool) {
    let port = server.line().strip_prefix("PORT ").unwrap().to_string();
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    set(&mut push, "TLS_TRUSTED_ROOTS", &pki.ca);
    if client_cert {
        set(&mut push, "TLS_CERT_CHAIN", &pki.client_cert);
        set(&mut push, "TLS_PRIVATE_KEY", &pki.client_key);
    }
    push.connect(&format!("tls+tcp://localhost:{port}"))
        .unwrap();
    push.send(Message::from_frames(["multi", "part"])).unwrap();
    for i in 0..500 {
        push.send(Message::from(format!("n{i}"))).unwrap();
    }
    assert_eq!(server.line(), "MSG 6d756c7469,70617274");
    for i in 0..500 {
        let hex: String = format!("n{i}")
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(server.line(), format!("MSG {hex}"));
    }
}

#[test]
fn zvtran_client_to_an_openssl_server() {
    let pki = Pki::new();
    let files = Files::new(&pki, "to-server");
    let server = Peer::spawn(&[
        "server",
        &files.path("server.pem"),
        &files.path("server.key"),
    ]);
    push_to_python(&pki, &server, false);
}

#[test]
fn zvtran_client_certificate_accepted_by_an_openssl_server() {
    let pki = Pki::new();
    let files = Files::new(&pki, "client-cert");
    let server = Peer::spawn(&[
        "server",
        &files.path("server.pem"),
        &files.path("server.key"),
        &files.path("ca.pem"),
    ]);
    push_to_python(&pki, &server, true);
}

#[test]
fn openssl_client_to_a_zvtran_server() {
    let pki = Pki::new();
    let files = Files::new(&pki, "to-zvtran");
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    set(&mut pull, "TLS_CERT_CHAIN", &pki.server_cert);
    set(&mut pull, "TLS_PRIVATE_KEY", &pki.server_key);
    let endpoint = pull.bind("tls+tcp://127.0.0.1:*").unwrap();
    let port = endpoint.rsplit(':').next().unwrap();
    let client = Peer::spawn(&["client", &files.path("ca.pem"), port, "300"]);
    for i in 0..300 {
        assert_eq!(
            pull.recv_timeout(WAIT).unwrap(),
            Message::from(format!("m{i}"))
        );
    }
    assert_eq!(client.line(), "SENT");
}

#[test]
fn certificates_that_fail_their_check_fail_both_ways() {
    let pki = Pki::new();
    let files = Files::new(&pki, "rogue");
    // An OpenSSL server with a certificate from a CA zvtran does not trust.
    let rogue = Peer::spawn(&["server", &files.path("rogue.pem"), &files.path("rogue.key")]);
    let port = rogue.line().strip_prefix("PORT ").unwrap().to_string();
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    set(&mut push, "TLS_TRUSTED_ROOTS", &pki.ca);
    let events = push.monitor();
    push.connect(&format!("tls+tcp://localhost:{port}"))
        .unwrap();
    wait_event(&events, "HandshakeFailed for the rogue certificate", |k| {
        matches!(k, EventKind::HandshakeFailed { reason, no_retry: true }
            if reason.contains("certificate"))
    });
    assert!(
        rogue.line().starts_with("TLS-ERROR"),
        "OpenSSL saw the refusal"
    );

    // A zvtran server with the rogue certificate: OpenSSL refuses it, zvtran reports it.
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    set(&mut pull, "TLS_CERT_CHAIN", &pki.rogue_cert);
    set(&mut pull, "TLS_PRIVATE_KEY", &pki.rogue_key);
    let server_events = pull.monitor();
    let endpoint = pull.bind("tls+tcp://127.0.0.1:*").unwrap();
    let port = endpoint.rsplit(':').next().unwrap();
    let client = Peer::spawn(&["client", &files.path("ca.pem"), port, "1"]);
    let said = client.line();
    assert!(said.contains("CERTIFICATE"), "{said}");
    wait_event(
        &server_events,
        "HandshakeFailed on the zvtran server",
        |k| matches!(k, EventKind::HandshakeFailed { .. }),
    );
    assert!(pull.recv_timeout(Duration::from_millis(200)).is_err());
}
