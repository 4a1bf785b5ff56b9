//! PULL: fair-queue inbound, no outbound (RFC 30).

use zmtp::SocketType;

use crate::pattern::{Envelope, Inbound, Outbound, Pattern, Subscriptions};
use crate::strategy::fair_queue::FairQueue;

/// PULL: one message from each pusher in turn.
pub fn pull() -> Pattern {
    Pattern::new(
        SocketType::Pull,
        Outbound::None,
        Inbound::FairQueue(FairQueue::new()),
        Envelope::None,
        Subscriptions::None,
    )
}
