//! Discovery across hosts: two network namespaces joined by a veth pair (a real broadcast
//! domain), a service announced by `zvtran cat --announce` in one and reached by name
//! (`beacon://NAME`) from the other; the name lets go when the announcer leaves or dies.
//! Needs root and iproute2 (`ip netns`); `scripts/system-deps` installs iproute2.

mod support;

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

/// Two namespaces, `a` (10.231.N.1) and `b` (10.231.N.2), removed on drop.
struct Hosts {
    a: String,
    b: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `ip` ({e}): install iproute2 (scripts/system-deps does)")
    });
    assert!(
        out.status.success(),
        "`ip {}` failed: {} (this test needs root to make network namespaces)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Hosts {
    fn new() -> Hosts {
        let id = std::process::id() % 100_000;
        let hosts = Hosts {
            a: format!("zvtran-a{id}"),
            b: format!("zvtran-b{id}"),
        };
        let (va, vb) = (format!("zva{id}"), format!("zvb{id}"));
        let net = id % 250;
        ip(&["netns", "add", &hosts.a]);
        ip(&["netns", "add", &hosts.b]);
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb]);
        ip(&["link", "set", &va, "netns", &hosts.a]);
        ip(&["link", "set", &vb, "netns", &hosts.b]);
        for (ns, dev, host) in [(&hosts.a, &va, 1), (&hosts.b, &vb, 2)] {
            let addr = format!("10.231.{net}.{host}/24");
            ip(&["-n", ns, "addr", "add", &addr, "brd", "+", "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        hosts
    }

    /// `zvtran ARGS` in namespace `ns`, with piped stdio and stdout/stderr lines on channels.
    fn zvtran(&self, ns: &str, args: &[&str]) -> Proc {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_zvtran")])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Proc {
            stdin: child.stdin.take(),
            out: support::line_channel(child.stdout.take().unwrap()),
            err: support::line_channel(child.stderr.take().unwrap()),
            child,
        }
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<String>,
    err: Receiver<String>,
}

impl Proc {
    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next stdout line within `wait`.
    fn line(&self, wait: Duration) -> Option<String> {
        self.out.recv_timeout(wait).ok()
    }

    /// Waits for a stderr line containing every one of `words`; the lines seen otherwise.
    fn stderr_until(&self, words: &[&str], wait: Duration) -> Result<String, Vec<String>> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.err.recv_timeout(left) {
                Ok(l) if words.iter().all(|w| l.contains(w)) => return Ok(l),
                Ok(l) => seen.push(l),
                Err(_) => break,
            }
        }
        Err(seen)
    }

    /// Closes stdin and waits for a clean exit.
    fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "did not exit after stdin closed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_service_announced_on_one_host_is_reached_by_name_from_another() {
    let hosts = Hosts::new();
    let server_ip = {
        let id = std::process::id() % 100_000;
        format!("10.231.{}.1", id % 250)
    };
    // b follows the name; -v prints its connection events.
    let follower = hosts.zvtran(
        &hosts.b,
        &["cat", "-r", "-v", "-c", "PULL", "beacon://jobs"],
    );

    // a announces a wildcard bind (on the default beacon port, 5670): b must connect to the
    // address the beacons came from.
    let mut first = hosts.zvtran(
        &hosts.a,
        &[
            "cat",
            "-w",
            "-b",
            "PUSH",
            "tcp://*:6000",
            "--announce",
            "jobs",
        ],
    );
    first.send("one");
    assert_eq!(follower.line(WAIT).as_deref(), Some("one"));
    let connected = follower
        .stderr_until(&["Connected", &format!("tcp://{server_ip}:6000")], WAIT)
        .unwrap_or_else(|seen| panic!("no Connected event for {server_ip}; saw {seen:?}"));
    assert!(!connected.contains("0.0.0.0"), "{connected}");

    // The announcer leaves (stdin closed: it says so on its way out).
    first.finish();
    follower
        .stderr_until(&["Disconnected"], WAIT)
        .unwrap_or_else(|seen| panic!("no Disconnected event; saw {seen:?}"));
    // A server on the same port that is not announced is not reconnected to (a plain
    // tcp:// connect would be, within its 100 ms reconnect interval).
    let mut unannounced = hosts.zvtran(&hosts.a, &["cat", "-w", "-b", "PUSH", "tcp://*:6000"]);
    unannounced.send("not for b");
    assert_eq!(follower.line(Duration::from_secs(3)), None);
    drop(unannounced);

    // A second announcer, killed with SIGKILL: no leaving beacon, so the name lets go once
    // its beacons have been silent for the TTL (3 s).
    let mut second = hosts.zvtran(
        &hosts.a,
        &[
            "cat",
            "-w",
            "-b",
            "PUSH",
            "tcp://*:6001",
            "--announce",
            "jobs",
        ],
    );
    second.send("two");
    assert_eq!(follower.line(WAIT).as_deref(), Some("two"));
    drop(second);
    std::thread::sleep(Duration::from_millis(4500));
    let mut late = hosts.zvtran(&hosts.a, &["cat", "-w", "-b", "PUSH", "tcp://*:6001"]);
    late.send("not for b either");
    assert_eq!(follower.line(Duration::from_secs(3)), None);
    drop(late);

    // And a new announcer is found again.
    let mut third = hosts.zvtran(
        &hosts.a,
        &[
            "cat",
            "-w",
            "-b",
            "PUSH",
            "tcp://*:6002",
            "--announce",
            "jobs",
        ],
    );
    third.send("three");
    assert_eq!(follower.line(WAIT).as_deref(), Some("three"));
}
