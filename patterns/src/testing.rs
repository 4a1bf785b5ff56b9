//! In-memory pipes for unit tests of strategies and presets.

use std::collections::{HashMap, VecDeque};

use zmtp::Message;

use crate::peer::{PeerId, PeerPipes};

/// Per-peer outbound queues with a capacity, and inbound queues the test fills.
#[derive(Debug, Default)]
pub struct FakePipes {
    out: HashMap<PeerId, (usize, VecDeque<Message>)>,
    inn: HashMap<PeerId, VecDeque<Message>>,
    last: Option<PeerId>,
}

impl FakePipes {
    pub fn add(&mut self, peer: PeerId, cap: usize) {
        self.out.insert(peer, (cap, VecDeque::new()));
        self.inn.insert(peer, VecDeque::new());
    }

    pub fn remove(&mut self, peer: PeerId) {
        self.out.remove(&peer);
        self.inn.remove(&peer);
    }

    pub fn deliver(&mut self, peer: PeerId, msg: impl Into<Message>) {
        self.inn.entry(peer).or_default().push_back(msg.into());
    }

    pub fn sent(&mut self, peer: PeerId) -> Vec<Message> {
        self.out
            .get_mut(&peer)
            .map(|(_, q)| q.drain(..).collect())
            .unwrap_or_default()
    }

    pub fn drain_one(&mut self, peer: PeerId) -> bool {
        self.out
            .get_mut(&peer)
            .is_some_and(|(_, q)| q.pop_front().is_some())
    }

    pub fn any_room(&self) -> bool {
        self.out.values().any(|(cap, q)| q.len() < *cap)
    }

    pub fn accepted_last(&self, peer: PeerId) -> bool {
        self.last == Some(peer)
    }
}

impl PeerPipes for FakePipes {
    fn try_send(&mut self, peer: PeerId, msg: Message) -> Result<(), Message> {
        match self.out.get_mut(&peer) {
            Some((cap, q)) if q.len() < *cap => {
                q.push_back(msg);
                self.last = Some(peer);
                Ok(())
            }
            _ => Err(msg),
        }
    }

    fn try_recv(&mut self, peer: PeerId) -> Option<Message> {
        self.inn.get_mut(&peer)?.pop_front()
    }

    fn has_message(&self, peer: PeerId) -> bool {
        self.inn.get(&peer).is_some_and(|q| !q.is_empty())
    }

    fn has_room(&self, peer: PeerId) -> bool {
        self.out.get(&peer).is_some_and(|(cap, q)| q.len() < *cap)
    }
}
