//! DEALER: load-balance outbound, fair-queue inbound, no envelope (RFC 28).

use zmtp::SocketType;

use crate::builder::{Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// DEALER: asynchronous request-reply without envelopes.
pub fn dealer() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Dealer)
            .outbound(Outbound::LoadBalance)
            .inbound(Inbound::FairQueue),
    )
}
