//! CLIENT and SERVER: thread-safe, single-part request-reply (RFC 41).

use zmtp::SocketType;

use crate::builder::{Envelope, Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// CLIENT: single-part messages, load-balanced out and fair-queued in, like a DEALER.
pub fn client() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Client)
            .outbound(Outbound::LoadBalance)
            .inbound(Inbound::FairQueue)
            .single_part(true),
    )
}

/// SERVER: single-part messages; each peer gets a 4-octet routing id we choose, received messages carry it first and sent ones name their peer with it.
pub fn server() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Server)
            .outbound(Outbound::RouteById)
            .inbound(Inbound::FairQueue)
            .envelope(Envelope::GeneratedId)
            .single_part(true),
    )
}
