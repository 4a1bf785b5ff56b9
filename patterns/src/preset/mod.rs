//! The classic socket types, each a composition made with the same builder users have.

mod client_server;
mod dealer;
mod nng;
mod pair;
mod peer_channel;
mod publisher;
mod pull;
mod push;
mod radio_dish;
mod rep;
mod req;
mod router;
mod scatter_gather;
mod subscriber;

pub use client_server::{client, server};
pub use dealer::dealer;
pub use nng::{bus, respondent, surveyor};
pub use pair::pair;
pub use peer_channel::{channel, peer};
pub use publisher::{pub_, xpub};
pub use pull::pull;
pub use push::push;
pub use radio_dish::{dish, radio};
pub use rep::rep;
pub use req::req;
pub use router::router;
pub use scatter_gather::{gather, scatter};
pub use subscriber::{sub, xsub};

use zmtp::SocketType;

/// A preset's composition is fixed and covered by tests, so building it cannot fail.
#[allow(
    clippy::expect_used,
    reason = "every preset is built by a test; an error is a bug here"
)]
fn valid(builder: crate::builder::PatternBuilder) -> crate::Pattern {
    builder.build().expect("a preset is a valid composition")
}

/// The preset for every ZMTP socket type, classic and draft.
pub fn for_type(socket_type: SocketType) -> Option<crate::Pattern> {
    Some(match socket_type {
        SocketType::Pair => pair(),
        SocketType::Pub => pub_(),
        SocketType::Sub => sub(),
        SocketType::Req => req(),
        SocketType::Rep => rep(),
        SocketType::Dealer => dealer(),
        SocketType::Router => router(),
        SocketType::Pull => pull(),
        SocketType::Push => push(),
        SocketType::XPub => xpub(),
        SocketType::XSub => xsub(),
        SocketType::Client => client(),
        SocketType::Server => server(),
        SocketType::Radio => radio(),
        SocketType::Dish => dish(),
        SocketType::Scatter => scatter(),
        SocketType::Gather => gather(),
        SocketType::Peer => peer(),
        SocketType::Channel => channel(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(t: SocketType) -> crate::Needs {
        for_type(t).unwrap().needs()
    }

    #[test]
    fn what_the_classic_types_ask_of_a_transport() {
        use SocketType::*;
        // Delivery promised: everything but publish-subscribe.
        for t in [Push, Pull, Req, Rep, Dealer, Router, Pair, Client, Server] {
            assert!(needs(t).delivery, "{t}");
        }
        for t in [Pub, Sub, XPub, XSub, Radio, Dish] {
            assert!(!needs(t).delivery, "{t}");
        }
        // One way: subscribers only receive, publishers (but XPUB) only send.
        for t in [Sub, Dish, Pull] {
            assert!(!needs(t).sends && needs(t).receives, "{t}");
        }
        for t in [Pub, Radio, Push] {
            assert!(needs(t).sends && !needs(t).receives, "{t}");
        }
        assert!(needs(XPub).receives && needs(XSub).sends);
        // Chosen peers: load-balancing, routing, replies.
        for t in [Push, Dealer, Router, Req, Rep, Server] {
            assert!(needs(t).per_peer, "{t}");
        }
        for t in [Pub, Radio, Sub, Dish, Pull] {
            assert!(!needs(t).per_peer, "{t}");
        }
    }
}
