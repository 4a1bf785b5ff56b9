//! The `zvtran cat` command line, end to end: every mode, and every usage error.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use support::PySocket;

fn zvtran() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zvtran"))
}

/// Starts `zvtran cat` binding at a fresh tcp port; returns it and the bound endpoint it printed.
fn bound(args: &[&str]) -> (Proc, String) {
    bound_at(args, "tcp://127.0.0.1:*")
}

/// Starts `zvtran cat` binding at `endpoint`; returns it and the bound endpoint it printed.
fn bound_at(args: &[&str], endpoint: &str) -> (Proc, String) {
    let mut child = zvtran()
        .arg("cat")
        .args(args)
        .arg(endpoint)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("bound ")
        .unwrap_or_else(|| panic!("expected 'bound ENDPOINT', got {line:?}"))
        .to_string();
    (Proc(Some(child), Some(err)), endpoint)
}

/// Runs `zvtran cat ARGS` with `input` on stdin and waits (at most 20 s).
fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = zvtran()
        .arg("cat")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    finish(Proc::new(child))
}

/// A child process, killed if dropped unfinished, so a failing test leaves nothing running;
/// `stderr` holds its stderr when the caller already read from it.
struct Proc(Option<Child>, Option<BufReader<ChildStderr>>);

impl Proc {
    fn new(child: Child) -> Proc {
        Proc(Some(child), None)
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn finish(mut proc: Proc) -> Output {
    let mut child = proc.0.take().expect("running");
    if let Some(err) = proc.1.take() {
        child.stderr = Some(err.into_inner());
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("zvtran cat did not finish: {:?}", child.wait_with_output());
}

fn stdout_of(proc: Proc) -> (i32, String) {
    let out = finish(proc);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn push_to_pull_with_frames_and_escapes() {
    let (reader, ep) = bound(&["-r", "-b", "PULL", "-n", "3"]);
    let out = run(&["-w", "-c", "PUSH", &ep], b"a\tb\n\\x00\\xff\\\\\nlast");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (code, text) = stdout_of(reader);
    assert_eq!(code, 0);
    assert_eq!(text, "a\tb\n\\0\\xff\\\\\nlast\n");
}

#[test]
fn nul_terminated_records() {
    let (reader, ep) = bound(&["-r", "-b", "PULL", "-n", "2", "-0"]);
    let out = run(&["-w", "-c", "PUSH", "-0", &ep], b"line\none\0two\0");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (_, text) = stdout_of(reader);
    assert_eq!(text, "line\\none\0two\0");
}

#[test]
fn pub_waits_for_subscribers_and_sub_filters() {
    let (reader, ep) = bound(&["-r", "-b", "SUB", "-o", "SUBSCRIBE=news", "-n", "2"]);
    let out = run(
        &["-w", "-c", "PUB", "--wait-peers", "1", &ep],
        b"sports 1\nnews 1\nweather\nnews 2\n",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (code, text) = stdout_of(reader);
    assert_eq!((code, text.as_str()), (0, "news 1\nnews 2\n"));
}

#[test]
fn sub_without_subscribe_gets_everything() {
    let (reader, ep) = bound(&["-r", "-b", "SUB", "-n", "2"]);
    let out = run(&["-w", "-c", "PUB", "--wait-peers", "1", &ep], b"x\ny\n");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout_of(reader).1, "x\ny\n");
}

#[test]
fn xpub_prints_subscriptions() {
    let (reader, ep) = bound(&["-r", "-b", "XPUB", "-n", "1"]);
    let _sub = Proc::new(
        zvtran()
            .args([
                "cat",
                "-r",
                "-c",
                "SUB",
                "-o",
                "SUBSCRIBE=topic",
                "--timeout",
                "3000",
                &ep,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (code, text) = stdout_of(reader);
    assert_eq!((code, text.as_str()), (0, "\\x01topic\n"));
}

#[test]
fn req_rep_with_stdin_replies_and_echo() {
    // REP answers from its stdin.
    let (mut rep, ep) = bound(&["-r", "-b", "REP", "-n", "2"]);
    rep.child()
        .stdin
        .take()
        .unwrap()
        .write_all(b"one back\ntwo back\n")
        .unwrap();
    let out = run(&["-w", "-c", "REQ", &ep], b"one\ntwo\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one back\ntwo back\n");
    assert_eq!(stdout_of(rep).1, "one\ntwo\n");

    // REP --echo answers each request with itself.
    let (rep, ep) = bound(&["-r", "-b", "REP", "--echo", "-n", "2"]);
    let out = run(&["-r", "-c", "REQ", &ep], b"ping\tframe\npong\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ping\tframe\npong\n");
    assert_eq!(stdout_of(rep).0, 0);
}

#[test]
fn router_prints_and_takes_the_routing_id() {
    // ROUTER -r: the sender's routing id is the first frame.
    let (router, ep) = bound(&["-r", "-b", "ROUTER", "-n", "1"]);
    let out = run(
        &["-w", "-c", "DEALER", "-o", "ROUTING_ID=asker", &ep],
        b"hello\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_of(router), (0, "asker\thello\n".to_string()));

    // ROUTER -w: the first frame picks the peer.
    let (mut router, ep) = bound(&[
        "-w",
        "-b",
        "ROUTER",
        "--wait-peers",
        "1",
        "-o",
        "ROUTER_MANDATORY=1",
    ]);
    let dealer = Proc::new(
        zvtran()
            .args([
                "cat",
                "-r",
                "-c",
                "DEALER",
                "-o",
                "ROUTING_ID=w2",
                "-n",
                "1",
                &ep,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    router
        .child()
        .stdin
        .take()
        .unwrap()
        .write_all(b"w2\tjob for w2\n")
        .unwrap();
    assert_eq!(finish(router).status.code(), Some(0));
    assert_eq!(stdout_of(dealer), (0, "job for w2\n".to_string()));
}

#[test]
fn radio_to_dish_with_groups() {
    let (reader, ep) = bound(&["-r", "-b", "DISH", "-o", "JOIN=weather", "-n", "1"]);
    // --wait-peers on a RADIO waits for the DISH's JOIN.
    let out = run(
        &["-w", "-c", "RADIO", "--wait-peers", "1", &ep],
        b"sports\t1-0\nweather\train\n",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (code, text) = stdout_of(reader);
    assert_eq!((code, text.as_str()), (0, "weather\train\n"));
}

#[test]
fn radio_to_dish_over_udp() {
    let (reader, ep) = bound_at(
        &["-r", "-b", "DISH", "-o", "JOIN=weather", "-n", "2"],
        "udp://127.0.0.1:0",
    );
    assert!(ep.starts_with("udp://127.0.0.1:"), "{ep}");
    let out = run(
        &["-w", "-c", "RADIO", &ep],
        b"sports\t1-0\nweather\train\nweather\tsun\n",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (code, text) = stdout_of(reader);
    assert_eq!((code, text.as_str()), (0, "weather\train\nweather\tsun\n"));
}

#[test]
fn receive_timeout_exits_3() {
    let (reader, _ep) = bound(&["-r", "-b", "PULL", "--timeout", "200"]);
    let out = finish(reader);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("within 200 ms"));
}

#[test]
fn a_pipe_that_stays_open_keeps_flowing() {
    let (reader, ep) = bound(&["-r", "-b", "PULL", "-n", "1"]);
    let mut writer = Proc::new(
        zvtran()
            .args(["cat", "-w", "-c", "PUSH", &ep])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdin = writer.child().stdin.take().unwrap();
    stdin.write_all(b"first\n").unwrap();
    stdin.flush().unwrap();
    // stdin stays open: the reader still gets the line.
    let (code, text) = stdout_of(reader);
    assert_eq!((code, text.as_str()), (0, "first\n"));
    drop(stdin);
    assert_eq!(finish(writer).status.code(), Some(0));
}

#[test]
fn writer_with_count_stops_early() {
    let (reader, ep) = bound(&["-r", "-b", "PULL", "--timeout", "3000"]);
    let out = run(&["-w", "-c", "PUSH", "-n", "2", &ep], b"1\n2\n3\n4\n");
    assert_eq!(out.status.code(), Some(0));
    let (code, text) = stdout_of(reader);
    assert_eq!((code, text.as_str()), (3, "1\n2\n"));
}

#[test]
fn interoperates_with_libzmq() {
    let mut pull = PySocket::new("PULL");
    let ep = pull.bind("tcp://127.0.0.1:*");
    let out = run(&["-w", "-c", "PUSH", &ep], b"to libzmq\tframe 2\n");
    assert_eq!(out.status.code(), Some(0));
    let got = pull.recv(5000).unwrap();
    assert_eq!(got, vec![Bytes::from("to libzmq"), Bytes::from("frame 2")]);
}

#[test]
fn usage_errors_exit_2_and_name_the_culprit() {
    let cases: &[(&[&str], &str)] = &[
        (&["-r", "-b", "NOPE", "tcp://127.0.0.1:*"], "NOPE"),
        (
            &["-r", "-b", "PULL", "-o", "BOGUS=1", "tcp://127.0.0.1:*"],
            "BOGUS",
        ),
        (
            &["-r", "-b", "PULL", "-o", "SNDHWM=lots", "tcp://127.0.0.1:*"],
            "SNDHWM",
        ),
        (
            &["-r", "-b", "PULL", "-o", "SNDHWM", "tcp://127.0.0.1:*"],
            "SNDHWM",
        ),
        (
            &[
                "-r",
                "-b",
                "PULL",
                "-o",
                "ROUTING_ID=\\q",
                "tcp://127.0.0.1:*",
            ],
            "\\q",
        ),
        (&["-r", "-b", "PULL", "tcp://nowhere"], "tcp://nowhere"),
        (&["-r", "-b", "PULL", "bogus://x"], "bogus"),
        (&["-r", "-c", "PULL", "tcp://127.0.0.1:*"], "port"),
        (&["-r", "PULL", "tcp://127.0.0.1:5"], "-b"),
        (&["-r", "PULL"], "endpoint"),
        (&["-w", "-b", "PULL", "tcp://127.0.0.1:*"], "send"),
        (&["-r", "-b", "PUSH", "tcp://127.0.0.1:*"], "receive"),
        (&["-w", "-b", "DISH", "tcp://127.0.0.1:*"], "send"),
        (
            &["-r", "-b", "PULL", "-o", "JOIN=x", "tcp://127.0.0.1:*"],
            "JOIN",
        ),
        (&["-r", "-w", "-b", "PULL", "tcp://127.0.0.1:*"], "--write"),
        (&["-b", "PULL", "tcp://127.0.0.1:*"], "--read"),
        (&["-r", "-b", "-c", "PULL", "tcp://127.0.0.1:*"], "-c"),
        (&["-r", "-b", "PULL", "-n", "x", "tcp://127.0.0.1:*"], "x"),
        (
            &[
                "-r",
                "-b",
                "PULL",
                "-o",
                "CURVE_SERVER=1",
                "tcp://127.0.0.1:*",
            ],
            "CURVE_SECRETKEY",
        ),
        (
            &[
                "-r",
                "-b",
                "PULL",
                "-o",
                "CURVE_SERVERKEY=short",
                "tcp://127.0.0.1:*",
            ],
            "CURVE_SERVERKEY",
        ),
        (
            &[
                "-r",
                "-b",
                "PULL",
                "-o",
                "PLAIN_SERVER=1",
                "-o",
                "PLAIN_USERNAME=u",
                "tcp://127.0.0.1:*",
            ],
            "PLAIN_PASSWORD",
        ),
    ];
    for (args, culprit) in cases {
        let out = run(args, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(culprit),
            "{args:?}: stderr does not name {culprit:?}: {err}"
        );
    }
    // A bad escape on stdin names the line.
    let (_reader, ep) = bound(&["-r", "-b", "PULL", "--timeout", "500"]);
    let out = run(&["-w", "-c", "PUSH", &ep], b"fine\nbad \\q here\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
}

#[test]
fn address_in_use_exits_1() {
    let (_first, ep) = bound(&["-r", "-b", "PULL"]);
    let out = run(&["-r", "-b", "PULL", &ep], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
}

#[test]
fn keygen_prints_a_pair_and_rederives_it() {
    let out = zvtran().arg("keygen").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let public = lines[0].strip_prefix("public: ").expect("public line");
    let secret = lines[1].strip_prefix("secret: ").expect("secret line");
    assert_eq!((public.len(), secret.len()), (40, 40));
    let again = zvtran()
        .args(["keygen", "--secret", secret])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);
    let bad = zvtran()
        .args(["keygen", "--secret", "nope"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--secret"));
}
