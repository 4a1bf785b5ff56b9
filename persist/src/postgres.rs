//! The PostgreSQL backend: competing readers claim rows with `FOR UPDATE SKIP LOCKED`, and
//! writers wake them with `NOTIFY` instead of readers polling.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::{Claimed, Store, StoreError};

/// The channel writers notify, with the queue's name as the payload.
const CHANNEL: &str = "zvtran_queue";

/// A connection to a PostgreSQL database holding queues; it connects again after losing the
/// server.
pub struct PgStore {
    config: Config,
    /// TLS with the socket's trusted roots, when it names some; plain otherwise.
    tls: Option<MakeRustlsConnect>,
    client: Option<Client>,
    owner: i64,
    /// A connection was made since the last wait: notifications sent before it were missed.
    reconnected: bool,
}

impl PgStore {
    /// A store for the database `config` names, over TLS with `tls` if given; the connection
    /// is made on first use.
    pub fn new(config: Config, tls: Option<MakeRustlsConnect>, owner: i64) -> PgStore {
        PgStore {
            config,
            tls,
            client: None,
            owner,
            reconnected: false,
        }
    }

    /// The connection, made (with the table, and listening for news) if there is none.
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            let mut client = match &self.tls {
                Some(tls) => self.config.connect(tls.clone())?,
                None => self.config.connect(NoTls)?,
            };
            // Creating the table is serialised: two first users at once would otherwise race
            // on the catalogue.
            let mut tx = client.transaction()?;
            tx.batch_execute(
                "SELECT pg_advisory_xact_lock(7707392);
                 CREATE TABLE IF NOT EXISTS zvtran_queue (
                     id BIGSERIAL PRIMARY KEY,
                     queue TEXT NOT NULL,
                     body BYTEA NOT NULL,
                     attempts INTEGER NOT NULL DEFAULT 0,
                     owner BIGINT NOT NULL DEFAULT 0,
                     lease TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
                 );
                 CREATE INDEX IF NOT EXISTS zvtran_queue_by_name ON zvtran_queue (queue, id);",
            )?;
            tx.commit()?;
            client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
            self.client = Some(client);
            self.reconnected = true;
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Runs `f` on the connection; an error that closed it drops it, to connect again next
    /// time.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Client, i64) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let owner = self.owner;
        let client = self.client()?;
        let result = f(client, owner);
        if result.is_err() && client.is_closed() {
            self.client = None;
        }
        Ok(result?)
    }
}

impl Store for PgStore {
    fn insert(&mut self, queue: &str, bodies: &[Vec<u8>]) -> Result<(), StoreError> {
        self.with(|client, _| {
            let mut tx = client.transaction()?;
            // One statement for the batch; ordinality keeps the ids in the batch's order.
            tx.execute(
                "INSERT INTO zvtran_queue (queue, body) \
                 SELECT $1, b FROM unnest($2::bytea[]) WITH ORDINALITY AS t(b, n) ORDER BY n",
                &[&queue, &bodies],
            )?;
            // Delivered to listeners when the transaction commits.
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &queue])?;
            tx.commit()
        })
    }

    fn depth(&mut self, queue: &str) -> Result<u64, StoreError> {
        self.with(|client, _| {
            let row = client.query_one(
                "SELECT COUNT(*) FROM zvtran_queue WHERE queue = $1",
                &[&queue],
            )?;
            Ok(row.get::<_, i64>(0).max(0) as u64)
        })
    }

    fn claim(
        &mut self,
        queue: &str,
        after: i64,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        let lease_ms = lease.as_millis() as f64;
        let limit = n as i64;
        let mut rows = self.with(|client, owner| {
            // Rows another reader is claiming at this moment are skipped, not waited for.
            client.query(
                "UPDATE zvtran_queue SET attempts = attempts + 1, owner = $1, \
                     lease = clock_timestamp() + $2 * interval '1 millisecond' \
                 WHERE id IN (SELECT id FROM zvtran_queue \
                              WHERE queue = $3 AND id > $4 AND lease < clock_timestamp() \
                              ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, body, attempts",
                &[&owner, &lease_ms, &queue, &after, &limit],
            )
        })?;
        rows.sort_by_key(|r| r.get::<_, i64>(0));
        Ok(rows
            .into_iter()
            .map(|r| Claimed {
                id: r.get(0),
                body: r.get(1),
                attempts: i64::from(r.get::<_, i32>(2)),
            })
            .collect())
    }

    fn renew(&mut self, ids: &[i64], lease: Duration) -> Result<(), StoreError> {
        let lease_ms = lease.as_millis() as f64;
        self.with(|client, owner| {
            client.execute(
                "UPDATE zvtran_queue SET lease = clock_timestamp() + $1 * interval '1 millisecond' \
                 WHERE id = ANY($2) AND owner = $3",
                &[&lease_ms, &ids, &owner],
            )
        })?;
        Ok(())
    }

    fn delete(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        self.with(|client, _| {
            client.execute("DELETE FROM zvtran_queue WHERE id = ANY($1)", &[&ids])
        })?;
        Ok(())
    }

    fn release(&mut self, ids: &[i64], uncount: bool) -> Result<(), StoreError> {
        let back = i32::from(uncount);
        self.with(|client, owner| {
            let mut tx = client.transaction()?;
            let queues = tx.query(
                "UPDATE zvtran_queue SET lease = '-infinity', owner = 0, attempts = attempts - $1 \
                 WHERE id = ANY($2) AND owner = $3 RETURNING queue",
                &[&back, &ids, &owner],
            )?;
            // Readers waiting for news hear of the rows given back.
            if let Some(row) = queues.first() {
                tx.execute(
                    "SELECT pg_notify($1, $2)",
                    &[&CHANNEL, &row.get::<_, &str>(0)],
                )?;
            }
            tx.commit()
        })
    }

    fn move_to(&mut self, id: i64, queue: &str) -> Result<(), StoreError> {
        self.with(|client, owner| {
            // A new id puts it at the end of its new queue.
            let mut tx = client.transaction()?;
            tx.execute(
                "INSERT INTO zvtran_queue (queue, body) \
                 SELECT $1, body FROM zvtran_queue WHERE id = $2 AND owner = $3",
                &[&queue, &id, &owner],
            )?;
            tx.execute(
                "DELETE FROM zvtran_queue WHERE id = $1 AND owner = $2",
                &[&id, &owner],
            )?;
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &queue])?;
            tx.commit()
        })
    }

    fn wait_for_news(&mut self, queue: &str, timeout: Duration) -> bool {
        if self.client().is_err() {
            // No server: wait before trying again.
            std::thread::sleep(timeout);
            return false;
        }
        if std::mem::take(&mut self.reconnected) {
            // Whatever was written while we were away is news.
            return true;
        }
        let Some(client) = self.client.as_mut() else {
            return false;
        };
        let mut news = client.notifications();
        let mut waiting = news.timeout_iter(timeout);
        loop {
            match waiting.next() {
                Ok(Some(n)) if n.payload() == queue => return true,
                Ok(Some(_)) => continue,
                Ok(None) => return false,
                Err(_) => return false,
            }
        }
    }
}
