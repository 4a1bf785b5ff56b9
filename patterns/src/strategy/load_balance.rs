//! Load-balance outbound: each message to the next peer in turn that has room (RFC 28/30).

use zmtp::Message;

use super::rotation::Rotation;
use crate::peer::{PeerId, PeerPipes};

/// Round-robin over the peers whose pipes have room. A peer at its high-water mark leaves the
/// rotation until the socket reports it writable again.
#[derive(Debug, Clone, Default)]
pub struct LoadBalance {
    active: Rotation,
}

impl LoadBalance {
    /// A load balancer with no peers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a peer (back) in the rotation: it is new, or its pipe has room again.
    pub fn activate(&mut self, peer: PeerId) {
        self.active.insert(peer);
    }

    /// Forgets a peer.
    pub fn remove(&mut self, peer: PeerId) {
        self.active.remove(peer);
    }

    /// Sends to the next peer in turn with room; gives the message back if none has room.
    pub fn send(&mut self, mut msg: Message, pipes: &mut dyn PeerPipes) -> Result<PeerId, Message> {
        while let Some(peer) = self.active.front() {
            match pipes.try_send(peer, msg) {
                Ok(()) => {
                    self.active.rotate();
                    return Ok(peer);
                }
                Err(back) => {
                    msg = back;
                    self.active.drop_front();
                }
            }
        }
        Err(msg)
    }

    /// Sends to the next peer in turn that `accept`s the message and has room (competing
    /// consumers: one of the subscribers of a topic). Peers not accepted keep their turn.
    pub fn send_matching(
        &mut self,
        mut msg: Message,
        pipes: &mut dyn PeerPipes,
        accept: &dyn Fn(PeerId) -> bool,
    ) -> Result<PeerId, Message> {
        let order: Vec<PeerId> = self.active.iter().collect();
        for peer in order {
            if !accept(peer) {
                continue;
            }
            match pipes.try_send(peer, msg) {
                Ok(()) => {
                    // Its turn is used: to the back of the rotation.
                    self.active.remove(peer);
                    self.active.insert(peer);
                    return Ok(peer);
                }
                Err(back) => {
                    msg = back;
                    self.active.remove(peer);
                }
            }
        }
        Err(msg)
    }

    /// Whether any peer is in the rotation (it may still turn out full).
    pub fn has_active(&self) -> bool {
        !self.active.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePipes;
    use proptest::prelude::*;

    #[test]
    fn round_robin_skips_full_peers() {
        let mut pipes = FakePipes::default();
        let mut lb = LoadBalance::new();
        for p in 1..=3 {
            lb.activate(PeerId(p));
            pipes.add(PeerId(p), if p == 2 { 1 } else { 10 });
        }
        let sent: Vec<u64> = (0..7)
            .map(|i| {
                lb.send(Message::from(format!("{i}").into_bytes()), &mut pipes)
                    .unwrap()
                    .0
            })
            .collect();
        assert_eq!(sent, [1, 2, 3, 1, 3, 1, 3]);
    }

    #[test]
    fn matching_load_balance_skips_peers_that_do_not_accept() {
        let mut pipes = FakePipes::default();
        let mut lb = LoadBalance::new();
        for p in 1..=3 {
            lb.activate(PeerId(p));
            pipes.add(PeerId(p), 10);
        }
        let odd = |p: PeerId| p.0 % 2 == 1;
        let sent: Vec<u64> = (0..4)
            .map(|_| {
                lb.send_matching(Message::from("m"), &mut pipes, &odd)
                    .unwrap()
                    .0
            })
            .collect();
        assert_eq!(sent, [1, 3, 1, 3]);
        let none = |_: PeerId| false;
        assert!(
            lb.send_matching(Message::from("m"), &mut pipes, &none)
                .is_err()
        );
        // Peer 2 kept its turn while skipped.
        assert_eq!(lb.send(Message::from("m"), &mut pipes).unwrap(), PeerId(2));
    }

    proptest! {
        /// Load-balance never sends to a peer at its HWM while another has room, and refuses
        /// only when every peer is full.
        #[test]
        fn never_to_a_full_peer_while_another_has_room(
            caps in proptest::collection::vec(0usize..4, 1..5),
            drains in proptest::collection::vec(0usize..5, 0..40),
        ) {
            let mut pipes = FakePipes::default();
            let mut lb = LoadBalance::new();
            for (i, cap) in caps.iter().enumerate() {
                pipes.add(PeerId(i as u64), *cap);
                lb.activate(PeerId(i as u64));
            }
            for d in drains {
                // Sometimes a peer drains one message and is reported writable again.
                if d < caps.len() && pipes.drain_one(PeerId(d as u64)) {
                    lb.activate(PeerId(d as u64));
                }
                let any_room = pipes.any_room();
                match lb.send(Message::from("m"), &mut pipes) {
                    Ok(peer) => prop_assert!(pipes.accepted_last(peer)),
                    Err(_) => prop_assert!(!any_room, "refused while a peer had room"),
                }
            }
        }
    }
}
