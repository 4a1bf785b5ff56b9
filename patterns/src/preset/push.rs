//! PUSH: load-balance outbound, no inbound (RFC 30).

use zmtp::SocketType;

use crate::pattern::{Envelope, Inbound, Outbound, Pattern, Subscriptions};
use crate::strategy::load_balance::LoadBalance;

/// PUSH: each message to the next peer with room; blocks at the high-water mark.
pub fn push() -> Pattern {
    Pattern::new(
        SocketType::Push,
        Outbound::LoadBalance(LoadBalance::new()),
        Inbound::None,
        Envelope::None,
        Subscriptions::None,
    )
}
