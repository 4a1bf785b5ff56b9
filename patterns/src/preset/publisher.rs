//! PUB and XPUB: filtered fan-out outbound; peers' subscriptions inbound (RFC 29).

use zmtp::SocketType;

use crate::pattern::{Envelope, Inbound, Outbound, Pattern, Subscriptions};
use crate::strategy::fan_out::FanOut;
use crate::strategy::subscription::SubscriptionTrie;

fn publisher(socket_type: SocketType, xpub: bool) -> Pattern {
    Pattern::new(
        socket_type,
        Outbound::FanOut(FanOut::filtered()),
        Inbound::None,
        Envelope::None,
        Subscriptions::Publisher {
            xpub,
            verbose: false,
            all: SubscriptionTrie::new(),
            pending: Default::default(),
        },
    )
}

/// PUB: each message to every subscriber whose prefix matches; full subscribers miss it.
pub fn pub_() -> Pattern {
    publisher(SocketType::Pub, false)
}

/// XPUB: a PUB whose application also receives subscriptions (first subscribe and last cancel
/// of each topic, or every subscribe with XPUB_VERBOSE) and other messages from subscribers.
pub fn xpub() -> Pattern {
    publisher(SocketType::XPub, true)
}
