//! nng's scalability protocols ZeroMQ lacks: SURVEYOR/RESPONDENT and BUS (DEALER on the wire).

use zmtp::SocketType;

use crate::builder::{Envelope, Inbound, Outbound, PatternBuilder};
use crate::pattern::Pattern;

/// SURVEYOR: each survey goes to every respondent; replies to it are received until the socket's survey time passes. Presents DEALER on the wire.
pub fn surveyor() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Dealer)
            .outbound(Outbound::FanOut)
            .inbound(Inbound::FairQueue)
            .envelope(Envelope::Survey),
    )
}

/// RESPONDENT: receives surveys and answers the latest one; the answer goes to whoever asked. Presents DEALER on the wire.
pub fn respondent() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Dealer)
            .inbound(Inbound::FairQueue)
            .envelope(Envelope::SurveyReply),
    )
}

/// BUS: every message to every peer, every peer's messages received in turn. Presents DEALER on the wire.
pub fn bus() -> Pattern {
    super::valid(
        PatternBuilder::new()
            .wire_type(SocketType::Dealer)
            .outbound(Outbound::FanOut)
            .inbound(Inbound::FairQueue),
    )
}
