//! PUB and XPUB: filtered fan-out outbound; peers' subscriptions inbound (RFC 29).

use zmtp::SocketType;

use crate::builder::{Filter, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// PUB: each message to every subscriber whose prefix matches; full subscribers miss it.
pub fn pub_() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Pub)
            .outbound(Outbound::FanOut)
            .filter(Filter::PeerSubscriptions),
    )
}

/// XPUB: a PUB whose application also receives subscriptions (first subscribe and last cancel
/// of each topic, or every subscribe with XPUB_VERBOSE) and other messages from subscribers.
pub fn xpub() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::XPub)
            .outbound(Outbound::FanOut)
            .filter(Filter::PeerSubscriptionsVisible),
    )
}
