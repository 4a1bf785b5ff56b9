//! `zvtran probe`: run the ZMTP handshake with one peer, show what it announced, exchange messages.

use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use bytes::Bytes;
use zvtran::drivers::blocking::{BlockingConnection, BlockingError, TimeoutStream};
use zvtran::drivers::endpoint::Endpoint;
use zvtran::zmtp::{Config, Message, Role, SocketType};

use crate::exit;
use crate::text;

/// Connect to (or accept one connection from) a ZeroMQ peer, run the ZMTP 3.1 handshake, print
/// what the peer announced, then send and receive messages in the `cat` line format.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Our socket type, announced in READY (PAIR, PUB, SUB, REQ, REP, DEALER, ROUTER, PUSH,
    /// PULL, XPUB, XSUB, ...).
    #[arg(short = 't', long = "type", default_value = "DEALER", value_parser = parse_type)]
    socket_type: SocketType,
    /// Accept one connection at ENDPOINT instead of connecting to it.
    #[arg(short, long)]
    bind: bool,
    /// A message to send: frames separated by TAB, with \\ \t \n \0 \xHH escapes. Repeatable.
    #[arg(short, long = "send", value_name = "MESSAGE")]
    send: Vec<String>,
    /// Print this many received messages, one per line.
    #[arg(short = 'n', long = "recv", value_name = "COUNT", default_value_t = 0)]
    recv: usize,
    /// Subscribe to this prefix after the handshake (for SUB and XSUB). Repeatable.
    #[arg(long, value_name = "PREFIX")]
    subscribe: Vec<String>,
    /// Our routing id (sent as Identity by REQ, DEALER and ROUTER).
    #[arg(long)]
    routing_id: Option<String>,
    /// Send a heartbeat PING this often, in milliseconds.
    #[arg(long, value_name = "MS")]
    heartbeat_ivl: Option<u64>,
    /// Give up on any single wait after this many milliseconds (exit 3).
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    timeout: u64,
    /// tcp://host:port or ipc://path.
    endpoint: String,
}

fn parse_type(s: &str) -> Result<SocketType, String> {
    SocketType::from_name(s).ok_or_else(|| format!("unknown socket type {s:?}"))
}

type Failure = (u8, String);

pub fn run(args: Args) -> Result<(), Failure> {
    let endpoint = Endpoint::parse(&args.endpoint).map_err(|e| (exit::USAGE, e.to_string()))?;
    let messages = args
        .send
        .iter()
        .map(|line| text::decode(line.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (exit::USAGE, format!("--send: {e}")))?;
    let role = if args.bind {
        Role::Server
    } else {
        Role::Client
    };
    let mut config = Config::new(args.socket_type, role);
    config.routing_id = args.routing_id.as_ref().map(|id| Bytes::from(id.clone()));
    config.heartbeat_interval = args.heartbeat_ivl.map(Duration::from_millis);
    let runtime = |e: std::io::Error| (exit::FAILURE, format!("{endpoint}: {e}"));
    match (&endpoint, args.bind) {
        (Endpoint::Tcp { .. }, false) => {
            let addr = endpoint.socket_addr_string().unwrap_or_default();
            let stream = TcpStream::connect(addr).map_err(runtime)?;
            stream.set_nodelay(true).map_err(runtime)?;
            session(stream, config, &args, messages)
        }
        (Endpoint::Tcp { host, .. }, true) => {
            let addr = endpoint.socket_addr_string().unwrap_or_default();
            let listener = TcpListener::bind(addr).map_err(runtime)?;
            let port = listener.local_addr().map_err(runtime)?.port();
            let bound = Endpoint::Tcp {
                host: host.clone(),
                port,
            };
            crate::note!("bound {bound}");
            let (stream, _) = listener.accept().map_err(runtime)?;
            stream.set_nodelay(true).map_err(runtime)?;
            session(stream, config, &args, messages)
        }
        (Endpoint::Ipc(path), false) => {
            let stream = UnixStream::connect(path).map_err(runtime)?;
            session(stream, config, &args, messages)
        }
        (Endpoint::Ipc(path), true) => {
            let listener = UnixListener::bind(path).map_err(runtime)?;
            crate::note!("bound {endpoint}");
            let accepted = listener.accept().map_err(runtime);
            let _ = std::fs::remove_file(path);
            session(accepted?.0, config, &args, messages)
        }
    }
}

fn session<S: TimeoutStream>(
    stream: S,
    config: Config,
    args: &Args,
    messages: Vec<Message>,
) -> Result<(), Failure> {
    let wait = Duration::from_millis(args.timeout);
    let mut conn =
        BlockingConnection::new(stream, config).map_err(|e| (exit::USAGE, e.to_string()))?;
    let peer = conn.handshake(wait).map_err(failure)?;
    println!(
        "peer: {} over ZMTP {} (negotiated {})",
        peer.socket_type,
        peer.version,
        conn.connection().version()
    );
    for (name, value) in peer.metadata.iter() {
        let value = text::encode(&Message::from(value.clone()));
        println!("peer property {name}={value}");
    }
    for prefix in &args.subscribe {
        conn.subscribe(prefix.as_bytes()).map_err(failure)?;
    }
    for msg in messages {
        let line = text::encode(&msg);
        conn.send(msg).map_err(failure)?;
        println!("sent: {line}");
    }
    for _ in 0..args.recv {
        let msg = conn.recv(wait).map_err(failure)?;
        println!("received: {}", text::encode(&msg));
    }
    Ok(())
}

fn failure(e: BlockingError) -> Failure {
    match e {
        BlockingError::Timeout => (exit::TIMEOUT, "timed out".into()),
        BlockingError::Usage(e) => (exit::USAGE, e.to_string()),
        e => (exit::FAILURE, e.to_string()),
    }
}
