//! `sqlite:///path/queue.db?queue=NAME`: store-and-forward queues in an SQLite file, a message
//! driver written on zvtran's public driver API.
//!
//! A PUSH that binds or connects to a queue writes its messages into the file (in batches, one
//! transaction each); a PULL reads them in order. A message leaves the file only once the
//! receiving socket has taken it from its queue: a crash of either side loses nothing that was
//! committed, and may deliver again what was handed over but not yet taken (at least once). The
//! file is in WAL mode; several processes may share it.
//!
//! Socket options the driver adds (by name): `QUEUE_DEPTH=N` makes writers wait while the queue
//! holds N messages or more (0, the default: no limit); `QUEUE_MAX_ATTEMPTS=N` (default 5) moves
//! a message that was handed to readers N times without being taken to the queue `NAME.dead`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use rusqlite::{Connection, params};
use zmtp::{Message, SocketType};
use zvtran_drivers::driver::{
    Capabilities, Driver, DriverError, EndpointHandle, PeerCaps, SocketLink,
};
use zvtran_drivers::endpoint::EndpointError;
use zvtran_drivers::message::{StopFlag, spawn_endpoint, wake_on_news};
use zvtran_drivers::monitor::EventKind;
use zvtran_drivers::pipe::PipeEnd;

/// The URI scheme.
pub const SCHEME: &str = "sqlite";

/// Writers wait while the queue holds this many messages (0: no limit).
pub const QUEUE_DEPTH: &str = "QUEUE_DEPTH";
/// Hand-overs without a take after which a message goes to `NAME.dead`.
pub const QUEUE_MAX_ATTEMPTS: &str = "QUEUE_MAX_ATTEMPTS";

/// Messages read from the file per round.
const BATCH: usize = 256;
/// How often a reader looks for new rows when the queue was empty.
const POLL: Duration = Duration::from_millis(20);

/// The `sqlite://` driver.
#[derive(Debug, Default)]
pub struct Sqlite;

/// The file and the queue name of `/path/file.db?queue=NAME`.
fn parse(address: &str) -> Result<(String, String), DriverError> {
    let endpoint = || format!("{SCHEME}://{address}");
    let (path, query) = address.split_once('?').unwrap_or((address, ""));
    if path.is_empty() {
        return Err(EndpointError::EmptyAddress(endpoint()).into());
    }
    let queue = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("queue="))
        .filter(|q| !q.is_empty())
        .ok_or_else(|| DriverError::NotSupported {
            endpoint: endpoint(),
            reason: "the queue is named in the query: sqlite:///path/file.db?queue=NAME".into(),
        })?;
    Ok((path.to_string(), queue.to_string()))
}

fn open(path: &str) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.busy_timeout(Duration::from_secs(10))?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "NORMAL")?;
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS zvtran_queue (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             queue TEXT NOT NULL,
             body BLOB NOT NULL,
             attempts INTEGER NOT NULL DEFAULT 0
         );
         CREATE INDEX IF NOT EXISTS zvtran_queue_by_name ON zvtran_queue (queue, id);",
    )?;
    Ok(db)
}

/// A message as stored: each frame as a 4-octet length and its octets.
fn encode(msg: &Message) -> Vec<u8> {
    let mut out = BytesMut::new();
    for f in msg.frames() {
        out.put_u32(f.len() as u32);
        out.put_slice(f);
    }
    out.to_vec()
}

/// A stored message; `None` for a row that is not one (corrupt or foreign).
fn decode(mut body: &[u8]) -> Option<Message> {
    let mut frames = Vec::new();
    while body.has_remaining() {
        if body.len() < 4 {
            return None;
        }
        let len = body.get_u32() as usize;
        if body.len() < len {
            return None;
        }
        frames.push(Bytes::copy_from_slice(&body[..len]));
        body.advance(len);
    }
    (!frames.is_empty()).then(|| Message::from_frames(frames))
}

impl Driver for Sqlite {
    fn scheme(&self) -> &str {
        SCHEME
    }

    fn bind(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        self.connect(address, link)
    }

    fn connect(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        let endpoint = format!("{SCHEME}://{address}");
        let (path, queue) = parse(address)?;
        let io = |e: rusqlite::Error| DriverError::Io {
            endpoint: endpoint.clone(),
            source: std::io::Error::other(e),
        };
        let number = |name: &str, default: u64| -> Result<u64, DriverError> {
            match link.options().transport_option(name) {
                None => Ok(default),
                Some(v) => std::str::from_utf8(v)
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .ok_or_else(|| DriverError::Options {
                        endpoint: endpoint.clone(),
                        reason: format!("{name} must be a number"),
                    }),
            }
        };
        let limits = Limits {
            depth: number(QUEUE_DEPTH, 0)?,
            max_attempts: number(QUEUE_MAX_ATTEMPTS, 5)?.max(1),
        };
        let db = open(&path).map_err(io)?;
        let (peer, writer) = match link.options().socket_type {
            SocketType::Push => (SocketType::Pull, true),
            SocketType::Pull => (SocketType::Push, false),
            other => {
                return Err(DriverError::NotSupported {
                    endpoint,
                    reason: format!(
                        "a queue takes PUSH sockets (writing) and PULL sockets (reading), not {other}"
                    ),
                });
            }
        };
        let pipe = link.attach_peer(&endpoint, peer, PeerCaps::default());
        let link = link.clone();
        let shown = endpoint.clone();
        spawn_endpoint(endpoint, "zvtran-sqlite", move |stop| {
            if writer {
                write(&db, &queue, limits, &pipe, &stop, &link, &shown);
            } else {
                read(&db, &queue, limits, &pipe, &stop, &link, &shown);
            }
        })
    }

    fn capabilities(&self, _address: &str) -> Capabilities {
        Capabilities::MESSAGE
    }

    fn option_names(&self) -> &[&'static str] {
        &[QUEUE_DEPTH, QUEUE_MAX_ATTEMPTS]
    }
}

/// Runs `sql` once for each of `rows`, all in one transaction.
fn each_in_one_transaction<P: rusqlite::Params>(
    db: &Connection,
    sql: &str,
    rows: impl IntoIterator<Item = P>,
) -> rusqlite::Result<()> {
    let tx = db.unchecked_transaction()?;
    {
        let mut statement = tx.prepare_cached(sql)?;
        for row in rows {
            statement.execute(row)?;
        }
    }
    tx.commit()
}

/// A queue's limits, from the socket's options.
#[derive(Debug, Clone, Copy)]
struct Limits {
    depth: u64,
    max_attempts: u64,
}

fn report(link: &SocketLink, endpoint: &str, what: &str, e: impl std::fmt::Display) {
    link.monitor(
        EventKind::Disconnected {
            reason: format!("sqlite {what}: {e}"),
        },
        endpoint,
    );
}

/// PUSH side: what the socket queued goes into the file, a transaction per batch.
fn write(
    db: &Connection,
    queue: &str,
    limits: Limits,
    pipe: &PipeEnd,
    stop: &StopFlag,
    link: &SocketLink,
    endpoint: &str,
) {
    let closed = wake_on_news(pipe);
    let mut batch = Vec::new();
    loop {
        let last = stop.load(Ordering::Acquire) || closed.load(Ordering::Acquire);
        // At the depth limit, take nothing: the socket's queue fills and its sends block, as
        // at a high-water mark.
        let room = match limits.depth {
            0 => 4096,
            depth => {
                let held: i64 = db
                    .query_row(
                        "SELECT COUNT(*) FROM zvtran_queue WHERE queue = ?1",
                        params![queue],
                        |r| r.get(0),
                    )
                    .unwrap_or(0);
                (depth.saturating_sub(held.max(0) as u64)).min(4096) as usize
            }
        };
        if room == 0 && !last {
            std::thread::sleep(POLL);
            continue;
        }
        while batch.len() < room.max(usize::from(last) * 4096) {
            let Some(msg) = pipe.try_recv() else {
                break;
            };
            batch.push(encode(&msg));
        }
        if !batch.is_empty() {
            let stored = each_in_one_transaction(
                db,
                "INSERT INTO zvtran_queue (queue, body) VALUES (?1, ?2)",
                batch.iter().map(|body| (queue, body)),
            );
            match stored {
                Ok(()) => batch.clear(),
                Err(e) => {
                    // Kept for the next round: the file may be busy or full for a while.
                    report(link, endpoint, "write failed", e);
                    std::thread::sleep(POLL);
                    continue;
                }
            }
            continue;
        }
        if last {
            return;
        }
        std::thread::park_timeout(POLL);
    }
}

/// PULL side: rows in order into the socket's queue; a row is deleted once the socket took it.
fn read(
    db: &Connection,
    queue: &str,
    limits: Limits,
    pipe: &PipeEnd,
    stop: &StopFlag,
    link: &SocketLink,
    endpoint: &str,
) {
    let closed = wake_on_news(pipe);
    // Row ids handed to the socket, oldest first, and the largest id seen.
    let mut handed: std::collections::VecDeque<i64> = std::collections::VecDeque::new();
    let mut after = 0i64;
    // What the socket took since last time leaves the file.
    let forget_taken = |handed: &mut std::collections::VecDeque<i64>| {
        let taken = handed.len().saturating_sub(pipe.unread_outbound());
        if taken == 0 {
            return;
        }
        let ids: Vec<i64> = handed.drain(..taken).collect();
        let deleted = each_in_one_transaction(
            db,
            "DELETE FROM zvtran_queue WHERE id = ?1",
            ids.iter().map(|id| (id,)),
        );
        if let Err(e) = deleted {
            report(link, endpoint, "delete failed", e);
        }
    };
    while !stop.load(Ordering::Acquire) && !closed.load(Ordering::Acquire) {
        forget_taken(&mut handed);
        #[allow(clippy::type_complexity)]
        let rows = (|| -> rusqlite::Result<Vec<(i64, Vec<u8>, i64)>> {
            let mut select = db.prepare_cached(
                "SELECT id, body, attempts FROM zvtran_queue WHERE queue = ?1 AND id > ?2 \
                 ORDER BY id LIMIT ?3",
            )?;
            let rows = select.query_map(params![queue, after, BATCH as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            rows.collect()
        })();
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                report(link, endpoint, "read failed", e);
                std::thread::sleep(POLL);
                continue;
            }
        };
        let mut delivered_any = false;
        let mut newly = Vec::new();
        for (id, body, attempts) in rows {
            if attempts.max(0) as u64 >= limits.max_attempts {
                // Handed over that often and never taken: to the dead letters.
                let dead = format!("{queue}.dead");
                let moved = db.execute(
                    "UPDATE zvtran_queue SET queue = ?1, attempts = 0 WHERE id = ?2",
                    params![dead, id],
                );
                match moved {
                    Ok(_) => report(link, endpoint, "moved a message to", &dead),
                    Err(e) => report(link, endpoint, "dead-letter move failed", e),
                }
                after = id;
                continue;
            }
            let Some(msg) = decode(&body) else {
                // Not one of ours: reported and left in place, never delivered.
                report(link, endpoint, "skipped a row that is not a message", id);
                after = id;
                continue;
            };
            if pipe.try_send(msg).is_err() {
                // The socket's queue is full: this row is read again next round.
                break;
            }
            handed.push_back(id);
            newly.push(id);
            after = id;
            delivered_any = true;
        }
        // Each hand-over counts, in one transaction per round: a message a reader was handed
        // and never took (it died, or closed first) comes back with one more attempt.
        if !newly.is_empty() {
            let counted = each_in_one_transaction(
                db,
                "UPDATE zvtran_queue SET attempts = attempts + 1 WHERE id = ?1",
                newly.iter().map(|id| (id,)),
            );
            if let Err(e) = counted {
                report(link, endpoint, "attempt count failed", e);
            }
        }
        if !delivered_any {
            std::thread::park_timeout(POLL);
        }
    }
    // Closing: what the socket took leaves the file; what it did not stays for the next reader.
    forget_taken(&mut handed);
}
