//! PAIR: one peer only; load-balance and fair-queue over it (RFC 31).

use zmtp::SocketType;

use crate::pattern::{Envelope, Inbound, Outbound, Pattern, Subscriptions};
use crate::strategy::{fair_queue::FairQueue, load_balance::LoadBalance};

/// PAIR: an exclusive pair; a second peer is refused.
pub fn pair() -> Pattern {
    Pattern::new(
        SocketType::Pair,
        Outbound::LoadBalance(LoadBalance::new()),
        Inbound::FairQueue(FairQueue::new()),
        Envelope::None,
        Subscriptions::None,
    )
    .with_max_peers(1)
}
