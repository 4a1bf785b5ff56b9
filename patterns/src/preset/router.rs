//! ROUTER: route by identity outbound, fair-queue inbound with the routing id in front (RFC 28).

use zmtp::SocketType;

use crate::pattern::{Envelope, Inbound, Outbound, Pattern, Subscriptions};
use crate::strategy::fair_queue::FairQueue;

/// ROUTER: received messages carry the sender's routing id first; sent messages name their peer.
pub fn router() -> Pattern {
    Pattern::new(
        SocketType::Router,
        Outbound::ByIdentity,
        Inbound::FairQueue(FairQueue::new()),
        Envelope::RoutingId,
        Subscriptions::None,
    )
}
