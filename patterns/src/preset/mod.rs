//! The classic socket types, each a composition made with the same builder users have.

mod dealer;
mod pair;
mod publisher;
mod pull;
mod push;
mod rep;
mod req;
mod router;
mod subscriber;

pub use dealer::dealer;
pub use pair::pair;
pub use publisher::{pub_, xpub};
pub use pull::pull;
pub use push::push;
pub use rep::rep;
pub use req::req;
pub use router::router;
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

/// The preset for a classic socket type; `None` for the draft types, which the dynamic
/// patterns issue composes.
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
        _ => return None,
    })
}
