//! RADIO and DISH: group messaging with exact group matching (RFC 48).

use zmtp::SocketType;

use crate::builder::{Filter, Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// RADIO: each message is a group frame then a single-part body, sent to the peers that joined that group; full peers miss it.
pub fn radio() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Radio)
            .outbound(Outbound::FanOut)
            .filter(Filter::PeerGroups)
            .single_part(true),
    )
}

/// DISH: joins groups with `join()`; receives the group frame then the body of messages for joined groups.
pub fn dish() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Dish)
            .inbound(Inbound::FairQueue)
            .filter(Filter::JoinGroups)
            .single_part(true),
    )
}
