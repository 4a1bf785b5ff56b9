//! ROUTER: route by identity outbound, fair-queue inbound with the routing id in front (RFC 28).

use zmtp::SocketType;

use crate::builder::{Envelope, Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// ROUTER: received messages carry the sender's routing id first; sent messages name their peer.
pub fn router() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Router)
            .outbound(Outbound::RouteById)
            .inbound(Inbound::FairQueue)
            .envelope(Envelope::RoutingId),
    )
}
