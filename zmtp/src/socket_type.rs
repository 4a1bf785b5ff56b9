//! Socket types as announced in READY's Socket-Type, and RFC 37's table of legal pairs.

use std::fmt;

/// A ZeroMQ socket type as it travels in the Socket-Type property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// Exclusive pair (RFC 31).
    Pair,
    /// Publisher (RFC 29).
    Pub,
    /// Subscriber (RFC 29).
    Sub,
    /// Requester (RFC 28).
    Req,
    /// Replier (RFC 28).
    Rep,
    /// Load-balancing, fair-queuing peer of REP and ROUTER (RFC 28).
    Dealer,
    /// Routing by identity (RFC 28).
    Router,
    /// Pipeline sink (RFC 30).
    Pull,
    /// Pipeline source (RFC 30).
    Push,
    /// Publisher that sees subscriptions (RFC 29).
    XPub,
    /// Subscriber that sends subscriptions as messages (RFC 29).
    XSub,
    /// Thread-safe server (RFC 41).
    Server,
    /// Thread-safe client (RFC 41).
    Client,
    /// Group publisher (RFC 48).
    Radio,
    /// Group subscriber (RFC 48).
    Dish,
    /// Scatter-gather sink (RFC 49).
    Gather,
    /// Scatter-gather source (RFC 49).
    Scatter,
    /// Peer-to-peer (RFC 51).
    Peer,
    /// Thread-safe pair (RFC 52).
    Channel,
}

impl SocketType {
    /// Every socket type RFC 37 names.
    pub const ALL: [SocketType; 19] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
        SocketType::Server,
        SocketType::Client,
        SocketType::Radio,
        SocketType::Dish,
        SocketType::Gather,
        SocketType::Scatter,
        SocketType::Peer,
        SocketType::Channel,
    ];

    /// The wire spelling, e.g. `"DEALER"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
            SocketType::Server => "SERVER",
            SocketType::Client => "CLIENT",
            SocketType::Radio => "RADIO",
            SocketType::Dish => "DISH",
            SocketType::Gather => "GATHER",
            SocketType::Scatter => "SCATTER",
            SocketType::Peer => "PEER",
            SocketType::Channel => "CHANNEL",
        }
    }

    /// Parses the wire spelling. Like libzmq, the match is exact (upper case).
    pub fn from_wire(name: &[u8]) -> Option<SocketType> {
        SocketType::ALL
            .into_iter()
            .find(|t| t.as_str().as_bytes() == name)
    }

    /// Parses a name in any case, for options and command lines (`"dealer"` → `Dealer`).
    pub fn from_name(name: &str) -> Option<SocketType> {
        SocketType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    /// RFC 37, "The Socket-Type Property": whether a peer of type `peer` may talk to us.
    pub fn is_compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        match self {
            Req => matches!(peer, Rep | Router),
            Rep => matches!(peer, Req | Dealer),
            Dealer => matches!(peer, Rep | Dealer | Router),
            Router => matches!(peer, Req | Dealer | Router),
            Pub | XPub => matches!(peer, Sub | XSub),
            Sub | XSub => matches!(peer, Pub | XPub),
            Push => peer == Pull,
            Pull => peer == Push,
            Pair => peer == Pair,
            Client => peer == Server,
            Server => peer == Client,
            Radio => peer == Dish,
            Dish => peer == Radio,
            Scatter => peer == Gather,
            Gather => peer == Scatter,
            Peer => peer == Peer,
            Channel => peer == Channel,
        }
    }

    /// Whether READY carries an Identity property for this type, as libzmq does for REQ, DEALER
    /// and ROUTER (RFC 37: those are the types that may announce one to a ROUTER).
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }

    /// Whether the type receives subscriptions from its peers (PUB and XPUB).
    pub fn accepts_subscriptions(self) -> bool {
        matches!(self, SocketType::Pub | SocketType::XPub)
    }

    /// RFC 37's thread-safe family, which disallows multipart messages.
    pub fn is_thread_safe(self) -> bool {
        use SocketType::*;
        matches!(
            self,
            Client | Server | Radio | Dish | Scatter | Gather | Peer | Channel
        )
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_wire(t.as_str().as_bytes()), Some(t));
            assert_eq!(SocketType::from_name(&t.as_str().to_lowercase()), Some(t));
        }
        assert_eq!(SocketType::from_wire(b"dealer"), None);
        assert_eq!(SocketType::from_wire(b"STREAM"), None);
    }

    #[test]
    fn compatibility_is_symmetric() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn compatibility_matches_rfc37_table_size() {
        // RFC 37's table has 29 marks (ordered pairs).
        let marks = SocketType::ALL
            .iter()
            .flat_map(|a| SocketType::ALL.iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.is_compatible(**b))
            .count();
        assert_eq!(marks, 29);
    }
}
