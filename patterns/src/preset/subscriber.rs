//! SUB and XSUB: fair-queue inbound; subscriptions sent to and replayed for every peer (RFC 29).

use zmtp::SocketType;

use crate::builder::{Filter, Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// SUB: subscribes with options, receives matching messages (filtered here too).
pub fn sub() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Sub)
            .inbound(Inbound::FairQueue)
            .filter(Filter::Subscribe),
    )
}

/// XSUB: subscribes by sending `\x01topic` / `\x00topic`; other messages go to every publisher;
/// receives everything its publishers send.
pub fn xsub() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::XSub)
            .outbound(Outbound::FanOut)
            .inbound(Inbound::FairQueue)
            .filter(Filter::SubscribeByMessage),
    )
}
