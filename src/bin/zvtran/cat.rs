//! `zvtran cat`: messages between stdin/stdout and a ZeroMQ socket, one message per line.

use std::io::{self, BufRead, Write};
use std::time::Duration;

use zvtran::drivers::driver::DriverError;
use zvtran::{
    Announcer, Context, Error, Message, RecvError, SendError, Socket, SocketType, ZapReply,
};

use crate::exit;
use crate::text;

/// Send stdin lines to, or print messages from, a ZeroMQ socket. One message per line (or per
/// NUL with -0); frames separated by TAB; inside a frame \\ \t \n \0 and \xHH escapes.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("direction").required(true).args(["read", "write"]))]
pub struct Args {
    /// Receive messages and print them.
    #[arg(short = 'r', long = "read")]
    read: bool,
    /// Read messages from stdin and send them.
    #[arg(short = 'w', long = "write")]
    write: bool,
    /// Bind every ENDPOINT.
    #[arg(short = 'b', conflicts_with = "connect_all")]
    bind_all: bool,
    /// Connect every ENDPOINT.
    #[arg(short = 'c')]
    connect_all: bool,
    /// Bind this endpoint (repeatable, mixes with --connect).
    #[arg(long = "bind", value_name = "ENDPOINT")]
    bind: Vec<String>,
    /// Connect to this endpoint (repeatable).
    #[arg(long = "connect", value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// A socket option: libzmq's name without ZMQ_, any case; the value takes the escapes.
    /// Security: a server takes PLAIN_SERVER=1 with PLAIN_USERNAME and PLAIN_PASSWORD (it
    /// accepts exactly that user), or CURVE_SERVER=1 with CURVE_SECRETKEY (it accepts any
    /// client that knows its public key); a client takes PLAIN_USERNAME and PLAIN_PASSWORD, or
    /// CURVE_SERVERKEY (and optionally its own CURVE_SECRETKEY). Keys: `zvtran keygen`.
    #[arg(short = 'o', value_name = "NAME=VALUE")]
    options: Vec<String>,
    /// With -r, exit after COUNT messages; with -w, stop after COUNT messages.
    #[arg(short = 'n', value_name = "COUNT")]
    count: Option<u64>,
    /// Messages end with NUL instead of a newline.
    #[arg(short = '0')]
    nul: bool,
    /// With -r, exit 3 if no message arrives within MS of the last one (or of the start).
    #[arg(long, value_name = "MS")]
    timeout: Option<u64>,
    /// Before the first send, wait for N peers to complete their handshake (PUB and XPUB: for
    /// N subscriptions; RADIO: for N joins).
    #[arg(long = "wait-peers", value_name = "N")]
    wait_peers: Option<u64>,
    /// REP: answer each request with itself.
    #[arg(long)]
    echo: bool,
    /// Print monitor events on stderr.
    #[arg(short = 'v')]
    verbose: bool,
    /// Announce every bound endpoint under the service NAME on UDP beacons (port 5670, or
    /// PORT), so peers can connect to `beacon://NAME[:PORT]`; a wildcard host is reached at
    /// the beacon's source address.
    #[arg(long, value_name = "NAME[:PORT]")]
    announce: Option<String>,
    /// The socket type: PAIR, PUB, SUB, XPUB, XSUB, REQ, REP, DEALER, ROUTER, PUSH, PULL, or a
    /// draft type (CLIENT, SERVER, RADIO, DISH, SCATTER, GATHER, PEER, CHANNEL). RADIO -w takes
    /// the group as the first frame; DISH joins groups with -o JOIN=group and prints the group
    /// first; SERVER and PEER show and take the routing id first.
    #[arg(value_name = "TYPE")]
    socket_type: String,
    /// Endpoints for -b or -c.
    #[arg(value_name = "ENDPOINT")]
    endpoints: Vec<String>,
}

type Failure = (u8, String);

fn usage(message: impl Into<String>) -> Failure {
    (exit::USAGE, message.into())
}

fn runtime(message: impl Into<String>) -> Failure {
    (exit::FAILURE, message.into())
}

/// A bind or connect error: a bad endpoint is the user's, anything else the system's.
fn endpoint_error(e: Error) -> Failure {
    match e {
        Error::Driver(
            DriverError::Endpoint(_)
            | DriverError::UnknownScheme { .. }
            | DriverError::Options { .. }
            | DriverError::NotSupported { .. },
        )
        | Error::Security(_) => usage(e.to_string()),
        e => runtime(e.to_string()),
    }
}

pub fn run(args: Args) -> Result<(), Failure> {
    let socket_type = SocketType::from_name(&args.socket_type).ok_or_else(|| {
        let known: Vec<&str> = SocketType::ALL.iter().map(|t| t.as_str()).collect();
        usage(format!(
            "unknown socket type {:?} ({})",
            args.socket_type,
            known.join(", ")
        ))
    })?;
    check_direction(socket_type, args.write)?;
    if !args.endpoints.is_empty() && !args.bind_all && !args.connect_all {
        return Err(usage(format!(
            "endpoint {:?} needs -b (bind) or -c (connect)",
            args.endpoints[0]
        )));
    }
    let mut binds = args.bind.clone();
    let mut connects = args.connect.clone();
    if args.bind_all {
        binds.extend(args.endpoints.iter().cloned());
    } else {
        connects.extend(args.endpoints.iter().cloned());
    }
    if binds.is_empty() && connects.is_empty() {
        return Err(usage(
            "no endpoint: give ENDPOINT with -b or -c, or --bind/--connect",
        ));
    }

    let ctx = Context::new().map_err(|e| runtime(e.to_string()))?;
    let mut socket = ctx
        .socket(socket_type)
        .map_err(|e| runtime(e.to_string()))?;
    let mut subscribed = false;
    let mut parsed = Vec::new();
    for option in &args.options {
        let (name, value) = option
            .split_once('=')
            .ok_or_else(|| usage(format!("option {option:?} is not NAME=VALUE")))?;
        let value =
            text::unescape(value.as_bytes()).map_err(|e| usage(format!("option {name}: {e}")))?;
        let name = name.trim_start_matches("ZMQ_").to_ascii_uppercase();
        parsed.push((name, value));
    }
    // A PLAIN server given a user name and password accepts exactly those: they go to a
    // built-in ZAP handler instead of the socket (where they would make it a client).
    let plain_server = parsed
        .iter()
        .any(|(n, v)| n == "PLAIN_SERVER" && v.as_slice() == b"1");
    let mut credentials: (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    for (name, value) in parsed {
        match name.as_str() {
            "PLAIN_USERNAME" if plain_server => credentials.0 = Some(value),
            "PLAIN_PASSWORD" if plain_server => credentials.1 = Some(value),
            _ => {
                subscribed |= name == "SUBSCRIBE";
                socket
                    .set_option_by_name(&name, &value)
                    .map_err(|e| usage(e.to_string()))?;
            }
        }
    }
    if let (Some(user), Some(password)) = credentials {
        ctx.set_zap_handler(move |req| {
            if req.username() == Some(&user[..]) && req.password() == Some(&password[..]) {
                ZapReply::allow(user.clone())
            } else {
                ZapReply::deny("wrong user name or password")
            }
        });
    } else if credentials != (None, None) {
        return Err(usage(
            "a PLAIN server needs both PLAIN_USERNAME and PLAIN_PASSWORD to accept a user",
        ));
    }
    // A SUB that subscribed to nothing would receive nothing: subscribe to everything.
    if socket_type == SocketType::Sub && !subscribed {
        socket.subscribe("").map_err(|e| runtime(e.to_string()))?;
    }
    if args.verbose {
        let events = socket.monitor();
        std::thread::spawn(move || {
            for e in events {
                crate::note!("event: {e}");
            }
        });
    }
    let service = args.announce.as_deref().map(service_name).transpose()?;
    if service.is_some() && binds.is_empty() {
        return Err(usage("--announce needs an endpoint to bind"));
    }
    let mut announcers = Vec::new();
    for ep in &binds {
        let bound = socket.bind(ep).map_err(endpoint_error)?;
        crate::note!("bound {bound}");
        if let Some((name, port)) = service {
            announcers
                .push(Announcer::new(name, &bound, port).map_err(|e| runtime(e.to_string()))?);
        }
    }
    for ep in &connects {
        socket.connect(ep).map_err(endpoint_error)?;
    }

    let result = match socket_type {
        SocketType::Req => requester(&mut socket, &args),
        SocketType::Rep => replier(&mut socket, &args),
        _ if args.write => writer(&mut socket, &args),
        _ => reader(&mut socket, &args),
    };
    // Announcers say they leave first; dropping the socket and then the context flushes what
    // is queued within LINGER.
    drop(announcers);
    drop(socket);
    drop(ctx);
    result
}

/// `NAME[:PORT]` of --announce.
fn service_name(s: &str) -> Result<(&str, u16), Failure> {
    let (name, port) = match s.rsplit_once(':') {
        Some((name, port)) => (
            name,
            port.parse()
                .map_err(|_| usage(format!("--announce {s:?}: {port:?} is not a UDP port")))?,
        ),
        None => (s, zvtran::beacon::ZRE_PORT),
    };
    if name.is_empty() || name.len() > 200 {
        return Err(usage(format!(
            "--announce {s:?}: a service name has 1 to 200 octets"
        )));
    }
    Ok((name, port))
}

/// Refuses a direction the type cannot do.
fn check_direction(t: SocketType, write: bool) -> Result<(), Failure> {
    use SocketType::*;
    let cannot = match t {
        Pull | Sub | Gather | Dish if write => "send (-w)",
        Push | Pub | Scatter | Radio if !write => "receive (-r)",
        _ => return Ok(()),
    };
    Err(usage(format!("a {t} socket cannot {cannot}")))
}

/// stdin records (lines, or NUL-terminated with -0), as raw bytes without the terminator.
struct Input {
    stdin: io::StdinLock<'static>,
    terminator: u8,
    line: u64,
}

impl Input {
    fn new(nul: bool) -> Input {
        Input {
            stdin: io::stdin().lock(),
            terminator: if nul { 0 } else { b'\n' },
            line: 0,
        }
    }

    /// The next message, `None` at end of input.
    fn next(&mut self) -> Result<Option<Message>, Failure> {
        let mut record = Vec::new();
        let n = self
            .stdin
            .read_until(self.terminator, &mut record)
            .map_err(|e| runtime(format!("reading stdin: {e}")))?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if record.last() == Some(&self.terminator) {
            record.pop();
        }
        text::decode(&record)
            .map(Some)
            .map_err(|e| usage(format!("stdin line {}: {e}", self.line)))
    }
}

/// Prints messages, flushing each.
struct Output {
    stdout: io::StdoutLock<'static>,
    terminator: u8,
}

impl Output {
    fn new(nul: bool) -> Output {
        Output {
            stdout: io::stdout().lock(),
            terminator: if nul { 0 } else { b'\n' },
        }
    }

    /// Writes one message; false when stdout is closed (a reader like `head` is done).
    fn write(&mut self, msg: &Message) -> Result<bool, Failure> {
        let mut line = text::encode(msg).into_bytes();
        line.push(self.terminator);
        match self
            .stdout
            .write_all(&line)
            .and_then(|()| self.stdout.flush())
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(runtime(format!("writing stdout: {e}"))),
        }
    }
}

fn receive(socket: &mut Socket, timeout: Option<u64>) -> Result<Message, Failure> {
    let got = match timeout {
        Some(ms) => socket.recv_timeout(Duration::from_millis(ms)),
        None => socket.recv(),
    };
    got.map_err(|e| match e {
        RecvError::WouldBlock => (
            exit::TIMEOUT,
            format!("no message within {} ms", timeout.unwrap_or_default()),
        ),
        e => runtime(e.to_string()),
    })
}

fn send(socket: &mut Socket, msg: Message) -> Result<(), Failure> {
    socket.send(msg).map_err(|e| match e {
        SendError::EmptyMessage => usage(e.to_string()),
        e => runtime(e.to_string()),
    })
}

fn wait_for_peers(socket: &mut Socket, args: &Args) {
    let Some(n) = args.wait_peers else {
        return;
    };
    // Publishers wait for subscriptions (a RADIO for JOINs), each counted once.
    let publisher = matches!(
        socket.socket_type(),
        SocketType::Pub | SocketType::XPub | SocketType::Radio
    );
    loop {
        let have = if publisher {
            socket.subscribes_received()
        } else {
            socket.ready_peer_count() as u64
        };
        if have >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn reader(socket: &mut Socket, args: &Args) -> Result<(), Failure> {
    let mut out = Output::new(args.nul);
    let mut n = 0;
    while args.count.is_none_or(|c| n < c) {
        let msg = receive(socket, args.timeout)?;
        if !out.write(&msg)? {
            break;
        }
        n += 1;
    }
    Ok(())
}

fn writer(socket: &mut Socket, args: &Args) -> Result<(), Failure> {
    let mut input = Input::new(args.nul);
    let mut n = 0;
    let mut waited = false;
    while args.count.is_none_or(|c| n < c) {
        let Some(msg) = input.next()? else {
            break;
        };
        if !waited {
            wait_for_peers(socket, args);
            waited = true;
        }
        send(socket, msg)?;
        n += 1;
    }
    Ok(())
}

fn requester(socket: &mut Socket, args: &Args) -> Result<(), Failure> {
    let mut input = Input::new(args.nul);
    let mut out = Output::new(args.nul);
    let mut n = 0;
    let mut waited = false;
    while args.count.is_none_or(|c| n < c) {
        let Some(request) = input.next()? else {
            break;
        };
        if !waited {
            wait_for_peers(socket, args);
            waited = true;
        }
        send(socket, request)?;
        let reply = receive(socket, args.timeout)?;
        if !out.write(&reply)? {
            break;
        }
        n += 1;
    }
    Ok(())
}

fn replier(socket: &mut Socket, args: &Args) -> Result<(), Failure> {
    let mut input = (!args.echo).then(|| Input::new(args.nul));
    let mut out = Output::new(args.nul);
    let mut n = 0;
    while args.count.is_none_or(|c| n < c) {
        let request = receive(socket, args.timeout)?;
        if !out.write(&request)? {
            break;
        }
        // The next stdin line answers; with --echo, or once stdin is done, the request does.
        let reply = match input.as_mut().map(Input::next).transpose()?.flatten() {
            Some(line) => line,
            None => {
                input = None;
                request
            }
        };
        send(socket, reply)?;
        n += 1;
    }
    Ok(())
}
