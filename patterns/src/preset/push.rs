//! PUSH: load-balance outbound, no inbound (RFC 30).

use zmtp::SocketType;

use crate::builder::{Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// PUSH: each message to the next peer with room; blocks at the high-water mark.
pub fn push() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Push)
            .outbound(Outbound::LoadBalance),
    )
}
