//! Routing by identity: the ROUTER's map between routing ids and peers (RFC 28).

use std::collections::HashMap;

use bytes::Bytes;

use crate::error::AttachError;
use crate::peer::{PeerId, PeerMeta};

/// Routing ids of the identified peers. A peer is identified by the id we assigned it
/// (ZMQ_CONNECT_ROUTING_ID), else the Identity it announced, else a generated one: five octets,
/// a zero then a counter, as libzmq does, so generated ids never clash with announced ones
/// (RFC 37 reserves ids starting with a zero octet).
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    by_id: HashMap<Bytes, PeerId>,
    by_peer: HashMap<PeerId, Bytes>,
    next_generated: u32,
    handover: bool,
}

/// What identifying a peer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    /// The routing id the peer now has.
    pub routing_id: Bytes,
    /// With ROUTER_HANDOVER, the peer that held this id before and lost it.
    pub displaced: Option<PeerId>,
}

impl RoutingTable {
    /// An empty table; `handover` is ROUTER_HANDOVER.
    pub fn new(handover: bool) -> Self {
        RoutingTable {
            handover,
            ..Self::default()
        }
    }

    /// Sets ROUTER_HANDOVER.
    pub fn set_handover(&mut self, on: bool) {
        self.handover = on;
    }

    /// Gives `peer` a routing id we choose, a 4-octet number, whatever it announced (SERVER and
    /// PEER, whose ids are the message's routing id on other stacks).
    pub fn assign_generated(&mut self, peer: PeerId) -> Bytes {
        self.remove(peer);
        loop {
            self.next_generated = self.next_generated.wrapping_add(1);
            let id = Bytes::copy_from_slice(&self.next_generated.to_be_bytes());
            if self.next_generated != 0 && !self.by_id.contains_key(&id) {
                self.by_id.insert(id.clone(), peer);
                self.by_peer.insert(peer, id.clone());
                return id;
            }
        }
    }

    /// Gives `peer` its routing id. A peer identified again (after a reconnection) drops its
    /// old id first.
    pub fn identify(&mut self, peer: PeerId, meta: &PeerMeta) -> Result<Identified, AttachError> {
        self.remove(peer);
        let wanted = meta
            .assigned_id
            .clone()
            .or_else(|| meta.routing_id.clone())
            .filter(|id| !id.is_empty());
        let routing_id = match wanted {
            Some(id) => id,
            None => self.generate(),
        };
        let displaced = match self.by_id.get(&routing_id).copied() {
            Some(_) if !self.handover => return Err(AttachError::DuplicateRoutingId),
            Some(old) => {
                self.by_peer.remove(&old);
                Some(old)
            }
            None => None,
        };
        self.by_id.insert(routing_id.clone(), peer);
        self.by_peer.insert(peer, routing_id.clone());
        Ok(Identified {
            routing_id,
            displaced,
        })
    }

    fn generate(&mut self) -> Bytes {
        loop {
            self.next_generated = self.next_generated.wrapping_add(1);
            let mut id = vec![0u8];
            id.extend_from_slice(&self.next_generated.to_be_bytes());
            let id = Bytes::from(id);
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    /// Forgets a peer.
    pub fn remove(&mut self, peer: PeerId) {
        if let Some(id) = self.by_peer.remove(&peer) {
            self.free(&id, peer);
        }
    }

    /// The peer is closing: nothing more is routed to it, and its routing id is free for a
    /// newcomer, but what it sent before it went still carries its id.
    pub fn retire(&mut self, peer: PeerId) {
        if let Some(id) = self.by_peer.get(&peer).cloned() {
            self.free(&id, peer);
        }
    }

    /// `id` no longer routes to `peer` (another peer may have it now).
    fn free(&mut self, id: &Bytes, peer: PeerId) {
        if self.by_id.get(id) == Some(&peer) {
            self.by_id.remove(id);
        }
    }

    /// The peer with this routing id.
    pub fn peer(&self, routing_id: &[u8]) -> Option<PeerId> {
        self.by_id.get(routing_id).copied()
    }

    /// The routing id of this peer.
    pub fn routing_id(&self, peer: PeerId) -> Option<&Bytes> {
        self.by_peer.get(&peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announced(id: &'static [u8]) -> PeerMeta {
        PeerMeta {
            routing_id: Some(Bytes::from_static(id)),
            ..PeerMeta::unknown()
        }
    }

    #[test]
    fn announced_assigned_and_generated_ids() {
        let mut t = RoutingTable::new(false);
        assert_eq!(
            t.identify(PeerId(1), &announced(b"w1")).unwrap().routing_id,
            "w1"
        );
        let generated = t.identify(PeerId(2), &announced(b"")).unwrap().routing_id;
        assert_eq!(generated.len(), 5);
        assert_eq!(generated[0], 0);
        let mut meta = announced(b"ignored");
        meta.assigned_id = Some(Bytes::from_static(b"mine"));
        assert_eq!(t.identify(PeerId(3), &meta).unwrap().routing_id, "mine");
        assert_eq!(t.peer(b"w1"), Some(PeerId(1)));
        assert_eq!(t.routing_id(PeerId(3)).unwrap(), "mine");
    }

    #[test]
    fn duplicates_refused_unless_handover() {
        let mut t = RoutingTable::new(false);
        t.identify(PeerId(1), &announced(b"w")).unwrap();
        assert_eq!(
            t.identify(PeerId(2), &announced(b"w")),
            Err(AttachError::DuplicateRoutingId)
        );
        t.set_handover(true);
        let got = t.identify(PeerId(2), &announced(b"w")).unwrap();
        assert_eq!(got.displaced, Some(PeerId(1)));
        assert_eq!(t.peer(b"w"), Some(PeerId(2)));
        assert_eq!(t.routing_id(PeerId(1)), None);
    }
}
