//! DEALER: load-balance outbound, fair-queue inbound, no envelope (RFC 28).

use zmtp::SocketType;

use crate::pattern::{Envelope, Inbound, Outbound, Pattern, Subscriptions};
use crate::strategy::{fair_queue::FairQueue, load_balance::LoadBalance};

/// DEALER: asynchronous request-reply without envelopes.
pub fn dealer() -> Pattern {
    Pattern::new(
        SocketType::Dealer,
        Outbound::LoadBalance(LoadBalance::new()),
        Inbound::FairQueue(FairQueue::new()),
        Envelope::None,
        Subscriptions::None,
    )
}
