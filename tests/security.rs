//! PLAIN, CURVE and ZAP between zvtran sockets: handlers in Rust and at inproc://zeromq.zap.01,
//! libzmq's no-handler defaults, refusals seen as monitor events, properties on messages, and
//! option errors.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::wait_event;
use zvtran::zmtp;
use zvtran::{
    Context, Error, EventKind, KeyPair, Message, RecvError, SocketOption, SocketType, ZapReply,
};

const WAIT: Duration = Duration::from_secs(5);

fn plain_client(ctx: &Context, user: &str, password: &str) -> zvtran::Socket {
    let mut s = ctx.socket(SocketType::Push).unwrap();
    // Refused clients keep their message: without LINGER 0 the context would wait for ever.
    s.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    s.set_option_by_name("PLAIN_USERNAME", user.as_bytes())
        .unwrap();
    s.set_option_by_name("PLAIN_PASSWORD", password.as_bytes())
        .unwrap();
    s
}

#[test]
fn plain_with_a_rust_handler_admits_the_right_user_and_tells_the_socket_who_it_is() {
    let ctx = Context::new().unwrap();
    ctx.set_zap_handler(|req| match (req.username(), req.password()) {
        (Some(b"admin"), Some(b"secret")) => {
            ZapReply::allow("admin").with_property("X-Role", "operator")
        }
        _ => ZapReply::deny("wrong user name or password"),
    });
    let mut server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option(SocketOption::PlainServer(true)).unwrap();
    server
        .set_option(SocketOption::RcvTimeo(Some(WAIT)))
        .unwrap();
    let server_events = server.monitor();
    let endpoint = server.bind("tcp://127.0.0.1:*").unwrap();

    // Wrong password first: refused with 400, and the client does not try again.
    let mut bad = plain_client(&ctx, "admin", "guess");
    let bad_events = bad.monitor();
    bad.connect(&endpoint).unwrap();
    bad.send(Message::from("must not arrive")).unwrap();
    wait_event(&bad_events, "client auth failure", |k| {
        matches!(
            k,
            EventKind::HandshakeFailedAuth {
                status: 400,
                no_retry: true,
                ..
            }
        )
    });
    wait_event(&server_events, "server auth failure", |k| {
        matches!(k, EventKind::HandshakeFailedAuth { status: 400, .. })
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !bad_events
            .try_iter()
            .any(|e| matches!(e.kind, EventKind::Connected)),
        "a client refused with 400 must not reconnect"
    );

    let mut good = plain_client(&ctx, "admin", "secret");
    good.connect(&endpoint).unwrap();
    good.send(Message::from("hello")).unwrap();
    let got = server.recv().unwrap();
    assert_eq!(got, Message::from("hello"));
    assert_eq!(got.property("User-Id").unwrap(), "admin");
    assert_eq!(got.property("x-role").unwrap(), "operator");
    assert_eq!(got.property("Socket-Type").unwrap(), "PUSH");
    assert_eq!(got.property("Peer-Address").unwrap(), "127.0.0.1");
    // Nothing from the refused client ever arrives.
    assert_eq!(
        server.recv_timeout(Duration::from_millis(200)),
        Err(RecvError::WouldBlock)
    );
}

#[test]
fn a_plain_server_without_a_handler_refuses_everyone() {
    let ctx = Context::new().unwrap();
    let mut server = ctx.socket(SocketType::Pull).unwrap();
    server.set_option_by_name("PLAIN_SERVER", b"1").unwrap();
    let events = server.monitor();
    let endpoint = server.bind("tcp://127.0.0.1:*").unwrap();
    let mut client = plain_client(&ctx, "anyone", "anything");
    client.connect(&endpoint).unwrap();
    client.send(Message::from("no")).unwrap();
    wait_event(&events, "handshake failure", |k| {
        matches!(k, EventKind::HandshakeFailed { .. })
    });
    assert_eq!(
        server.recv_timeout(Duration::from_millis(300)),
        Err(RecvError::WouldBlock)
    );
}

fn curve_server(ctx: &Context, keys: &KeyPair, socket_type: SocketType) -> zvtran::Socket {
    let mut s = ctx.socket(socket_type).unwrap();
    s.set_option(SocketOption::CurveServer(true)).unwrap();
    s.set_option(SocketOption::CurveSecretKey(keys.secret.clone()))
        .unwrap();
    s
}

fn curve_client(
    ctx: &Context,
    keys: &KeyPair,
    server: &KeyPair,
    socket_type: SocketType,
) -> zvtran::Socket {
    let mut s = ctx.socket(socket_type).unwrap();
    s.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    s.set_option(SocketOption::CurveServerKey(server.public))
        .unwrap();
    s.set_option(SocketOption::CurvePublicKey(keys.public))
        .unwrap();
    s.set_option(SocketOption::CurveSecretKey(keys.secret.clone()))
        .unwrap();
    s
}

#[test]
fn curve_without_a_handler_accepts_any_client_that_knows_the_server_key() {
    let ctx = Context::new().unwrap();
    let server_keys = KeyPair::generate();
    let mut rep = curve_server(&ctx, &server_keys, SocketType::Rep);
    let endpoint = rep.bind("tcp://127.0.0.1:*").unwrap();
    let client_keys = KeyPair::generate();
    let mut req = curve_client(&ctx, &client_keys, &server_keys, SocketType::Req);
    req.connect(&endpoint).unwrap();
    for i in 0..50 {
        let body = format!("request {i}").repeat(i + 1);
        req.send(Message::from(body.clone())).unwrap();
        let got = rep.recv_timeout(WAIT).unwrap();
        assert_eq!(got, Message::from(body.clone()));
        // Without a handler the user id is empty, but the connection is still secured.
        assert_eq!(got.property("Socket-Type").unwrap(), "REQ");
        rep.send(got).unwrap();
        assert_eq!(req.recv_timeout(WAIT).unwrap(), Message::from(body));
    }

    // A client with the wrong server key never gets through.
    let wrong = KeyPair::generate();
    let mut lost = curve_client(&ctx, &client_keys, &wrong, SocketType::Req);
    let events = lost.monitor();
    lost.connect(&endpoint).unwrap();
    lost.send(Message::from("lost")).unwrap();
    wait_event(&events, "handshake failure", |k| {
        matches!(k, EventKind::HandshakeFailed { .. })
    });
    assert_eq!(
        rep.recv_timeout(Duration::from_millis(300)),
        Err(RecvError::WouldBlock)
    );
}

#[test]
fn a_classic_handler_at_inproc_zeromq_zap_01_decides_by_client_key() {
    let ctx = Context::new().unwrap();
    let allowed = KeyPair::generate();
    let denied = KeyPair::generate();
    let mut handler = ctx.socket(SocketType::Router).unwrap();
    handler.bind(zvtran::ZAP_ENDPOINT).unwrap();
    let allowed_key = Bytes::copy_from_slice(allowed.public.as_bytes());
    let requests = std::thread::spawn(move || {
        let mut seen = Vec::new();
        while let Ok(req) = handler.recv_timeout(WAIT) {
            // [routing id] [empty] 1.0 id domain address identity mechanism key
            let f = req.frames().to_vec();
            assert_eq!(f.len(), 9, "{f:?}");
            assert_eq!(f[2], "1.0");
            assert_eq!(f[7], "CURVE");
            let ok = f[8] == allowed_key;
            let mut meta = zmtp::Metadata::new();
            meta.insert("X-Shard", "7").unwrap();
            let reply = Message::from_frames([
                f[0].clone(),
                Bytes::new(),
                Bytes::from_static(b"1.0"),
                f[3].clone(),
                Bytes::from_static(if ok { b"200" } else { b"400" }),
                Bytes::from_static(b"checked"),
                Bytes::from_static(if ok { b"alice" } else { b"" }),
                zvtran::encode_zap_metadata(&meta),
            ]);
            handler.send(reply).unwrap();
            seen.push((f[4].clone(), f[5].clone(), ok));
            if seen.len() == 2 {
                break;
            }
        }
        seen
    });

    let server_keys = KeyPair::generate();
    let mut pull = curve_server(&ctx, &server_keys, SocketType::Pull);
    pull.set_option(SocketOption::ZapDomain("global".into()))
        .unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap();

    let mut no = curve_client(&ctx, &denied, &server_keys, SocketType::Push);
    let no_events = no.monitor();
    no.connect(&endpoint).unwrap();
    no.send(Message::from("from the denied key")).unwrap();
    wait_event(&no_events, "denied", |k| {
        matches!(k, EventKind::HandshakeFailedAuth { status: 400, .. })
    });

    let mut yes = curve_client(&ctx, &allowed, &server_keys, SocketType::Push);
    yes.connect(&endpoint).unwrap();
    yes.send(Message::from("from the allowed key")).unwrap();
    let got = pull.recv_timeout(WAIT).unwrap();
    assert_eq!(got, Message::from("from the allowed key"));
    assert_eq!(got.property("User-Id").unwrap(), "alice");
    assert_eq!(got.property("X-Shard").unwrap(), "7");
    assert_eq!(
        pull.recv_timeout(Duration::from_millis(200)),
        Err(RecvError::WouldBlock)
    );

    let seen = requests.join().unwrap();
    assert_eq!(seen.len(), 2);
    for (domain, address, _) in &seen {
        assert_eq!(domain, "global");
        assert_eq!(address, "127.0.0.1");
    }
}

#[test]
fn null_with_a_zap_domain_asks_the_handler_and_enforce_refuses_without_one() {
    let ctx = Context::new().unwrap();
    ctx.set_zap_handler(|req| {
        assert_eq!(req.mechanism.to_string(), "NULL");
        if req.domain == "open" {
            ZapReply::allow("guest")
        } else {
            ZapReply::deny("closed domain")
        }
    });
    let mut open = ctx.socket(SocketType::Pull).unwrap();
    open.set_option(SocketOption::ZapDomain("open".into()))
        .unwrap();
    let ep = open.bind("tcp://127.0.0.1:*").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&ep).unwrap();
    push.send(Message::from("hi")).unwrap();
    let got = open.recv_timeout(WAIT).unwrap();
    assert_eq!(got.property("User-Id").unwrap(), "guest");

    let mut closed = ctx.socket(SocketType::Pull).unwrap();
    closed
        .set_option(SocketOption::ZapDomain("closed".into()))
        .unwrap();
    let events = closed.monitor();
    let ep = closed.bind("tcp://127.0.0.1:*").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    push.connect(&ep).unwrap();
    push.send(Message::from("no")).unwrap();
    wait_event(&events, "denied", |k| {
        matches!(k, EventKind::HandshakeFailedAuth { status: 400, .. })
    });

    // Another context has no handler: ZAP_ENFORCE_DOMAIN refuses, plain NULL does not.
    let bare = Context::new().unwrap();
    let mut strict = bare.socket(SocketType::Pull).unwrap();
    strict
        .set_option(SocketOption::ZapDomain("any".into()))
        .unwrap();
    strict
        .set_option(SocketOption::ZapEnforceDomain(true))
        .unwrap();
    let events = strict.monitor();
    let ep = strict.bind("tcp://127.0.0.1:*").unwrap();
    let mut push = bare.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::Linger(Some(Duration::ZERO)))
        .unwrap();
    push.connect(&ep).unwrap();
    push.send(Message::from("no")).unwrap();
    wait_event(&events, "refused without a handler", |k| {
        matches!(k, EventKind::HandshakeFailedAuth { status: 500, .. })
    });
    assert_eq!(
        strict.recv_timeout(Duration::from_millis(200)),
        Err(RecvError::WouldBlock)
    );
}

#[test]
fn bad_security_options_are_refused_with_a_reason() {
    let ctx = Context::new().unwrap();
    let mut s = ctx.socket(SocketType::Pull).unwrap();
    s.set_option(SocketOption::CurveServer(true)).unwrap();
    let err = s.bind("tcp://127.0.0.1:*").unwrap_err();
    assert!(matches!(err, Error::Security(_)), "{err}");
    assert!(err.to_string().contains("CURVE_SECRETKEY"), "{err}");

    let keys = KeyPair::generate();
    let other = KeyPair::generate();
    s.set_option(SocketOption::CurveSecretKey(keys.secret.clone()))
        .unwrap();
    s.set_option(SocketOption::CurvePublicKey(other.public))
        .unwrap();
    let err = s.bind("tcp://127.0.0.1:*").unwrap_err();
    assert!(err.to_string().contains("is not the public key"), "{err}");

    let mut c = ctx.socket(SocketType::Push).unwrap();
    c.set_option(SocketOption::CurvePublicKey(keys.public))
        .unwrap();
    let err = c.connect("tcp://127.0.0.1:1").unwrap_err();
    assert!(err.to_string().contains("without CURVE_SECRETKEY"), "{err}");
    c.set_option(SocketOption::CurveSecretKey(keys.secret.clone()))
        .unwrap();
    let err = c.connect("tcp://127.0.0.1:1").unwrap_err();
    assert!(err.to_string().contains("CURVE_SERVERKEY"), "{err}");

    assert!(
        s.set_option_by_name("CURVE_SERVERKEY", b"short")
            .unwrap_err()
            .to_string()
            .contains("32 octets or 40 Z85")
    );
    assert!(
        s.set_option_by_name("PLAIN_USERNAME", &[b'x'; 300])
            .is_err()
    );
}

#[test]
fn curve_over_ipc_and_in_both_directions_with_dealer_and_router() {
    let ctx = Context::new().unwrap();
    let server_keys = KeyPair::generate();
    let mut router = curve_server(&ctx, &server_keys, SocketType::Router);
    let dir = std::env::temp_dir().join(format!("zvtran-sec-{}", std::process::id()));
    let endpoint = router.bind(&format!("ipc://{}", dir.display())).unwrap();
    let mut dealer = curve_client(&ctx, &KeyPair::generate(), &server_keys, SocketType::Dealer);
    dealer
        .set_option(SocketOption::RoutingId(Bytes::from_static(b"d1")))
        .unwrap();
    dealer.connect(&endpoint).unwrap();
    for i in 0..100u32 {
        dealer.send(Message::from(i.to_string())).unwrap();
        let got = router.recv_timeout(WAIT).unwrap();
        assert_eq!(got.frames()[0], "d1");
        assert_eq!(got.frames()[1], i.to_string());
        router.send(got).unwrap();
        assert_eq!(
            dealer.recv_timeout(WAIT).unwrap(),
            Message::from(i.to_string())
        );
    }
}

/// The security example in README.md, kept compiling and passing.
#[test]
fn readme_security_example() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let server_keys = KeyPair::generate();
    let mut pull = ctx.socket(SocketType::Pull)?;
    pull.set_option(SocketOption::CurveServer(true))?;
    pull.set_option(SocketOption::CurveSecretKey(server_keys.secret.clone()))?;
    let endpoint = pull.bind("tcp://127.0.0.1:*")?;

    let mut push = ctx.socket(SocketType::Push)?;
    push.set_option_by_name("CURVE_SERVERKEY", server_keys.public.to_z85().as_bytes())?;
    push.connect(&endpoint)?;
    push.send("secret")?;
    assert_eq!(pull.recv()?.frames()[0], "secret");

    ctx.set_zap_handler(|req| match (req.username(), req.password()) {
        (Some(b"admin"), Some(b"pw")) => ZapReply::allow("admin").with_property("X-Role", "ops"),
        _ => ZapReply::deny("wrong user name or password"),
    });
    Ok(())
}
