//! PEER and CHANNEL: thread-safe peer-to-peer (RFC 51) and pair (RFC 52).

use zmtp::SocketType;

use crate::builder::{Envelope, Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// PEER: like SERVER, and it may connect: a connection's routing id is known at once.
pub fn peer() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Peer)
            .outbound(Outbound::RouteById)
            .inbound(Inbound::FairQueue)
            .envelope(Envelope::GeneratedId)
            .single_part(true),
    )
}

/// CHANNEL: a single-part PAIR: one peer only.
pub fn channel() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Channel)
            .outbound(Outbound::LoadBalance)
            .inbound(Inbound::FairQueue)
            .max_peers(1)
            .single_part(true),
    )
}
