//! Latest value per topic inbound: of each topic's waiting messages, only the newest is received.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use zmtp::Message;

use super::fair_queue::FairQueue;
use crate::peer::{PeerId, PeerPipes};

/// A last-value cache: at each receive, everything waiting is taken (fairly) from the peers and
/// only the newest message of each topic (first frame) is kept; topics come out in the order
/// they first appeared. A slow reader sees current values, never a backlog; memory is bounded
/// by the number of topics, not of messages.
#[derive(Debug, Clone, Default)]
pub struct LatestPerTopic {
    fq: FairQueue,
    order: VecDeque<Bytes>,
    latest: HashMap<Bytes, (PeerId, Message)>,
}

impl LatestPerTopic {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a peer (back) in the rotation.
    pub fn activate(&mut self, peer: PeerId) {
        self.fq.activate(peer);
    }

    /// Forgets a peer (values it already sent stay).
    pub fn remove(&mut self, peer: PeerId) {
        self.fq.remove(peer);
    }

    /// The newest message of the topic that has waited longest.
    pub fn recv(&mut self, pipes: &mut dyn PeerPipes) -> Option<(PeerId, Message)> {
        while let Some((peer, msg)) = self.fq.recv(pipes) {
            let topic = msg.first().cloned().unwrap_or_default();
            if self.latest.insert(topic.clone(), (peer, msg)).is_none() {
                self.order.push_back(topic);
            }
        }
        let topic = self.order.pop_front()?;
        self.latest.remove(&topic)
    }

    /// Whether anything is cached or a peer may have more.
    pub fn has_pending(&self) -> bool {
        !self.order.is_empty() || self.fq.has_active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePipes;

    #[test]
    fn keeps_the_newest_value_of_each_topic() {
        let mut pipes = FakePipes::default();
        let mut cache = LatestPerTopic::new();
        pipes.add(PeerId(1), 10);
        cache.activate(PeerId(1));
        for (topic, v) in [
            ("eur", "1.08"),
            ("gbp", "0.85"),
            ("eur", "1.09"),
            ("eur", "1.10"),
        ] {
            pipes.deliver(PeerId(1), Message::from_frames([topic, v]));
        }
        let got: Vec<Message> =
            std::iter::from_fn(|| cache.recv(&mut pipes).map(|(_, m)| m)).collect();
        assert_eq!(
            got,
            [
                Message::from_frames(["eur", "1.10"]),
                Message::from_frames(["gbp", "0.85"])
            ]
        );
    }
}
