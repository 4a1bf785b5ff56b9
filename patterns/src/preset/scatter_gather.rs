//! SCATTER and GATHER: thread-safe, single-part pipeline (RFC 49).

use zmtp::SocketType;

use crate::builder::{Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// SCATTER: single-part messages, load-balanced, like a PUSH.
pub fn scatter() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Scatter)
            .outbound(Outbound::LoadBalance)
            .single_part(true),
    )
}

/// GATHER: single-part messages, fair-queued, like a PULL.
pub fn gather() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Gather)
            .inbound(Inbound::FairQueue)
            .single_part(true),
    )
}
