//! REQ: load-balance plus fair-queue, with the request-reply envelope and alternation (RFC 28).

use zmtp::SocketType;

use crate::pattern::{Envelope, Inbound, Outbound, Pattern, Subscriptions};
use crate::strategy::envelope::ReqState;
use crate::strategy::{fair_queue::FairQueue, load_balance::LoadBalance};

/// REQ: send a request, then receive its reply, in strict turn.
pub fn req() -> Pattern {
    Pattern::new(
        SocketType::Req,
        Outbound::LoadBalance(LoadBalance::new()),
        Inbound::FairQueue(FairQueue::new()),
        Envelope::Req(ReqState::Idle),
        Subscriptions::None,
    )
}
