//! A round-robin set of active peers, shared by fair-queue and load-balance.

use std::collections::{HashSet, VecDeque};

use crate::peer::PeerId;

/// Peers in round-robin order; each appears at most once.
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    order: VecDeque<PeerId>,
    members: HashSet<PeerId>,
}

impl Rotation {
    /// Adds `id` at the back unless it is already in; returns whether it was added.
    pub fn insert(&mut self, id: PeerId) -> bool {
        let added = self.members.insert(id);
        if added {
            self.order.push_back(id);
        }
        added
    }

    /// Removes `id` wherever it is.
    pub fn remove(&mut self, id: PeerId) {
        if self.members.remove(&id) {
            self.order.retain(|p| *p != id);
        }
    }

    /// The peer whose turn it is.
    pub fn front(&self) -> Option<PeerId> {
        self.order.front().copied()
    }

    /// Moves the front peer to the back: its turn is used.
    pub fn rotate(&mut self) {
        if let Some(id) = self.order.pop_front() {
            self.order.push_back(id);
        }
    }

    /// Drops the front peer (it has nothing to give, or no room).
    pub fn drop_front(&mut self) {
        if let Some(id) = self.order.pop_front() {
            self.members.remove(&id);
        }
    }

    /// Whether `id` is in the rotation.
    pub fn contains(&self, id: PeerId) -> bool {
        self.members.contains(&id)
    }

    /// The peers in their current order.
    pub fn iter(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.order.iter().copied()
    }

    /// Number of peers in the rotation.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no peer is in the rotation.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_and_dedups() {
        let mut r = Rotation::default();
        assert!(r.insert(PeerId(1)));
        assert!(r.insert(PeerId(2)));
        assert!(!r.insert(PeerId(1)));
        assert_eq!(r.front(), Some(PeerId(1)));
        r.rotate();
        assert_eq!(r.front(), Some(PeerId(2)));
        r.drop_front();
        assert!(!r.contains(PeerId(2)));
        r.remove(PeerId(1));
        assert!(r.is_empty());
    }
}
