//! PLAIN and CURVE against libzmq (pyzmq): zvtran as server with a pyzmq client and the reverse
//! (pyzmq's ThreadAuthenticator as ZAP handler), over tcp and ipc, for PUSH/PULL, REQ/REP,
//! DEALER/ROUTER and PUB/SUB; refusals (wrong password, wrong server key, a denied key) deliver
//! nothing and surface events on both sides; keys made by either side work on the other.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{PySocket, eventually, wait_event};
use zvtran::{
    Context, EventKind, KeyPair, Message, PublicKey, RecvError, SecretKey, Socket, SocketOption,
    SocketType, ZapReply,
};

const WAIT: Duration = Duration::from_secs(10);
const USER: &str = "alice";
const PASSWORD: &str = "s3cret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mech {
    Plain,
    Curve,
}

/// Which side binds and serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Zvtran,
    Libzmq,
}

/// A pyzmq-made key pair (zmq.curve_keypair()).
fn py_keypair(py: &mut PySocket) -> KeyPair {
    let reply = py.cmd("keypair");
    let words: Vec<&str> = reply.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"KEYS"), "{reply}");
    let secret: SecretKey = SecretKey::parse(words[2].as_bytes()).unwrap();
    let pair = KeyPair::from_secret(secret);
    let public: PublicKey = words[1].parse().unwrap();
    assert_eq!(
        pair.public, public,
        "zvtran derives the public key pyzmq made"
    );
    pair
}

fn endpoint(transport: &str, tag: &str) -> String {
    match transport {
        "tcp" => "tcp://127.0.0.1:*".into(),
        _ => format!(
            "ipc://{}",
            std::env::temp_dir()
                .join(format!("zvtran-secint-{}-{tag}", std::process::id()))
                .display()
        ),
    }
}

/// Sets up the two sides of one secured connection; returns the zvtran socket, the pyzmq
/// socket and the user id the zvtran server's handler gives (if zvtran serves).
fn secured_pair(
    ctx: &Context,
    mech: Mech,
    server: Side,
    transport: &str,
    types: (SocketType, SocketType),
    tag: &str,
) -> (Socket, PySocket, Option<String>) {
    let (server_type, client_type) = types;
    let (ours, theirs) = match server {
        Side::Zvtran => (server_type, client_type),
        Side::Libzmq => (client_type, server_type),
    };
    let mut z = ctx.socket(ours).unwrap();
    z.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    let mut py = PySocket::new(theirs.as_str());
    let mut user = None;
    match (mech, server) {
        (Mech::Plain, Side::Zvtran) => {
            ctx.set_zap_handler(|req| match (req.username(), req.password()) {
                (Some(u), Some(p)) if u == USER.as_bytes() && p == PASSWORD.as_bytes() => {
                    ZapReply::allow(USER)
                }
                _ => ZapReply::deny("wrong user name or password"),
            });
            z.set_option(SocketOption::PlainServer(true)).unwrap();
            py.opt_bytes("PLAIN_USERNAME", USER.as_bytes());
            py.opt_bytes("PLAIN_PASSWORD", PASSWORD.as_bytes());
            user = Some(USER.to_string());
        }
        (Mech::Plain, Side::Libzmq) => {
            py.ok(&format!(
                "auth plain {} {}",
                support::hex_frame(USER.as_bytes()),
                support::hex_frame(PASSWORD.as_bytes())
            ));
            py.opt("PLAIN_SERVER", 1);
            z.set_option_by_name("PLAIN_USERNAME", USER.as_bytes())
                .unwrap();
            z.set_option_by_name("PLAIN_PASSWORD", PASSWORD.as_bytes())
                .unwrap();
        }
        (Mech::Curve, Side::Zvtran) => {
            // Both key pairs come from pyzmq: its keys work with zvtran.
            let server_keys = py_keypair(&mut py);
            let client_keys = py_keypair(&mut py);
            let allowed = client_keys.public;
            ctx.set_zap_handler(move |req| match req.client_key() {
                Some(k) if k == allowed => ZapReply::allow(k.to_z85()),
                _ => ZapReply::deny("unknown key"),
            });
            z.set_option(SocketOption::CurveServer(true)).unwrap();
            z.set_option_by_name("CURVE_SECRETKEY", server_keys.secret.to_z85().as_bytes())
                .unwrap();
            py.opt_bytes("CURVE_SERVERKEY", server_keys.public.to_z85().as_bytes());
            py.opt_bytes("CURVE_PUBLICKEY", client_keys.public.to_z85().as_bytes());
            py.opt_bytes("CURVE_SECRETKEY", client_keys.secret.to_z85().as_bytes());
            user = Some(allowed.to_z85());
        }
        (Mech::Curve, Side::Libzmq) => {
            // Both key pairs come from zvtran: its keys work with libzmq.
            let server_keys = KeyPair::generate();
            let client_keys = KeyPair::generate();
            py.ok(&format!("auth curve {}", client_keys.public));
            py.opt("CURVE_SERVER", 1);
            py.opt_bytes("CURVE_SECRETKEY", server_keys.secret.to_z85().as_bytes());
            z.set_option(SocketOption::CurveServerKey(server_keys.public))
                .unwrap();
            z.set_option(SocketOption::CurveSecretKey(client_keys.secret))
                .unwrap();
        }
    }
    if theirs == SocketType::Sub {
        py.opt_bytes("SUBSCRIBE", b"");
    }
    if ours == SocketType::Sub {
        z.subscribe("").unwrap();
    }
    match server {
        Side::Zvtran => {
            let ep = z.bind(&endpoint(transport, tag)).unwrap();
            py.connect(&ep);
        }
        Side::Libzmq => {
            let ep = py.bind(&endpoint(transport, tag));
            z.connect(&ep).unwrap();
        }
    }
    (z, py, user)
}

fn check_user(msg: &Message, user: &Option<String>) {
    if let Some(user) = user {
        assert_eq!(
            msg.property("User-Id").map(|b| b.to_vec()),
            Some(user.as_bytes().to_vec()),
            "User-Id on a message from an authenticated libzmq client"
        );
    }
}

/// Traffic of one pairing, checked in order.
fn exchange(z: &mut Socket, py: &mut PySocket, server: Side, user: &Option<String>) {
    const N: usize = 50;
    z.set_option(SocketOption::RcvTimeo(Some(WAIT))).unwrap();
    match z.socket_type() {
        SocketType::Pull => {
            py.ok(&format!("sendseq {N}"));
            for i in 0..N {
                let m = z.recv().unwrap();
                assert_eq!(m, Message::from(i.to_string()));
                check_user(&m, user);
            }
        }
        SocketType::Push => {
            py.begin(&format!("recvseq {N}"));
            for i in 0..N {
                z.send(Message::from(i.to_string())).unwrap();
            }
            assert_eq!(py.end(), "SEQ OK");
        }
        SocketType::Rep | SocketType::Router => {
            py.begin(&format!("reqseq {N}"));
            for _ in 0..N {
                let m = z.recv().unwrap();
                check_user(&m, user);
                z.send(m).unwrap();
            }
            assert_eq!(py.end(), "SEQ OK");
        }
        SocketType::Req | SocketType::Dealer => {
            py.begin(&format!("echo {N} 10000"));
            for i in 0..N {
                z.send(Message::from(i.to_string())).unwrap();
                assert_eq!(z.recv().unwrap(), Message::from(i.to_string()));
            }
            assert_eq!(py.end(), "OK");
        }
        SocketType::Pub => {
            eventually("the libzmq SUB's subscription", || {
                z.subscribes_received() > 0
            });
            py.begin(&format!("recvseq {N}"));
            for i in 0..N {
                z.send(Message::from(i.to_string())).unwrap();
            }
            assert_eq!(py.end(), "SEQ OK");
        }
        SocketType::Sub => {
            // The libzmq PUB sends "sync" until our subscription has reached it.
            eventually("a first message through the libzmq PUB", || {
                py.send(&[Bytes::from_static(b"sync")]);
                z.recv_timeout(Duration::from_millis(50)).is_ok()
            });
            py.ok(&format!("sendseq {N}"));
            let mut i = 0;
            while i < N {
                let m = z.recv().unwrap();
                if m == Message::from("sync") {
                    continue;
                }
                assert_eq!(m, Message::from(i.to_string()));
                i += 1;
            }
        }
        other => panic!("no exchange for {other}"),
    }
    let _ = server;
}

fn run_matrix(mech: Mech, transport: &str) {
    use SocketType::*;
    let pairs = [(Pull, Push), (Rep, Req), (Router, Dealer), (Pub, Sub)];
    for server in [Side::Zvtran, Side::Libzmq] {
        for types in pairs {
            let tag = format!("{mech:?}-{server:?}-{}-{}", types.0, types.1);
            let ctx = Context::new().unwrap();
            let (mut z, mut py, user) = secured_pair(&ctx, mech, server, transport, types, &tag);
            let events = z.monitor();
            exchange(&mut z, &mut py, server, &user);
            // The handshake was the secured one: no failure on our side.
            assert!(
                !events.try_iter().any(|e| matches!(
                    e.kind,
                    EventKind::HandshakeFailed { .. } | EventKind::HandshakeFailedAuth { .. }
                )),
                "{tag}: a handshake failed"
            );
        }
    }
}

#[test]
fn plain_with_libzmq_over_tcp() {
    run_matrix(Mech::Plain, "tcp");
}

#[test]
fn plain_with_libzmq_over_ipc() {
    run_matrix(Mech::Plain, "ipc");
}

#[test]
fn curve_with_libzmq_over_tcp() {
    run_matrix(Mech::Curve, "tcp");
}

#[test]
fn curve_with_libzmq_over_ipc() {
    run_matrix(Mech::Curve, "ipc");
}

// ---- refusals ----

/// A send from a libzmq client that the server refuses. Between a refused handshake and the
/// reconnection libzmq's PUSH may have no pipe, and a send then blocks: with SNDTIMEO it gives
/// up instead (EAGAIN), which is as good as queued for these tests.
fn send_refused(py: &mut PySocket, line: &str) {
    py.opt("SNDTIMEO", 1000);
    let reply = py.cmd(line);
    assert!(
        reply == "OK" || reply.starts_with("ERR Resource_temporarily_unavailable"),
        "{line}: {reply}"
    );
}

/// A zvtran PULL server that must receive nothing from a libzmq PUSH client.
fn refused_by_zvtran(setup: impl FnOnce(&Context, &mut Socket, &mut PySocket), expect_auth: bool) {
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let mut py = PySocket::new("PUSH");
    py.opt("LINGER", 0);
    setup(&ctx, &mut pull, &mut py);
    let events = pull.monitor();
    assert_eq!(py.cmd("events"), "EVENTS");
    let ep = pull.bind("tcp://127.0.0.1:*").unwrap();
    py.connect(&ep);
    send_refused(&mut py, "sendseq 3");
    if expect_auth {
        wait_event(&events, "authentication failure", |k| {
            matches!(k, EventKind::HandshakeFailedAuth { status: 400, .. })
        });
        let seen = py.cmd("events 5000 HANDSHAKE_FAILED_AUTH");
        assert!(
            seen.contains("HANDSHAKE_FAILED_AUTH:400"),
            "libzmq client events: {seen}"
        );
    } else {
        wait_event(&events, "handshake failure", |k| {
            matches!(k, EventKind::HandshakeFailed { .. })
        });
    }
    assert_eq!(
        pull.recv_timeout(Duration::from_millis(300)),
        Err(RecvError::WouldBlock)
    );
}

/// A zvtran PUSH client whose messages a libzmq PULL server must never see.
fn refused_by_libzmq(setup: impl FnOnce(&mut Socket, &mut PySocket), expect_auth: bool) {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    let mut py = PySocket::new("PULL");
    setup(&mut push, &mut py);
    let ep = py.bind("tcp://127.0.0.1:*");
    let events = push.monitor();
    push.connect(&ep).unwrap();
    push.send(Message::from("must not arrive")).unwrap();
    if expect_auth {
        wait_event(&events, "refusal by the libzmq server", |k| {
            matches!(
                k,
                EventKind::HandshakeFailedAuth {
                    status: 400,
                    no_retry: true,
                    ..
                }
            )
        });
    } else {
        wait_event(&events, "handshake failure", |k| {
            matches!(k, EventKind::HandshakeFailed { .. })
        });
    }
    assert_eq!(py.cmd("recv 300"), "TIMEOUT");
}

#[test]
fn wrong_password_delivers_nothing_either_way() {
    refused_by_zvtran(
        |ctx, pull, py| {
            ctx.set_zap_handler(|req| {
                if req.password() == Some(PASSWORD.as_bytes()) {
                    ZapReply::allow(USER)
                } else {
                    ZapReply::deny("wrong password")
                }
            });
            pull.set_option(SocketOption::PlainServer(true)).unwrap();
            py.opt_bytes("PLAIN_USERNAME", USER.as_bytes());
            py.opt_bytes("PLAIN_PASSWORD", b"guess");
        },
        true,
    );
    refused_by_libzmq(
        |push, py| {
            py.ok(&format!(
                "auth plain {} {}",
                support::hex_frame(USER.as_bytes()),
                support::hex_frame(PASSWORD.as_bytes())
            ));
            py.opt("PLAIN_SERVER", 1);
            push.set_option_by_name("PLAIN_USERNAME", USER.as_bytes())
                .unwrap();
            push.set_option_by_name("PLAIN_PASSWORD", b"guess").unwrap();
        },
        true,
    );
}

#[test]
fn wrong_server_key_delivers_nothing_either_way() {
    refused_by_zvtran(
        |_, pull, py| {
            let server = KeyPair::generate();
            pull.set_option(SocketOption::CurveServer(true)).unwrap();
            pull.set_option(SocketOption::CurveSecretKey(server.secret))
                .unwrap();
            let client = py_keypair(py);
            let wrong = KeyPair::generate().public;
            py.opt_bytes("CURVE_SERVERKEY", wrong.to_z85().as_bytes());
            py.opt_bytes("CURVE_PUBLICKEY", client.public.to_z85().as_bytes());
            py.opt_bytes("CURVE_SECRETKEY", client.secret.to_z85().as_bytes());
        },
        false,
    );
    refused_by_libzmq(
        |push, py| {
            let server = py_keypair(py);
            py.ok("auth curve any");
            py.opt("CURVE_SERVER", 1);
            py.opt_bytes("CURVE_SECRETKEY", server.secret.to_z85().as_bytes());
            let wrong = KeyPair::generate().public;
            push.set_option(SocketOption::CurveServerKey(wrong))
                .unwrap();
        },
        false,
    );
}

#[test]
fn a_denied_client_key_delivers_nothing_either_way() {
    refused_by_zvtran(
        |ctx, pull, py| {
            let server = KeyPair::generate();
            let trusted = KeyPair::generate().public;
            ctx.set_zap_handler(move |req| {
                if req.client_key() == Some(trusted) {
                    ZapReply::allow("trusted")
                } else {
                    ZapReply::deny("unknown key")
                }
            });
            pull.set_option(SocketOption::CurveServer(true)).unwrap();
            pull.set_option(SocketOption::CurveSecretKey(server.secret))
                .unwrap();
            let client = py_keypair(py);
            py.opt_bytes("CURVE_SERVERKEY", server.public.to_z85().as_bytes());
            py.opt_bytes("CURVE_PUBLICKEY", client.public.to_z85().as_bytes());
            py.opt_bytes("CURVE_SECRETKEY", client.secret.to_z85().as_bytes());
        },
        true,
    );
    refused_by_libzmq(
        |push, py| {
            let server = py_keypair(py);
            let trusted = KeyPair::generate().public;
            py.ok(&format!("auth curve {trusted}"));
            py.opt("CURVE_SERVER", 1);
            py.opt_bytes("CURVE_SECRETKEY", server.secret.to_z85().as_bytes());
            push.set_option(SocketOption::CurveServerKey(server.public))
                .unwrap();
            push.set_option(SocketOption::CurveSecretKey(KeyPair::generate().secret))
                .unwrap();
        },
        true,
    );
}

#[test]
fn keys_from_zvtran_keygen_work_with_libzmq() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .arg("keygen")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} line in {text:?}"))
            .trim()
            .to_string()
    };
    let (public, secret) = (field("public:"), field("secret:"));
    assert_eq!(public.len(), 40);
    assert_eq!(secret.len(), 40);
    // A libzmq CURVE server with the keygen secret; a zvtran client that knows the public key.
    let mut py = PySocket::new("PULL");
    py.opt("CURVE_SERVER", 1);
    py.opt_bytes("CURVE_SECRETKEY", secret.as_bytes());
    let ep = py.bind("tcp://127.0.0.1:*");
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option_by_name("CURVE_SERVERKEY", public.as_bytes())
        .unwrap();
    push.connect(&ep).unwrap();
    push.send(Message::from("keygen works")).unwrap();
    let got = py.recv(10_000).expect("a message over CURVE");
    assert_eq!(got, vec![Bytes::from_static(b"keygen works")]);
}

/// `zvtran cat -b -r PULL` with these options, until one message arrives.
fn cat_server(options: &[String]) -> (std::process::Child, String) {
    let endpoint = format!("tcp://127.0.0.1:{}", support::free_port());
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_zvtran"));
    cmd.args([
        "cat",
        "-b",
        "-r",
        "PULL",
        &endpoint,
        "-n",
        "1",
        "--timeout",
        "10000",
    ]);
    for o in options {
        cmd.args(["-o", o]);
    }
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (child, endpoint)
}

#[test]
fn cat_as_a_plain_server_accepts_exactly_its_user() {
    let (child, endpoint) = cat_server(&[
        "PLAIN_SERVER=1".into(),
        "PLAIN_USERNAME=admin".into(),
        "PLAIN_PASSWORD=secret".into(),
    ]);
    for (user, password, body) in [
        ("admin", "guess", "wrong password"),
        ("root", "secret", "wrong user"),
    ] {
        let mut py = PySocket::new("PUSH");
        py.opt("LINGER", 0);
        py.opt_bytes("PLAIN_USERNAME", user.as_bytes());
        py.opt_bytes("PLAIN_PASSWORD", password.as_bytes());
        assert_eq!(py.cmd("events"), "EVENTS");
        py.connect(&endpoint);
        send_refused(
            &mut py,
            &format!("send {}", support::hex_frame(body.as_bytes())),
        );
        let seen = py.cmd("events 10000 HANDSHAKE_FAILED_AUTH");
        assert!(seen.contains("HANDSHAKE_FAILED_AUTH:400"), "{user}: {seen}");
    }
    let mut py = PySocket::new("PUSH");
    py.opt_bytes("PLAIN_USERNAME", b"admin");
    py.opt_bytes("PLAIN_PASSWORD", b"secret");
    py.connect(&endpoint);
    py.send(&[Bytes::from_static(b"let me in")]);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "let me in\n");
}

#[test]
fn cat_as_a_curve_server_accepts_any_client_that_knows_its_key() {
    let server = KeyPair::generate();
    let (child, endpoint) = cat_server(&[
        "CURVE_SERVER=1".into(),
        format!("CURVE_SECRETKEY={}", server.secret.to_z85()),
    ]);
    // A client with a wrong server key gets nowhere; one with the right key gets through.
    let mut stranger = PySocket::new("PUSH");
    stranger.opt("LINGER", 0);
    let keys = py_keypair(&mut stranger);
    stranger.opt_bytes(
        "CURVE_SERVERKEY",
        KeyPair::generate().public.to_z85().as_bytes(),
    );
    stranger.opt_bytes("CURVE_PUBLICKEY", keys.public.to_z85().as_bytes());
    stranger.opt_bytes("CURVE_SECRETKEY", keys.secret.to_z85().as_bytes());
    stranger.connect(&endpoint);
    send_refused(
        &mut stranger,
        &format!("send {}", support::hex_frame(b"wrong key")),
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut py = PySocket::new("PUSH");
    let keys = py_keypair(&mut py);
    py.opt_bytes("CURVE_SERVERKEY", server.public.to_z85().as_bytes());
    py.opt_bytes("CURVE_PUBLICKEY", keys.public.to_z85().as_bytes());
    py.opt_bytes("CURVE_SECRETKEY", keys.secret.to_z85().as_bytes());
    py.connect(&endpoint);
    py.send(&[Bytes::from_static(b"right key")]);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "right key\n");
}
