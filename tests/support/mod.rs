//! Test helpers: the libzmq peer (pyzmq running `tests/peers/zmtp_peer.py`).

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

/// Waits (up to 10 s, polling) until `f` holds; panics naming `what` otherwise.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("timed out waiting for {what}");
}

/// The workspace root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/udp-peer`: libzmq 4.3.5 built from source with its draft API (RADIO, DISH, udp, ws),
/// as a command-line peer. Fails with how to build it when it is missing (never skips).
#[allow(dead_code)]
pub fn libzmq_draft_peer() -> PathBuf {
    let path = root().join("tests/udp-peer/target/release/udp-peer");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --release --manifest-path tests/udp-peer/Cargo.toml` \
         (./scripts/test does; it compiles libzmq with its draft API, which needs a C++ compiler)",
        path.display()
    );
    path
}

/// The Python interpreter that has pyzmq: `$ZVTRAN_PYTHON`, else `.venv/bin/python`. Panics with
/// install instructions if pyzmq is missing: interop tests never skip.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = std::env::var_os("ZVTRAN_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join(".venv/bin/python"));
        let probe = Command::new(&python)
            .args(["-c", "import zmq; print(zmq.zmq_version())"])
            .output();
        match probe {
            Ok(out) if out.status.success() => python,
            _ => panic!(
                "interop tests need pyzmq (the libzmq peer), not found for {}.\n\
                 Run ./scripts/test, which installs it into .venv, or:\n  \
                 python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt\n\
                 (set ZVTRAN_PYTHON to use another interpreter)",
                python.display()
            ),
        }
    })
}

/// A running pyzmq peer. Dropping it kills the process.
pub struct PyPeer {
    child: Child,
    stdout: BufReader<ChildStdout>,
    args: Vec<String>,
}

impl PyPeer {
    /// Starts `tests/peers/zmtp_peer.py` with `args`.
    pub fn spawn(args: &[&str]) -> PyPeer {
        let child = Command::new(python())
            .arg(root().join("tests/peers/zmtp_peer.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the pyzmq peer");
        let mut child = child;
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        PyPeer {
            child,
            stdout,
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The next line the peer printed. Panics (with its stderr) if it exited instead.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("read peer stdout");
        if n == 0 {
            let err = self.stderr();
            panic!("pyzmq peer {:?} exited early; stderr:\n{err}", self.args);
        }
        line.trim_end().to_string()
    }

    /// Reads lines until one starts with `word`; returns the rest of it.
    pub fn expect(&mut self, word: &str) -> String {
        loop {
            let line = self.line();
            if let Some(rest) = line.strip_prefix(word) {
                return rest.trim().to_string();
            }
            assert!(
                !line.starts_with("FAIL"),
                "pyzmq peer {:?}: {line}",
                self.args
            );
        }
    }

    /// The port a `--bind` peer printed.
    pub fn port(&mut self) -> u16 {
        self.expect("PORT").parse().expect("a port number")
    }

    /// Closes the peer's stdin (the publisher scenario stops on that).
    pub fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Waits for the peer to exit and checks that it printed OK and exited 0.
    pub fn finish(mut self) {
        self.close_stdin();
        let mut rest = String::new();
        self.stdout
            .read_to_string(&mut rest)
            .expect("read peer stdout");
        let status = self.child.wait().expect("wait for the peer");
        let err = self.stderr();
        assert!(
            status.success() && rest.lines().any(|l| l == "OK"),
            "pyzmq peer {:?} failed ({status}); stdout:\n{rest}\nstderr:\n{err}",
            self.args
        );
    }

    fn stderr(&mut self) -> String {
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A libzmq socket in a pyzmq process, driven by `tests/peers/socket_peer.py`.
pub struct PySocket {
    child: Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub socket_type: String,
}

impl PySocket {
    /// Starts a pyzmq process holding one socket of `socket_type` (e.g. "DEALER").
    pub fn new(socket_type: &str) -> PySocket {
        let mut child = Command::new(python())
            .arg(root().join("tests/peers/socket_peer.py"))
            .arg(socket_type)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the pyzmq peer");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        PySocket {
            child,
            stdin,
            stdout,
            socket_type: socket_type.to_string(),
        }
    }

    /// Sends one command line; returns the reply line.
    pub fn cmd(&mut self, line: &str) -> String {
        self.begin(line);
        self.end()
    }

    /// Sends a command without waiting for its reply (for commands that run while the test
    /// drives the other side); read the reply with [`end`](Self::end).
    pub fn begin(&mut self, line: &str) {
        use std::io::Write;
        writeln!(self.stdin, "{line}").expect("write to the pyzmq peer");
        self.stdin.flush().expect("flush");
    }

    /// The reply to the last [`begin`](Self::begin).
    pub fn end(&mut self) -> String {
        let mut reply = String::new();
        let n = self
            .stdout
            .read_line(&mut reply)
            .expect("read the pyzmq peer");
        assert!(n > 0, "pyzmq peer ({}) died", self.socket_type);
        reply.trim_end().to_string()
    }

    /// A command that must answer OK.
    pub fn ok(&mut self, line: &str) {
        let reply = self.cmd(line);
        assert_eq!(reply, "OK", "pyzmq {}: {line:?}", self.socket_type);
    }

    /// Sets an option (numeric value).
    pub fn opt(&mut self, name: &str, value: i64) {
        self.ok(&format!("opt {name} {value}"));
    }

    /// Sets a bytes option.
    pub fn opt_bytes(&mut self, name: &str, value: &[u8]) {
        self.ok(&format!("opt {name} {}", hex_frame(value)));
    }

    /// Binds; returns the resolved endpoint.
    pub fn bind(&mut self, endpoint: &str) -> String {
        let reply = self.cmd(&format!("bind {endpoint}"));
        reply
            .strip_prefix("BOUND ")
            .unwrap_or_else(|| panic!("pyzmq bind {endpoint}: {reply}"))
            .to_string()
    }

    /// Connects.
    pub fn connect(&mut self, endpoint: &str) {
        self.ok(&format!("connect {endpoint}"));
    }

    /// Sends a multipart message.
    pub fn send(&mut self, frames: &[bytes::Bytes]) {
        let line = format!("send {}", hex_frames(frames));
        self.ok(&line);
    }

    /// Receives a message within `ms`, or `None`.
    pub fn recv(&mut self, ms: u64) -> Option<Vec<bytes::Bytes>> {
        let reply = self.cmd(&format!("recv {ms}"));
        if reply == "TIMEOUT" {
            return None;
        }
        let rest = reply
            .strip_prefix("MSG")
            .unwrap_or_else(|| panic!("pyzmq recv: {reply}"));
        Some(parse_frames(rest.trim()))
    }
}

impl Drop for PySocket {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One frame as the peer's protocol writes it: hex, or `_` when empty.
pub fn hex_frame(f: &[u8]) -> String {
    if f.is_empty() {
        return "_".into();
    }
    f.iter().map(|b| format!("{b:02x}")).collect()
}

/// Frames as the peer's protocol writes them.
pub fn hex_frames(frames: &[bytes::Bytes]) -> String {
    frames
        .iter()
        .map(|f| hex_frame(f))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_frames(s: &str) -> Vec<bytes::Bytes> {
    s.split_whitespace()
        .map(|t| {
            if t == "_" {
                bytes::Bytes::new()
            } else {
                (0..t.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&t[i..i + 2], 16).expect("hex"))
                    .collect::<Vec<u8>>()
                    .into()
            }
        })
        .collect()
}

/// Waits (up to 10 s) for a monitor event matching `f`; panics naming `what` and listing the
/// events that came instead.
pub fn wait_event(
    events: &crossbeam_channel::Receiver<zvtran::MonitorEvent>,
    what: &str,
    f: impl Fn(&zvtran::EventKind) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match events.recv_timeout(left) {
            Ok(e) if f(&e.kind) => return,
            Ok(e) => seen.push(e.kind),
            Err(_) => break,
        }
    }
    panic!("no {what} event; saw {seen:?}");
}

/// A free tcp port on loopback (bound and released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free udp port (bound and released at once).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Lines read from `r` (a child's stdout or stderr), one by one on a channel.
pub fn line_channel(r: impl Read + Send + 'static) -> crossbeam_channel::Receiver<String> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A child process killed (if still running) and reaped when dropped, so a failing test leaves
/// no process behind.
pub struct ChildGuard(pub Child);

impl std::ops::Deref for ChildGuard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A helper process (a test peer) whose stdout lines arrive on a channel; killed on drop.
pub struct Lines {
    _child: ChildGuard,
    lines: crossbeam_channel::Receiver<String>,
    what: String,
}

impl Lines {
    /// Starts `cmd` with its stdout piped; `what` names it in failures (with how to install it).
    pub fn spawn(cmd: &mut Command, what: &str) -> Lines {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let lines = line_channel(child.stdout.take().expect("piped stdout"));
        Lines {
            _child: ChildGuard(child),
            lines,
            what: what.to_string(),
        }
    }

    /// The next line, waiting up to 10 s; panics naming the helper otherwise.
    pub fn line(&self) -> String {
        self.lines
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no line from {} within 10 s", self.what))
    }

    /// The next line within `wait`, if one comes.
    pub fn line_within(&self, wait: std::time::Duration) -> Option<String> {
        self.lines.recv_timeout(wait).ok()
    }
}

/// `n` request-reply rounds between `req` and `rep` ("q0"/"a0", ...), each checked.
pub fn req_rep_rounds(req: &mut zvtran::Socket, rep: &mut zvtran::Socket, n: usize) {
    let wait = std::time::Duration::from_secs(10);
    for i in 0..n {
        req.send(zvtran::Message::from(format!("q{i}"))).unwrap();
        assert_eq!(
            rep.recv_timeout(wait).unwrap(),
            zvtran::Message::from(format!("q{i}"))
        );
        rep.send(zvtran::Message::from(format!("a{i}"))).unwrap();
        assert_eq!(
            req.recv_timeout(wait).unwrap(),
            zvtran::Message::from(format!("a{i}"))
        );
    }
}

/// Sends `n` messages "{prefix} 0".. from `push` and checks `pull` gets them all, in order.
pub fn push_pull_in_order(
    push: &mut zvtran::Socket,
    pull: &mut zvtran::Socket,
    prefix: &str,
    n: usize,
) {
    let wait = std::time::Duration::from_secs(10);
    for i in 0..n {
        push.send(zvtran::Message::from(format!("{prefix} {i}")))
            .unwrap();
    }
    for i in 0..n {
        assert_eq!(
            pull.recv_timeout(wait).unwrap(),
            zvtran::Message::from(format!("{prefix} {i}"))
        );
    }
}
