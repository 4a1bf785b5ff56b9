//! PULL: fair-queue inbound, no outbound (RFC 30).

use zmtp::SocketType;

use crate::builder::{Inbound, PatternBuilder};
use crate::pattern::Pattern;

/// PULL: one message from each pusher in turn.
pub fn pull() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Pull)
            .inbound(Inbound::FairQueue),
    )
}
