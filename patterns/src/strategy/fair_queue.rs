//! Fair-queue inbound: take one message from each peer that has one, in turn (RFC 28/30).

use zmtp::Message;

use super::rotation::Rotation;
use crate::peer::{PeerId, PeerPipes};

/// Round-robin over the peers that may have messages. A peer whose pipe is empty leaves the
/// rotation until the socket reports it readable again.
#[derive(Debug, Clone, Default)]
pub struct FairQueue {
    active: Rotation,
}

impl FairQueue {
    /// A fair queue with no peers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a peer (back) in the rotation: it is new, or its pipe has messages again.
    pub fn activate(&mut self, peer: PeerId) {
        self.active.insert(peer);
    }

    /// Forgets a peer.
    pub fn remove(&mut self, peer: PeerId) {
        self.active.remove(peer);
    }

    /// The next message, from the next peer in turn that has one.
    pub fn recv(&mut self, pipes: &mut dyn PeerPipes) -> Option<(PeerId, Message)> {
        while let Some(peer) = self.active.front() {
            if let Some(msg) = pipes.try_recv(peer) {
                self.active.rotate();
                return Some((peer, msg));
            }
            self.active.drop_front();
        }
        None
    }

    /// Whether any peer is in the rotation (it may still turn out empty).
    pub fn has_active(&self) -> bool {
        !self.active.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePipes;

    #[test]
    fn takes_peers_in_turn_and_skips_empty_ones() {
        let mut pipes = FakePipes::default();
        let mut fq = FairQueue::new();
        for p in 1..=3 {
            fq.activate(PeerId(p));
            pipes.add(PeerId(p), 10);
        }
        for i in 0..3 {
            pipes.deliver(PeerId(1), format!("a{i}"));
            pipes.deliver(PeerId(3), format!("c{i}"));
        }
        let order: Vec<String> = std::iter::from_fn(|| fq.recv(&mut pipes))
            .map(|(_, m)| String::from_utf8(m.first().unwrap().to_vec()).unwrap())
            .collect();
        assert_eq!(order, ["a0", "c0", "a1", "c1", "a2", "c2"]);
        assert!(!fq.has_active());
        fq.activate(PeerId(2));
        pipes.deliver(PeerId(2), "b");
        assert_eq!(fq.recv(&mut pipes).unwrap().0, PeerId(2));
    }
}
