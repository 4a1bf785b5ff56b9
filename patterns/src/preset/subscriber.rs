//! SUB and XSUB: fair-queue inbound; subscriptions sent to and replayed for every peer (RFC 29).

use zmtp::SocketType;

use crate::pattern::{Envelope, Inbound, Outbound, Pattern, Subscriptions};
use crate::strategy::fan_out::FanOut;
use crate::strategy::{fair_queue::FairQueue, subscription::SubscriptionTrie};

fn subscriber(socket_type: SocketType, xsub: bool) -> Pattern {
    Pattern::new(
        socket_type,
        Outbound::FanOut(FanOut::unfiltered()),
        Inbound::FairQueue(FairQueue::new()),
        Envelope::None,
        Subscriptions::Subscriber {
            local: SubscriptionTrie::new(),
            filter_inbound: !xsub,
            user_messages: xsub,
        },
    )
}

/// SUB: subscribes with options, receives matching messages (filtered here too).
pub fn sub() -> Pattern {
    subscriber(SocketType::Sub, false)
}

/// XSUB: subscribes by sending `\x01topic` / `\x00topic`; other messages go to every publisher;
/// receives everything its publishers send.
pub fn xsub() -> Pattern {
    subscriber(SocketType::XSub, true)
}
