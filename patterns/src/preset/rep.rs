//! REP: fair-queue inbound; the reply goes back along the request's envelope (RFC 28).

use zmtp::SocketType;

use crate::pattern::{Envelope, Inbound, Outbound, Pattern, Subscriptions};
use crate::strategy::envelope::RepState;
use crate::strategy::fair_queue::FairQueue;

/// REP: receive a request, then send its reply, in strict turn.
pub fn rep() -> Pattern {
    Pattern::new(
        SocketType::Rep,
        Outbound::None,
        Inbound::FairQueue(FairQueue::new()),
        Envelope::Rep(RepState::Idle),
        Subscriptions::None,
    )
}
