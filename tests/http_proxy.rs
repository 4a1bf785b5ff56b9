//! Stream transports through a real HTTP proxy (Debian's tinyproxy, started here): tcp and
//! tls+tcp tunnel with CONNECT, reconnect through the proxy when the peer comes late, and a
//! proxy's refusal is a fatal handshake error.

#[path = "support/pki.rs"]
mod pki;
mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{eventually, wait_event};
use zvtran::{Context, EventKind, Message, SocketType};

/// A tinyproxy on a free loopback port; `connect_ports` limits CONNECT (none: any port).
struct Proxy {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Proxy {
    fn start(test: &str, connect_ports: &[u16]) -> Proxy {
        let dir = std::env::temp_dir().join(format!("zvtran-proxy-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = support::free_port();
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 600\nMaxClients 50\nAllow 127.0.0.1\n\
             LogFile \"{log}\"\nLogLevel Connect\nPidFile \"{pid}\"\n",
            log = dir.join("log").display(),
            pid = dir.join("pid").display(),
        );
        for p in connect_ports {
            conf.push_str(&format!("ConnectPort {p}\n"));
        }
        std::fs::write(dir.join("conf"), conf).unwrap();
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(dir.join("conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start tinyproxy ({e}): install it with scripts/system-deps")
            });
        eventually("tinyproxy to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Proxy { child, dir, port }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn tcp_through_the_proxy_and_a_peer_that_comes_late() {
    let proxy = Proxy::start("tcp", &[]);
    let ctx = Context::new().unwrap();
    let port = support::free_port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    // Connect first: the proxy cannot reach the peer yet and says so; the core retries.
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option_by_name("HTTP_PROXY", proxy.address().as_bytes())
        .unwrap();
    push.connect(&endpoint).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind(&endpoint).unwrap();
    support::push_pull_in_order(&mut push, &mut pull, "via proxy", 1000);
    let log = proxy.log();
    assert!(
        log.contains(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1")),
        "the proxy carried it: {log}"
    );
}

#[test]
fn tls_through_the_proxy() {
    let proxy = Proxy::start("tls", &[]);
    let pki = pki::Pki::new();
    let ctx = Context::new().unwrap();
    let mut rep = ctx.socket(SocketType::Rep).unwrap();
    rep.set_option_by_name("TLS_CERT_CHAIN", pki.server_cert.as_bytes())
        .unwrap();
    rep.set_option_by_name("TLS_PRIVATE_KEY", pki.server_key.as_bytes())
        .unwrap();
    let endpoint = rep.bind("tls+tcp://127.0.0.1:*").unwrap();
    let mut req = ctx.socket(SocketType::Req).unwrap();
    req.set_option_by_name("TLS_TRUSTED_ROOTS", pki.ca.as_bytes())
        .unwrap();
    req.set_option_by_name(
        "HTTP_PROXY",
        format!("http://{}", proxy.address()).as_bytes(),
    )
    .unwrap();
    req.connect(&endpoint).unwrap();
    support::req_rep_rounds(&mut req, &mut rep, 50);
    assert!(proxy.log().contains("CONNECT 127.0.0.1:"));
}

#[test]
fn a_proxy_that_refuses_is_a_fatal_handshake_error() {
    // This proxy tunnels to port 443 only: 403 for anything else.
    let proxy = Proxy::start("refuses", &[443]);
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let endpoint = pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option_by_name("HTTP_PROXY", proxy.address().as_bytes())
        .unwrap();
    let events = push.monitor();
    push.connect(&endpoint).unwrap();
    wait_event(&events, "HandshakeFailed for the refused CONNECT", |k| {
        matches!(k, EventKind::HandshakeFailed { reason, no_retry: true }
            if reason.contains("refused CONNECT"))
    });
    push.set_option(zvtran::SocketOption::SndTimeo(Some(Duration::from_millis(
        100,
    ))))
    .unwrap();
    let _ = push.send(Message::from("never"));
    assert!(pull.recv_timeout(Duration::from_millis(300)).is_err());
}

#[test]
fn a_bad_proxy_option_is_a_clear_error() {
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option_by_name("HTTP_PROXY", b"no-port-here")
        .unwrap();
    let err = push.connect("tcp://127.0.0.1:5555").unwrap_err();
    assert!(err.to_string().contains("HTTP_PROXY"), "{err}");
}

#[test]
fn websocket_through_the_proxy() {
    let proxy = Proxy::start("ws", &[]);
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let endpoint = pull.bind("ws://127.0.0.1:*/zmq").unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option_by_name("HTTP_PROXY", proxy.address().as_bytes())
        .unwrap();
    push.connect(&endpoint).unwrap();
    support::push_pull_in_order(&mut push, &mut pull, "ws via proxy", 100);
    assert!(proxy.log().contains("CONNECT 127.0.0.1:"));
}
