//! REP: fair-queue inbound; the reply goes back along the request's envelope (RFC 28).

use zmtp::SocketType;

use crate::builder::{Envelope, Inbound, PatternBuilder};
use crate::pattern::Pattern;

/// REP: receive a request, then send its reply, in strict turn.
pub fn rep() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Rep)
            .inbound(Inbound::FairQueue)
            .envelope(Envelope::Reply),
    )
}
