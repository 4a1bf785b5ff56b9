//! Store-and-forward queues, each test run on both backends (`sqlite://`, and `postgres://`
//! on a private PostgreSQL server the test starts): the README's CLI example, messages that
//! wait for a reader that comes later, multipart messages kept, foreign rows skipped and
//! reported, kill -9 of either side, the depth limit, dead letters, readers sharing a queue,
//! a server restart, and clear errors.

mod support;

#[path = "support/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{ChildGuard, wait_event};
use zvtran::{Context, EventKind, Message, SocketType};

const WAIT: Duration = Duration::from_secs(10);

/// Where a test's queues live.
enum Backend {
    Sqlite(std::path::PathBuf),
    Postgres(pg::PgServer),
}

impl Backend {
    fn sqlite(test: &str) -> Backend {
        let path = std::env::temp_dir().join(format!("zvtran-{test}-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Backend::Sqlite(path)
    }

    fn postgres() -> Backend {
        Backend::Postgres(pg::PgServer::start())
    }

    /// The endpoint of the queue `queue`.
    fn endpoint(&self, queue: &str) -> String {
        match self {
            Backend::Sqlite(path) => format!("sqlite://{}?queue={queue}", path.display()),
            Backend::Postgres(server) => format!("postgres://{}?queue={queue}", server.location()),
        }
    }

    /// One number from the table, by a query both SQL dialects read alike.
    fn number(&self, sql: &str) -> i64 {
        match self {
            Backend::Sqlite(path) => rusqlite::Connection::open(path)
                .and_then(|db| db.query_row(sql, [], |r| r.get(0)))
                .unwrap_or(-1),
            Backend::Postgres(server) => server
                .client()
                .query_one(sql, &[])
                .map(|r| r.get(0))
                .unwrap_or(-1),
        }
    }

    /// Messages in `queue`.
    fn count(&self, queue: &str) -> i64 {
        self.number(&format!(
            "SELECT COUNT(*) FROM zvtran_queue WHERE queue = '{queue}'"
        ))
    }

    /// Someone else's row in the queue table.
    fn insert_raw(&self, queue: &str, body: &[u8]) {
        match self {
            Backend::Sqlite(path) => {
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute(
                        "INSERT INTO zvtran_queue (queue, body) VALUES (?1, ?2)",
                        rusqlite::params![queue, body],
                    )
                    .unwrap();
            }
            Backend::Postgres(server) => {
                server
                    .client()
                    .execute(
                        "INSERT INTO zvtran_queue (queue, body) VALUES ($1, $2)",
                        &[&queue, &body],
                    )
                    .unwrap();
            }
        }
    }
}

/// Each named test, once on each backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(&super::Backend::sqlite(stringify!($name))) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(&super::Backend::postgres()) } )*
        }
    };
}

on_both_backends!(
    the_cli_example_writes_500_lines_and_reads_them_back_in_order,
    messages_wait_for_a_reader_and_keep_their_frames,
    a_foreign_row_is_reported_and_set_aside,
    kill_9_of_the_sender_and_of_the_receiver_loses_nothing_committed,
    queue_depth_makes_senders_wait,
    a_message_handed_over_too_often_goes_to_the_dead_letters,
    two_readers_share_a_queue_and_no_message_goes_to_both,
    an_acknowledging_reader_deletes_only_what_it_acknowledged,
);

fn zvtran_cat(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zvtran"));
    c.arg("cat").args(args);
    c
}

/// A `zvtran cat -w -c PUSH` process, and its input.
fn spawn_writer(endpoint: &str) -> (ChildGuard, std::process::ChildStdin) {
    let mut child = zvtran_cat(&["-w", "-c", "PUSH", endpoint])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    (ChildGuard(child), stdin)
}

/// A `zvtran cat -r -c PULL` process, and the lines it prints as they come.
fn spawn_reader(
    endpoint: &str,
    extra: &[&str],
) -> (ChildGuard, crossbeam_channel::Receiver<String>) {
    let mut child = zvtran_cat(&["-r", "-c", "PULL"])
        .args(extra)
        .arg(endpoint)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = support::line_channel(child.stdout.take().unwrap());
    (ChildGuard(child), lines)
}

fn the_cli_example_writes_500_lines_and_reads_them_back_in_order(b: &Backend) {
    let endpoint = b.endpoint("a");
    let (mut writer, mut stdin) = spawn_writer(&endpoint);
    let lines: String = (1..=500).map(|i| format!("{i}\n")).collect();
    stdin.write_all(lines.as_bytes()).unwrap();
    drop(stdin);
    assert!(writer.wait().unwrap().success());
    // Later, another process reads them.
    let out = zvtran_cat(&["-r", "-c", "PULL", "-n", "500", &endpoint])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), lines);
    // Taken messages left the queue.
    let out = zvtran_cat(&["-r", "-c", "PULL", "--timeout", "300", &endpoint])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(b.count("a"), 0);
}

fn messages_wait_for_a_reader_and_keep_their_frames(b: &Backend) {
    let endpoint = b.endpoint("jobs");
    let other = b.endpoint("other");
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

fn a_foreign_row_is_reported_and_set_aside(b: &Backend) {
    let endpoint = b.endpoint("q");
    let ctx = Context::new().unwrap();
    {
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        push.send(Message::from("before")).unwrap();
    }
    support::eventually("the first row to be stored", || b.count("q") == 1);
    // Someone else's row in our table: a length past the end.
    b.insert_raw("q", b"\x00\x00\x00\xffA");
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
    // Kept, out of the way, for someone to look at.
    support::eventually("the row set aside", || b.count("q.foreign") == 1);
}

fn kill_9_of_the_sender_and_of_the_receiver_loses_nothing_committed(b: &Backend) {
    let endpoint = b.endpoint("k");
    // The sender is killed while lines still pour in.
    let (mut sender, mut stdin) = spawn_writer(&endpoint);
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

    // Whatever was committed is 1..=k with no gap; a receiver is killed part way through it.
    // Its claims last a second, so the second receiver gets them soon after.
    let (mut first, lines) = spawn_reader(&endpoint, &["-o", "QUEUE_LEASE=1000"]);
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
    let (mut second, lines) = spawn_reader(&endpoint, &["--timeout", "3000"]);
    let mut seen_second: Vec<u32> = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(6)) {
        seen_second.push(line.parse().unwrap());
    }
    assert_eq!(second.wait().unwrap().code(), Some(3), "the queue ran dry");

    // The first saw an ordered run from 1.
    for (i, n) in seen_first.iter().enumerate() {
        assert_eq!(*n, i as u32 + 1, "in order, no gap");
    }
    // The second saw what was left in order, then what the first had claimed and not taken
    // when its lease ran out: at most two ordered runs, no repeats of its own.
    let runs = 1 + seen_second.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(runs <= 2, "{runs} runs: {seen_second:?}");
    let second: BTreeSet<u32> = seen_second.iter().copied().collect();
    assert_eq!(
        second.len(),
        seen_second.len(),
        "the second repeated itself"
    );
    // Together they cover 1..=k: nothing committed was lost.
    let all: BTreeSet<u32> = seen_first
        .iter()
        .copied()
        .chain(second.iter().copied())
        .collect();
    let k = *all.last().unwrap();
    assert!(
        k >= 3000,
        "at least what was committed before the kill: {k}"
    );
    assert_eq!(all.len() as u32, k, "a gap in 1..={k}");
    // The only repeats are what the first had been handed but not yet taken.
    let repeats = seen_first.iter().filter(|n| second.contains(n)).count();
    eprintln!(
        "kill-9: first {}, second {}, runs {runs}, repeats {repeats}, k {k}",
        seen_first.len(),
        seen_second.len()
    );
    assert!(repeats <= 2000, "{repeats} delivered twice");
    assert_eq!(b.count("k"), 0);
}

fn queue_depth_makes_senders_wait(b: &Backend) {
    let endpoint = b.endpoint("d");
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
    // 100 in the queue, at most the socket's own 10 (and one batch) waiting in front of it.
    assert!((100..=130).contains(&sent), "sent {sent}");
    assert_eq!(b.count("d"), 100);
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

fn a_message_handed_over_too_often_goes_to_the_dead_letters(b: &Backend) {
    let endpoint = b.endpoint("q");
    let ctx = Context::new().unwrap();
    {
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&endpoint).unwrap();
        push.send(Message::from("poison")).unwrap();
    }
    let attempts = || {
        b.number("SELECT CAST(COALESCE(MAX(attempts), -1) AS BIGINT) FROM zvtran_queue WHERE queue = 'q'")
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
    dead.connect(&b.endpoint("q.dead")).unwrap();
    assert_eq!(dead.recv_timeout(WAIT).unwrap(), Message::from("poison"));
    assert_eq!(b.count("q"), 0);
}

fn two_readers_share_a_queue_and_no_message_goes_to_both(b: &Backend) {
    let endpoint = b.endpoint("shared");
    // A backlog waits for two reader processes that start together. Each holds little (a
    // small RCVHWM), so they take turns claiming.
    let ctx = Context::new().unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap();
    const BACKLOG: u32 = 3000;
    const N: u32 = BACKLOG + 10;
    for i in 1..=BACKLOG {
        push.send(Message::from(i.to_string())).unwrap();
    }
    support::eventually("the backlog stored", || b.count("shared") == BACKLOG as i64);
    // A long lease: the readers look at the whole queue only every 10 s, so the late messages
    // below reach them in time only by the backend's news (NOTIFY on PostgreSQL).
    let options = ["-o", "RCVHWM=100", "-o", "QUEUE_LEASE=20000"];
    let (mut r1, lines1) = spawn_reader(&endpoint, &options);
    let (mut r2, lines2) = spawn_reader(&endpoint, &options);
    let mut got = [Vec::new(), Vec::new()];
    let take = |got: &mut [Vec<u32>; 2]| {
        for (seen, lines) in got.iter_mut().zip([&lines1, &lines2]) {
            while let Ok(line) = lines.try_recv() {
                seen.push(line.parse::<u32>().unwrap());
            }
        }
        got[0].len() + got[1].len()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while take(&mut got) < BACKLOG as usize && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Then single messages while both readers wait: each arrives within two seconds.
    for i in BACKLOG + 1..=N {
        push.send(Message::from(i.to_string())).unwrap();
        let sent = std::time::Instant::now();
        while take(&mut got) < i as usize && sent.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            take(&mut got),
            i as usize,
            "message {i} not read within 2 s"
        );
    }
    // A moment more, for any message delivered twice to show.
    std::thread::sleep(Duration::from_millis(500));
    take(&mut got);
    for r in [&mut r1, &mut r2] {
        r.kill().unwrap();
        r.wait().unwrap();
    }
    let [a, b_] = &got;
    let first: BTreeSet<u32> = a.iter().copied().collect();
    let second: BTreeSet<u32> = b_.iter().copied().collect();
    assert_eq!(first.len(), a.len(), "the first reader got a message twice");
    assert_eq!(
        second.len(),
        b_.len(),
        "the second reader got a message twice"
    );
    let both: Vec<&u32> = first.intersection(&second).collect();
    assert!(both.is_empty(), "delivered to both: {both:?}");
    let all: BTreeSet<u32> = first.union(&second).copied().collect();
    let lost: Vec<u32> = (1..=N).filter(|n| !all.contains(n)).collect();
    assert!(lost.is_empty(), "lost {} messages: {lost:?}", lost.len());
    assert!(
        !a.is_empty() && !b_.is_empty(),
        "one reader got everything: {} and {}",
        a.len(),
        b_.len()
    );
    eprintln!("shared: {} and {}", a.len(), b_.len());
    // Each reader saw its share in order.
    for seen in [a, b_] {
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "out of order");
    }
}

fn an_acknowledging_reader_deletes_only_what_it_acknowledged(b: &Backend) {
    let endpoint = b.endpoint("acked");
    let ctx = Context::new().unwrap();
    // A DEALER writes, as a PUSH would.
    let mut writer = ctx.socket(SocketType::Dealer).unwrap();
    writer.connect(&endpoint).unwrap();
    for i in 0..10 {
        writer
            .send(Message::from_frames(["job".to_string(), i.to_string()]))
            .unwrap();
    }
    support::eventually("ten stored", || b.count("acked") == 10);
    let mut reader = ctx.socket(SocketType::Dealer).unwrap();
    reader.set_option_by_name("QUEUE_ACK", b"1").unwrap();
    let events = reader.monitor();
    reader.connect(&endpoint).unwrap();
    // Each message comes with its id first; the rest is as it was sent.
    let mut ids = Vec::new();
    for i in 0..10 {
        let m = reader.recv_timeout(WAIT).unwrap();
        assert_eq!(m.frames().len(), 3, "{m:?}");
        assert_eq!(m.frames()[1], "job");
        assert_eq!(m.frames()[2], i.to_string());
        ids.push(m.frames()[0].clone());
    }
    // Handled 0..5: acknowledged. 5 is given back; 6..10 are held, unacknowledged.
    for id in &ids[..5] {
        reader.send(Message::from_frames([id.clone()])).unwrap();
    }
    reader
        .send(Message::from_frames([ids[5].clone(), "RETRY".into()]))
        .unwrap();
    // Not acknowledgements: a stranger, an id twice, an id with a word it does not know.
    reader.send(Message::from("not an id")).unwrap();
    reader.send(Message::from_frames([ids[0].clone()])).unwrap();
    reader
        .send(Message::from_frames([ids[6].clone(), "LATER".into()]))
        .unwrap();
    wait_event(
        &events,
        "the bad acknowledgement",
        |k| matches!(k, EventKind::Disconnected { reason } if reason.contains("acknowledgement")),
    );
    support::eventually("five deleted", || b.count("acked") == 5);
    // The one given back comes again, with the same id.
    let again = reader.recv_timeout(WAIT).unwrap();
    assert_eq!(again.frames()[0], ids[5]);
    assert_eq!(again.frames()[2], "5");
    reader.send(Message::from_frames([ids[5].clone()])).unwrap();
    support::eventually("six deleted", || b.count("acked") == 4);
    // The reader goes away without acknowledging 6..10: the next reader gets them, in order.
    drop(reader);
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.connect(&endpoint).unwrap();
    for i in 6..10 {
        assert_eq!(
            pull.recv_timeout(WAIT).unwrap(),
            Message::from_frames(["job".to_string(), i.to_string()])
        );
    }
    support::eventually("all taken", || b.count("acked") == 0);
}

#[test]
fn postgres_queues_survive_a_server_restart() {
    let b = Backend::postgres();
    let Backend::Postgres(server) = &b else {
        unreachable!()
    };
    let endpoint = b.endpoint("r");
    let ctx = Context::new().unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let events = pull.monitor();
    pull.connect(&endpoint).unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..100 {
        push.send(Message::from(format!("m{i}"))).unwrap();
    }
    for i in 0..100 {
        assert_eq!(
            pull.recv_timeout(WAIT).unwrap(),
            Message::from(format!("m{i}"))
        );
    }
    // The server goes away; the writer keeps what it is sent, and the reader says so.
    server.stop();
    for i in 100..200 {
        push.send(Message::from(format!("m{i}"))).unwrap();
    }
    wait_event(
        &events,
        "the lost server",
        |k| matches!(k, EventKind::Disconnected { reason } if reason.contains("queue")),
    );
    assert!(pull.recv_timeout(Duration::from_millis(300)).is_err());
    server.start_again();
    for i in 100..200 {
        assert_eq!(
            pull.recv_timeout(WAIT).unwrap(),
            Message::from(format!("m{i}"))
        );
    }
}

#[test]
fn queues_take_push_and_pull_and_a_named_queue() {
    let Backend::Sqlite(path) = Backend::sqlite("errors") else {
        unreachable!()
    };
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
    let err = push
        .connect("postgres://someone@localhost:notaport/db?queue=a")
        .unwrap_err();
    assert!(err.to_string().contains("not a PostgreSQL URL"), "{err}");
    let err = push
        .connect("postgresql://someone@localhost/db?queue=a&colour=blue")
        .unwrap_err();
    assert!(err.to_string().contains("not a PostgreSQL URL"), "{err}");
    let err = push.connect("postgres://someone@localhost/db").unwrap_err();
    assert!(err.to_string().contains("queue=NAME"), "{err}");
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_option_by_name("QUEUE_ACK", b"1").unwrap();
    let err = pull
        .connect(&format!("sqlite://{}?queue=a", path.display()))
        .unwrap_err();
    assert!(err.to_string().contains("needs a DEALER"), "{err}");
    for (name, value) in [
        ("QUEUE_ACK", "2"),
        ("QUEUE_DEPTH", "lots"),
        ("QUEUE_LEASE", "10"),
        ("QUEUE_MAX_ATTEMPTS", "-1"),
    ] {
        let mut pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_option_by_name(name, value.as_bytes()).unwrap();
        let err = pull
            .connect(&format!("sqlite://{}?queue=a", path.display()))
            .unwrap_err();
        assert!(err.to_string().contains(name), "{name}={value}: {err}");
    }
}

#[test]
fn postgres_over_tls_checks_the_server_certificate() {
    #[path = "support/pki.rs"]
    mod pki;
    let pki = pki::Pki::new();
    let server = pg::PgServer::start_tls(&pki.server_cert, &pki.server_key);
    let endpoint = format!(
        "postgres://{}?sslmode=require&queue=secure",
        server.location()
    );
    let ctx = Context::new().unwrap();
    let socket = |kind: SocketType, ca: &str| {
        let mut s = ctx.socket(kind).unwrap();
        s.set_option_by_name("TLS_TRUSTED_ROOTS", ca.as_bytes())
            .unwrap();
        s.set_option_by_name("LINGER", b"0").unwrap();
        s
    };
    // The right CA: messages go through, over TLS as the server sees it.
    let mut push = socket(SocketType::Push, &pki.ca);
    push.connect(&endpoint).unwrap();
    push.send(Message::from("sealed")).unwrap();
    let mut pull = socket(SocketType::Pull, &pki.ca);
    pull.connect(&endpoint).unwrap();
    assert_eq!(pull.recv_timeout(WAIT).unwrap(), Message::from("sealed"));
    let over_tls: i64 = server
        .client()
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE application_name = 'zvtran' AND ssl",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(over_tls, 2, "the writer and the reader use TLS");

    // A CA that did not sign the server's certificate: nothing is stored, and the monitor says
    // why.
    let mut rogue = socket(SocketType::Push, &pki.rogue_cert);
    let events = rogue.monitor();
    rogue.connect(&endpoint).unwrap();
    rogue.send(Message::from("must not be stored")).unwrap();
    wait_event(
        &events,
        "the refused certificate",
        |k| matches!(k, EventKind::Disconnected { reason } if reason.contains("write failed")),
    );
    // Without TLS at all, sslmode=require cannot be met.
    let mut plain = ctx.socket(SocketType::Push).unwrap();
    plain.set_option_by_name("LINGER", b"0").unwrap();
    let events = plain.monitor();
    plain.connect(&endpoint).unwrap();
    plain
        .send(Message::from("must not be stored either"))
        .unwrap();
    wait_event(
        &events,
        "the refused plain connection",
        |k| matches!(k, EventKind::Disconnected { reason } if reason.contains("write failed")),
    );
    drop((rogue, plain));
    let stored: i64 = server
        .client()
        .query_one("SELECT COUNT(*) FROM zvtran_queue", &[])
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);
}
