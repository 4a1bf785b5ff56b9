//! Fan-out outbound: a copy of each message to every peer whose filter matches; full peers miss it.

use std::collections::HashMap;

use zmtp::Message;

use super::subscription::SubscriptionTrie;
use crate::peer::{PeerId, PeerPipes};

/// Sends every message to all peers, or with per-peer subscriptions (PUB, XPUB) only to those
/// whose prefixes match the first frame. A peer at its high-water mark misses the message, as
/// libzmq's PUB drops rather than blocks.
#[derive(Debug, Clone, Default)]
pub struct FanOut {
    peers: Vec<PeerId>,
    filters: Option<HashMap<PeerId, SubscriptionTrie>>,
    /// Groups (RADIO) match the first frame exactly; subscriptions (PUB) match a prefix.
    exact: bool,
}

impl FanOut {
    /// Every message to every peer (XSUB upstream, BUS).
    pub fn unfiltered() -> Self {
        Self::default()
    }

    /// Only to peers subscribed to a prefix of the message (PUB, XPUB).
    pub fn filtered() -> Self {
        FanOut {
            peers: Vec::new(),
            filters: Some(HashMap::new()),
            exact: false,
        }
    }

    /// Only to peers that joined the message's group, its first frame (RADIO).
    pub fn grouped() -> Self {
        FanOut {
            exact: true,
            ..FanOut::filtered()
        }
    }

    /// Adds a peer (with no subscriptions yet, if filtered).
    pub fn add(&mut self, peer: PeerId) {
        if !self.peers.contains(&peer) {
            self.peers.push(peer);
            if let Some(f) = &mut self.filters {
                f.insert(peer, SubscriptionTrie::new());
            }
        }
    }

    /// Forgets a peer and returns its subscriptions.
    pub fn remove(&mut self, peer: PeerId) -> Option<SubscriptionTrie> {
        self.peers.retain(|p| *p != peer);
        self.filters.as_mut().and_then(|f| f.remove(&peer))
    }

    /// A peer's subscriptions, when filtered.
    pub fn filter_mut(&mut self, peer: PeerId) -> Option<&mut SubscriptionTrie> {
        self.filters.as_mut().and_then(|f| f.get_mut(&peer))
    }

    fn targets(&self, msg: &Message) -> Vec<PeerId> {
        let topic = msg.first().map(|f| f.as_ref()).unwrap_or_default();
        self.peers
            .iter()
            .copied()
            .filter(|p| match &self.filters {
                None => true,
                Some(f) if self.exact => f.get(p).is_some_and(|t| t.contains(topic)),
                Some(f) => f.get(p).is_some_and(|t| t.matches(topic)),
            })
            .collect()
    }

    /// Copies `msg` to every matching peer only if every one of them has room (libzmq's
    /// XPUB_NODROP); otherwise gives it back so the sender can wait.
    pub fn send_when_all_have_room(
        &mut self,
        msg: Message,
        pipes: &mut dyn PeerPipes,
    ) -> Result<usize, Message> {
        if self.targets(&msg).into_iter().any(|p| !pipes.has_room(p)) {
            return Err(msg);
        }
        Ok(self.send(msg, pipes))
    }

    /// Copies `msg` to every matching peer; returns how many took it.
    pub fn send(&mut self, msg: Message, pipes: &mut dyn PeerPipes) -> usize {
        let targets = self.targets(&msg);
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
    fn filtered_fan_out_drops_for_full_peers() {
        let mut pipes = FakePipes::default();
        let mut fo = FanOut::filtered();
        for p in 1..=3 {
            pipes.add(PeerId(p), if p == 3 { 0 } else { 10 });
            fo.add(PeerId(p));
        }
        fo.filter_mut(PeerId(1)).unwrap().subscribe(b"a");
        fo.filter_mut(PeerId(2)).unwrap().subscribe(b"");
        fo.filter_mut(PeerId(3)).unwrap().subscribe(b"");
        assert_eq!(fo.send(Message::from("apple"), &mut pipes), 2);
        assert_eq!(fo.send(Message::from("banana"), &mut pipes), 1);
        assert_eq!(pipes.sent(PeerId(1)).len(), 1);
        assert_eq!(pipes.sent(PeerId(2)).len(), 2);
        assert!(fo.remove(PeerId(1)).is_some());
        assert_eq!(fo.peers(), [PeerId(2), PeerId(3)]);
    }
}
