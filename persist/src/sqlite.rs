//! The SQLite backend: one table in a WAL-mode file, shared by every process that opens it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};

use crate::store::{Claimed, Store, StoreError};

/// How often a reader looks for new rows when the queue was empty: SQLite cannot tell it.
const POLL: Duration = Duration::from_millis(20);

/// The owner of an unclaimed row, and the lease of a row never claimed or given back.
///
/// SQLite stores an integer in as few octets as it fits, and a row whose record keeps its size
/// is updated in place, where it changed: the columns a claim changes come before the body (a
/// long body ends in overflow pages, which then stay as they are), and every owner
/// (this one, and each reader's token with bit 62 set) takes 8 octets, and every lease (this
/// one, in 2004, and each deadline in milliseconds since 1970) takes 6: a claim, a renewal or
/// a release rewrites a few octets, not the message.
const NOBODY: i64 = 1 << 62;
const NO_LEASE: i64 = 1 << 40;

/// A connection to a queue file.
pub struct SqliteStore {
    db: Connection,
    owner: i64,
}

/// Milliseconds since the Unix epoch: leases are deadlines on the shared wall clock, since
/// readers in several processes compare them.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl SqliteStore {
    /// Opens (creating if needed) the queue table in the file at `path`.
    pub fn open(path: &str, owner: i64) -> rusqlite::Result<SqliteStore> {
        let db = Connection::open(path)?;
        db.busy_timeout(Duration::from_secs(10))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS zvtran_queue (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 queue TEXT NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 owner INTEGER NOT NULL DEFAULT 4611686018427387904,
                 lease INTEGER NOT NULL DEFAULT 1099511627776,
                 body BLOB NOT NULL
             );
             CREATE INDEX IF NOT EXISTS zvtran_queue_by_name ON zvtran_queue (queue, id);",
        )?;
        // A file made before leases existed gets their columns (after the body: such a file
        // works, with claims that rewrite long rows).
        for (column, default) in [("owner", NOBODY), ("lease", NO_LEASE)] {
            let present: bool = db.query_row(
                "SELECT COUNT(*) > 0 FROM pragma_table_info('zvtran_queue') WHERE name = ?1",
                params![column],
                |r| r.get(0),
            )?;
            if !present {
                db.execute_batch(&format!(
                    "ALTER TABLE zvtran_queue ADD COLUMN {column} INTEGER NOT NULL DEFAULT {default}"
                ))?;
            }
        }
        Ok(SqliteStore {
            db,
            owner: owner | NOBODY,
        })
    }

    /// Runs `sql` once for each of `rows`, all in one transaction.
    fn each_in_one_transaction<P: rusqlite::Params>(
        &self,
        sql: &str,
        rows: impl IntoIterator<Item = P>,
    ) -> rusqlite::Result<()> {
        let tx = self.db.unchecked_transaction()?;
        {
            let mut statement = tx.prepare_cached(sql)?;
            for row in rows {
                statement.execute(row)?;
            }
        }
        tx.commit()
    }
}

impl Store for SqliteStore {
    fn insert(&mut self, queue: &str, bodies: &[Vec<u8>]) -> Result<(), StoreError> {
        self.each_in_one_transaction(
            "INSERT INTO zvtran_queue (queue, body) VALUES (?1, ?2)",
            bodies.iter().map(|body| (queue, body)),
        )?;
        Ok(())
    }

    fn depth(&mut self, queue: &str) -> Result<u64, StoreError> {
        let held: i64 = self.db.query_row(
            "SELECT COUNT(*) FROM zvtran_queue WHERE queue = ?1",
            params![queue],
            |r| r.get(0),
        )?;
        Ok(held.max(0) as u64)
    }

    fn claim(
        &mut self,
        queue: &str,
        after: i64,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        // One statement: SQLite runs writers one at a time, so two readers never claim the
        // same row.
        let now = now_ms();
        let mut claim = self.db.prepare_cached(
            "UPDATE zvtran_queue SET attempts = attempts + 1, owner = ?1, lease = ?2 \
             WHERE id IN (SELECT id FROM zvtran_queue \
                          WHERE queue = ?3 AND id > ?4 AND lease < ?5 ORDER BY id LIMIT ?6) \
             RETURNING id, body, attempts",
        )?;
        let rows = claim.query_map(
            params![
                self.owner,
                now + lease.as_millis() as i64,
                queue,
                after,
                now,
                n as i64
            ],
            |r| {
                Ok(Claimed {
                    id: r.get(0)?,
                    body: r.get(1)?,
                    attempts: r.get(2)?,
                })
            },
        )?;
        let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    fn renew(&mut self, ids: &[i64], lease: Duration) -> Result<(), StoreError> {
        let until = now_ms() + lease.as_millis() as i64;
        self.each_in_one_transaction(
            "UPDATE zvtran_queue SET lease = ?1 WHERE id = ?2 AND owner = ?3",
            ids.iter().map(|id| (until, id, self.owner)),
        )?;
        Ok(())
    }

    fn delete(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        self.each_in_one_transaction(
            "DELETE FROM zvtran_queue WHERE id = ?1",
            ids.iter().map(|id| (id,)),
        )?;
        Ok(())
    }

    fn release(&mut self, ids: &[i64], uncount: bool) -> Result<(), StoreError> {
        self.each_in_one_transaction(
            "UPDATE zvtran_queue SET lease = ?1, owner = ?2, attempts = attempts - ?3 \
             WHERE id = ?4 AND owner = ?5",
            ids.iter()
                .map(|id| (NO_LEASE, NOBODY, i64::from(uncount), id, self.owner)),
        )?;
        Ok(())
    }

    fn move_to(&mut self, id: i64, queue: &str) -> Result<(), StoreError> {
        // A new id puts it at the end of its new queue.
        let tx = self.db.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO zvtran_queue (queue, body) \
             SELECT ?1, body FROM zvtran_queue WHERE id = ?2 AND owner = ?3",
            params![queue, id, self.owner],
        )?;
        tx.execute(
            "DELETE FROM zvtran_queue WHERE id = ?1 AND owner = ?2",
            params![id, self.owner],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn wait_for_news(&mut self, _queue: &str, timeout: Duration) -> bool {
        // The socket's news (room, closing) unparks the thread early.
        std::thread::park_timeout(timeout.min(POLL));
        true
    }
}
