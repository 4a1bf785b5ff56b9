//! `sqlite://` store-and-forward queues: the README's CLI example, messages that wait for a
//! reader that comes later, multipart messages kept, foreign rows skipped and reported, and
//! clear errors.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::wait_event;
use zvtran::{Context, EventKind, Message, SocketType};

const WAIT: Duration = Duration::from_secs(10);

fn db(test: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("zvtran-{test}-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

#[test]
fn the_cli_example_writes_500_lines_and_reads_them_back_in_order() {
    let path = db("cli");
    let endpoint = format!("sqlite://{}?queue=a", path.display());
    let mut writer = Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["cat", "-w", "-c", "PUSH", &endpoint])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: String = (1..=500).map(|i| format!("{i}\n")).collect();
    writer
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    assert!(writer.wait().unwrap().success());
    // Later, another process reads them.
    let out = Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["cat", "-r", "-c", "PULL", "-n", "500", &endpoint])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), lines);
    // Taken messages left the file.
    let out = Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["cat", "-r", "-c", "PULL", "--timeout", "300", &endpoint])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn messages_wait_for_a_reader_and_keep_their_frames() {
    let path = db("wait");
    let endpoint = format!("sqlite://{}?queue=jobs", path.display());
    let other = format!("sqlite://{}?queue=other", path.display());
    {
        let ctx = Context::new().unwrap();
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        let mut side = ctx.socket(SocketType::Push).unwrap();
        side.connect(&other).unwrap();
        side.send(Message::from("for the other queue")).unwrap();
        for i in 0..1000u32 {
            push.send(Message::from_frames([
                bytes::Bytes::from_static(b"job"),
                bytes::Bytes::copy_from_slice(&i.to_be_bytes()),
                bytes::Bytes::new(),
            ]))
            .unwrap();
        }
        // The writer and its context go away before any reader exists.
    }
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.connect(&endpoint).unwrap();
    for i in 0..1000u32 {
        let m = pull.recv_timeout(WAIT).unwrap();
        assert_eq!(m.frames().len(), 3);
        assert_eq!(m.frames()[0], "job");
        assert_eq!(&m.frames()[1][..], &i.to_be_bytes());
        assert!(m.frames()[2].is_empty());
    }
    assert!(pull.recv_timeout(Duration::from_millis(200)).is_err());
    let mut other_pull = ctx.socket(SocketType::Pull).unwrap();
    other_pull.bind(&other).unwrap();
    assert_eq!(
        other_pull.recv_timeout(WAIT).unwrap(),
        Message::from("for the other queue")
    );
}

#[test]
fn a_foreign_row_is_reported_and_skipped() {
    let path = db("foreign");
    let endpoint = format!("sqlite://{}?queue=q", path.display());
    let ctx = Context::new().unwrap();
    {
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        push.send(Message::from("before")).unwrap();
    }
    // Someone else's row in our table: a length past the end.
    let db = rusqlite::Connection::open(&path).unwrap();
    support::eventually("the first row to be stored", || {
        db.query_row("SELECT COUNT(*) FROM zvtran_queue", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap_or(0)
            == 1
    });
    db.execute(
        "INSERT INTO zvtran_queue (queue, body) VALUES ('q', x'000000ff41')",
        [],
    )
    .unwrap();
    {
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        push.send(Message::from("after")).unwrap();
    }
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let events = pull.monitor();
    pull.connect(&endpoint).unwrap();
    assert_eq!(pull.recv_timeout(WAIT).unwrap(), Message::from("before"));
    assert_eq!(pull.recv_timeout(WAIT).unwrap(), Message::from("after"));
    wait_event(
        &events,
        "the skipped row",
        |k| matches!(k, EventKind::Disconnected { reason } if reason.contains("not a message")),
    );
}

#[test]
fn queues_take_push_and_pull_and_a_named_queue() {
    let path = db("errors");
    let ctx = Context::new().unwrap();
    let mut req = ctx.socket(SocketType::Req).unwrap();
    let err = req
        .connect(&format!("sqlite://{}?queue=a", path.display()))
        .unwrap_err();
    assert!(err.to_string().contains("PUSH"), "{err}");
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let err = push
        .connect(&format!("sqlite://{}", path.display()))
        .unwrap_err();
    assert!(err.to_string().contains("queue=NAME"), "{err}");
}

/// Lines a `zvtran cat -r` process printed, read as they come.
fn spawn_reader(
    endpoint: &str,
    extra: &[&str],
) -> (std::process::Child, crossbeam_channel::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["cat", "-r", "-c", "PULL"])
        .args(extra)
        .arg(endpoint)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = support::line_channel(child.stdout.take().unwrap());
    (child, lines)
}

#[test]
fn kill_9_of_the_sender_and_of_the_receiver_loses_nothing_committed() {
    let path = db("kill9");
    let endpoint = format!("sqlite://{}?queue=k", path.display());
    // The sender is killed while lines still pour in.
    let mut sender = Command::new(env!("CARGO_BIN_EXE_zvtran"))
        .args(["cat", "-w", "-c", "PUSH", &endpoint])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = sender.stdin.take().unwrap();
    for i in 1..=20_000u32 {
        if stdin.write_all(format!("{i}\n").as_bytes()).is_err() {
            break;
        }
        if i == 12_000 {
            std::thread::sleep(Duration::from_millis(200));
            sender.kill().unwrap(); // SIGKILL
        }
    }
    drop(stdin);
    sender.wait().unwrap();

    // Whatever was committed is 1..=k with no gap; a receiver is killed half way through it.
    let (mut first, lines) = spawn_reader(&endpoint, &[]);
    let mut seen_first: Vec<u32> = Vec::new();
    while seen_first.len() < 3000 {
        let line = lines.recv_timeout(WAIT).expect("the first receiver prints");
        seen_first.push(line.parse().unwrap());
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    while let Ok(line) = lines.try_recv() {
        seen_first.push(line.parse().unwrap());
    }
    let (mut second, lines) = spawn_reader(&endpoint, &["--timeout", "1500"]);
    let mut seen_second: Vec<u32> = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        seen_second.push(line.parse().unwrap());
    }
    assert_eq!(second.wait().unwrap().code(), Some(3), "the queue ran dry");

    // Each receiver saw an ordered run; together they cover 1..=k, and the only repeats are
    // what the first had been handed but not yet taken when it died.
    let expect_run = |v: &[u32], from: u32| {
        for (i, n) in v.iter().enumerate() {
            assert_eq!(
                *n,
                from + i as u32,
                "in order, no gap: {:?}",
                &v[..(i + 1).min(v.len())]
            );
        }
    };
    expect_run(&seen_first, 1);
    let last_first = *seen_first.last().unwrap();
    let resume = *seen_second
        .first()
        .expect("the second receiver got the rest");
    assert!(
        resume <= last_first + 1,
        "nothing lost between {last_first} and {resume}"
    );
    expect_run(&seen_second, resume);
    let k = *seen_second.last().unwrap();
    assert!(
        k >= 3000,
        "at least what was committed before the kill: {k}"
    );
    let repeats = last_first + 1 - resume;
    assert!(repeats <= 2000, "{repeats} delivered twice");
}

#[test]
fn queue_depth_makes_senders_wait() {
    let path = db("depth");
    let endpoint = format!("sqlite://{}?queue=d", path.display());
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.set_option_by_name("QUEUE_DEPTH", b"100").unwrap();
    push.set_option_by_name("SNDHWM", b"10").unwrap();
    push.set_option_by_name("SNDTIMEO", b"300").unwrap();
    push.connect(&endpoint).unwrap();
    let mut sent = 0;
    while push.send(Message::from(format!("m{sent}"))).is_ok() {
        sent += 1;
        assert!(sent < 1000, "the depth limit never held the sender back");
    }
    // 100 in the file, at most the socket's own 10 (and one batch) waiting in front of it.
    assert!((100..=130).contains(&sent), "sent {sent}");
    let db = rusqlite::Connection::open(&path).unwrap();
    let held: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM zvtran_queue WHERE queue = 'd'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(held, 100);
    // A reader makes room, and the sender goes on.
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.connect(&endpoint).unwrap();
    for i in 0..50 {
        assert_eq!(
            pull.recv_timeout(WAIT).unwrap(),
            Message::from(format!("m{i}"))
        );
    }
    push.set_option_by_name("SNDTIMEO", b"5000").unwrap();
    push.send(Message::from("again")).unwrap();
}

#[test]
fn a_message_handed_over_too_often_goes_to_the_dead_letters() {
    let path = db("dead");
    let endpoint = format!("sqlite://{}?queue=q", path.display());
    let ctx = Context::new().unwrap();
    {
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        push.send(Message::from("poison")).unwrap();
    }
    let db = rusqlite::Connection::open(&path).unwrap();
    let attempts = || -> i64 {
        db.query_row(
            "SELECT COALESCE(MAX(attempts), -1) FROM zvtran_queue WHERE queue = 'q'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(-1)
    };
    support::eventually("the message stored", || attempts() == 0);
    // Three readers that are handed it and go away without taking it.
    for n in 1..=3 {
        let mut pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_option_by_name("QUEUE_MAX_ATTEMPTS", b"3").unwrap();
        pull.connect(&endpoint).unwrap();
        support::eventually("the hand-over counted", || attempts() == n);
    }
    // The next reader does not get it; the dead letters have it.
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_option_by_name("QUEUE_MAX_ATTEMPTS", b"3").unwrap();
    pull.connect(&endpoint).unwrap();
    assert!(pull.recv_timeout(Duration::from_millis(500)).is_err());
    let mut dead = ctx.socket(SocketType::Pull).unwrap();
    dead.connect(&format!("sqlite://{}?queue=q.dead", path.display()))
        .unwrap();
    assert_eq!(dead.recv_timeout(WAIT).unwrap(), Message::from("poison"));
    assert!(pull.set_option_by_name("QUEUE_DEPTH", b"lots").is_ok());
    assert!(
        pull.connect(&endpoint).is_err(),
        "QUEUE_DEPTH must be a number"
    );
}
