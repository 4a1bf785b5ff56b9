//! Test helpers: the libzmq peer (pyzmq running `tests/peers/zmtp_peer.py`).

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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
