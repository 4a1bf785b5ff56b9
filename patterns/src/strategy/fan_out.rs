//! Fan-out outbound: a copy of each message to every accepted peer; full peers miss it.

use zmtp::Message;

use crate::peer::{PeerId, PeerPipes};

/// Sends every message to all peers the filter accepts (all of them without a filter). A peer
/// at its high-water mark misses the message, as libzmq's PUB drops rather than blocks.
#[derive(Debug, Clone, Default)]
pub struct FanOut {
    peers: Vec<PeerId>,
}

impl FanOut {
    /// A fan-out with no peers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a peer.
    pub fn add(&mut self, peer: PeerId) {
        if !self.peers.contains(&peer) {
            self.peers.push(peer);
        }
    }

    /// Forgets a peer.
    pub fn remove(&mut self, peer: PeerId) {
        self.peers.retain(|p| *p != peer);
    }

    /// Copies `msg` to every accepted peer only if every one of them has room (libzmq's
    /// XPUB_NODROP); otherwise gives it back so the sender can wait.
    pub fn send_when_all_have_room(
        &mut self,
        msg: Message,
        pipes: &mut dyn PeerPipes,
        accept: &dyn Fn(PeerId) -> bool,
    ) -> Result<usize, Message> {
        if self.peers.iter().any(|p| accept(*p) && !pipes.has_room(*p)) {
            return Err(msg);
        }
        Ok(self.send(msg, pipes, accept))
    }

    /// Copies `msg` to every accepted peer; returns how many took it.
    pub fn send(
        &mut self,
        msg: Message,
        pipes: &mut dyn PeerPipes,
        accept: &dyn Fn(PeerId) -> bool,
    ) -> usize {
        let targets: Vec<PeerId> = self.peers.iter().copied().filter(|p| accept(*p)).collect();
        let mut delivered = 0;
        let mut msg = Some(msg);
        let last = targets.len().saturating_sub(1);
        for (i, peer) in targets.into_iter().enumerate() {
            // The last target takes the original: no refcount traffic for a single subscriber.
            let copy = if i == last { msg.take() } else { msg.clone() };
            if let Some(copy) = copy {
                if pipes.try_send(peer, copy).is_ok() {
                    delivered += 1;
                }
            }
        }
        delivered
    }

    /// The peers, in the order they were added.
    pub fn peers(&self) -> &[PeerId] {
        &self.peers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePipes;

    #[test]
    fn sends_to_accepted_peers_and_drops_for_full_ones() {
        let mut pipes = FakePipes::default();
        let mut fo = FanOut::new();
        for p in 1..=3 {
            pipes.add(PeerId(p), if p == 3 { 0 } else { 10 });
            fo.add(PeerId(p));
        }
        let all = |_: PeerId| true;
        assert_eq!(fo.send(Message::from("x"), &mut pipes, &all), 2);
        let only_one = |p: PeerId| p == PeerId(1);
        assert_eq!(fo.send(Message::from("y"), &mut pipes, &only_one), 1);
        assert_eq!(pipes.sent(PeerId(1)).len(), 2);
        assert_eq!(pipes.sent(PeerId(2)).len(), 1);
        assert!(
            fo.send_when_all_have_room(Message::from("z"), &mut pipes, &all)
                .is_err()
        );
        fo.remove(PeerId(3));
        assert_eq!(fo.peers(), [PeerId(1), PeerId(2)]);
    }
}
