//! Two connections joined in memory on a fake clock: a harness for tests, fuzzing and benches.

use std::time::{Duration, Instant};

use crate::connection::{Config, Connection, Event};
use crate::error::{Error, UsageError};
use crate::mechanism::AuthOutcome;

/// A client and a server connection whose transmitted bytes are delivered to each other.
#[derive(Debug)]
pub struct Pair {
    /// The connecting side.
    pub client: Connection,
    /// The accepting side.
    pub server: Connection,
    /// The fake clock both sides are given.
    pub now: Instant,
    /// Events the client produced, in order.
    pub client_events: Vec<Event>,
    /// Events the server produced, in order.
    pub server_events: Vec<Event>,
}

/// The errors each side hit while the pair was driven.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PairError {
    /// The client's error, if it failed.
    pub client: Option<Error>,
    /// The server's error, if it failed.
    pub server: Option<Error>,
}

impl Pair {
    /// Creates both connections at the same fake instant (nothing is exchanged yet).
    pub fn new(client: Config, server: Config) -> Result<Pair, UsageError> {
        let now = Instant::now();
        Ok(Pair {
            client: Connection::new(client, now)?,
            server: Connection::new(server, now)?,
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
        })
    }

    /// Moves bytes both ways until neither side has anything to send. Once a side has failed,
    /// what it still had queued (an ERROR, say) is delivered and further bytes to it dropped.
    pub fn drive(&mut self) -> Result<(), PairError> {
        let mut errors = PairError::default();
        self.drive_into(&mut errors);
        errors.into_result()
    }

    /// Advances the clock, fires due timers on both sides, then [`drive`](Self::drive)s.
    pub fn advance(&mut self, by: Duration) -> Result<(), PairError> {
        self.now += by;
        let mut errors = PairError::default();
        for (conn, slot) in [
            (&mut self.client, &mut errors.client),
            (&mut self.server, &mut errors.server),
        ] {
            if conn.error().is_none() && conn.poll_timeout().is_some_and(|t| t <= self.now) {
                if let Err(e) = conn.handle_timeout(self.now) {
                    *slot = Some(e);
                }
            }
        }
        self.drive_into(&mut errors);
        errors.into_result()
    }

    /// Answers the server's pending [`Event::Authenticate`], then [`drive`](Self::drive)s.
    pub fn authenticate(&mut self, outcome: AuthOutcome) -> Result<(), PairError> {
        let mut errors = PairError::default();
        if let Err(e) = self.server.authenticate(outcome, self.now) {
            errors.server = Some(e);
        }
        self.drive_into(&mut errors);
        errors.into_result()
    }

    /// Whether both handshakes completed.
    pub fn both_ready(&self) -> bool {
        self.client.is_ready() && self.server.is_ready()
    }

    fn drive_into(&mut self, errors: &mut PairError) {
        loop {
            let a = shuttle(
                &mut self.client,
                &mut self.server,
                self.now,
                &mut errors.server,
            );
            let b = shuttle(
                &mut self.server,
                &mut self.client,
                self.now,
                &mut errors.client,
            );
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            self.server_events
                .extend(std::iter::from_fn(|| self.server.poll_event()));
            if !a && !b {
                return;
            }
        }
    }
}

impl PairError {
    fn into_result(self) -> Result<(), PairError> {
        if self.client.is_none() && self.server.is_none() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Delivers everything `from` has queued to `to`; returns whether anything moved.
fn shuttle(
    from: &mut Connection,
    to: &mut Connection,
    now: Instant,
    slot: &mut Option<Error>,
) -> bool {
    let mut moved = false;
    while let Some(bytes) = from.poll_transmit() {
        moved = true;
        if slot.is_none() && to.error().is_none() {
            if let Err(e) = to.handle_bytes(&bytes, now) {
                *slot = Some(e);
            }
        }
    }
    moved
}
