//! REQ: load-balance plus fair-queue, with the request-reply envelope and alternation (RFC 28).

use zmtp::SocketType;

use crate::builder::{Envelope, Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// REQ: send a request, then receive its reply, in strict turn.
pub fn req() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Req)
            .outbound(Outbound::LoadBalance)
            .inbound(Inbound::FairQueue)
            .envelope(Envelope::Request),
    )
}
