//! PAIR: one peer only; load-balance and fair-queue over it (RFC 31).

use zmtp::SocketType;

use crate::builder::{Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// PAIR: an exclusive pair; a second peer is refused.
pub fn pair() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Pair)
            .outbound(Outbound::LoadBalance)
            .inbound(Inbound::FairQueue)
            .max_peers(1),
    )
}
