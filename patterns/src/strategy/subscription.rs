//! Prefix subscriptions: a counted trie (subscribing twice needs two cancels, RFC 29/37).

use std::collections::HashMap;

use bytes::Bytes;

use crate::peer::PeerId;

/// A set of counted prefixes. A message matches if any subscribed prefix starts it; the empty
/// prefix matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionTrie {
    root: Node,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Node {
    count: u32,
    /// Children sorted by their byte.
    children: Vec<(u8, Node)>,
}

impl SubscriptionTrie {
    /// No subscriptions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one count to `prefix`; returns true if it was not subscribed before.
    pub fn subscribe(&mut self, prefix: &[u8]) -> bool {
        let mut node = &mut self.root;
        for &b in prefix {
            let at = match node.children.binary_search_by_key(&b, |(k, _)| *k) {
                Ok(at) => at,
                Err(at) => {
                    node.children.insert(at, (b, Node::default()));
                    at
                }
            };
            node = match node.children.get_mut(at) {
                Some((_, child)) => child,
                None => return false,
            };
        }
        node.count = node.count.saturating_add(1);
        node.count == 1
    }

    /// Removes one count from `prefix`: `Some(true)` if that was its last count, `Some(false)`
    /// if counts remain, `None` (and no change) if it was not subscribed.
    pub fn cancel(&mut self, prefix: &[u8]) -> Option<bool> {
        fn walk(node: &mut Node, prefix: &[u8]) -> Option<bool> {
            let Some((&b, rest)) = prefix.split_first() else {
                if node.count == 0 {
                    return None;
                }
                node.count -= 1;
                return Some(node.count == 0);
            };
            let at = node.children.binary_search_by_key(&b, |(k, _)| *k).ok()?;
            let (_, child) = node.children.get_mut(at)?;
            let last = walk(child, rest)?;
            if child.count == 0 && child.children.is_empty() {
                node.children.remove(at);
            }
            Some(last)
        }
        walk(&mut self.root, prefix)
    }

    /// Whether some subscribed prefix starts `data`.
    pub fn matches(&self, data: &[u8]) -> bool {
        let mut node = &self.root;
        if node.count > 0 {
            return true;
        }
        for &b in data {
            match node.children.binary_search_by_key(&b, |(k, _)| *k) {
                Ok(at) => match node.children.get(at) {
                    Some((_, child)) => node = child,
                    None => return false,
                },
                Err(_) => return false,
            }
            if node.count > 0 {
                return true;
            }
        }
        false
    }

    /// Whether `data` itself is subscribed (exact match: RADIO/DISH groups).
    pub fn contains(&self, data: &[u8]) -> bool {
        let mut node = &self.root;
        for &b in data {
            match node.children.binary_search_by_key(&b, |(k, _)| *k) {
                Ok(at) => match node.children.get(at) {
                    Some((_, child)) => node = child,
                    None => return false,
                },
                Err(_) => return false,
            }
        }
        node.count > 0
    }

    /// Whether nothing is subscribed.
    pub fn is_empty(&self) -> bool {
        self.root.count == 0 && self.root.children.is_empty()
    }

    /// Every subscribed prefix with its count, for replay to a new peer.
    pub fn entries(&self) -> Vec<(Bytes, u32)> {
        fn walk(node: &Node, path: &mut Vec<u8>, out: &mut Vec<(Bytes, u32)>) {
            if node.count > 0 {
                out.push((Bytes::copy_from_slice(path), node.count));
            }
            for (b, child) in &node.children {
                path.push(*b);
                walk(child, path, out);
                path.pop();
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut Vec::new(), &mut out);
        out
    }
}

/// Each peer's subscriptions (PUB) or groups (RADIO), deciding which peers a message may reach.
#[derive(Debug, Clone, Default)]
pub struct PeerSubscriptions {
    per_peer: HashMap<PeerId, SubscriptionTrie>,
    /// Groups match the first frame exactly; subscriptions match a prefix of it.
    exact: bool,
    /// Peers that filter for themselves and take everything (a DISH behind udp).
    everything: Vec<PeerId>,
}

impl PeerSubscriptions {
    /// Prefix subscriptions (`exact` false) or exact groups (`exact` true).
    pub fn new(exact: bool) -> Self {
        PeerSubscriptions {
            per_peer: HashMap::new(),
            exact,
            everything: Vec::new(),
        }
    }

    /// A new peer, subscribed to nothing yet.
    pub fn add_peer(&mut self, peer: PeerId) {
        self.per_peer.entry(peer).or_default();
    }

    /// Forgets a peer; returns what it was subscribed to.
    pub fn remove_peer(&mut self, peer: PeerId) -> Option<SubscriptionTrie> {
        self.everything.retain(|p| *p != peer);
        self.per_peer.remove(&peer)
    }

    /// Sends `peer` everything, whatever it subscribed to: it filters for itself and cannot
    /// tell us what it wants (a DISH behind a datagram transport).
    pub fn take_everything(&mut self, peer: PeerId) {
        if !self.everything.contains(&peer) {
            self.everything.push(peer);
        }
    }

    /// A peer's subscriptions.
    pub fn get_mut(&mut self, peer: PeerId) -> Option<&mut SubscriptionTrie> {
        self.per_peer.get_mut(&peer)
    }

    /// Whether a message whose first frame is `topic` may go to `peer`.
    pub fn accepts(&self, peer: PeerId, topic: &[u8]) -> bool {
        if !self.everything.is_empty() && self.everything.contains(&peer) {
            return true;
        }
        self.per_peer.get(&peer).is_some_and(|t| {
            if self.exact {
                t.contains(topic)
            } else {
                t.matches(topic)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn counted_and_prefix_matching() {
        let mut t = SubscriptionTrie::new();
        assert!(!t.matches(b"abc"));
        assert!(t.subscribe(b"ab"));
        assert!(!t.subscribe(b"ab"));
        assert!(t.matches(b"abc") && t.matches(b"ab") && !t.matches(b"a") && !t.matches(b"b"));
        assert_eq!(t.cancel(b"ab"), Some(false));
        assert!(t.matches(b"abc"));
        assert_eq!(t.cancel(b"ab"), Some(true));
        assert!(!t.matches(b"abc") && t.is_empty());
        assert_eq!(t.cancel(b"zz"), None);
        t.subscribe(b"ab");
        assert!(t.contains(b"ab") && !t.contains(b"a") && !t.contains(b"abc"));
        t.cancel(b"ab");
        t.subscribe(b"");
        assert!(t.matches(b"") && t.matches(b"anything"));
        assert_eq!(t.entries(), [(Bytes::new(), 1)]);
    }

    proptest! {
        /// The trie agrees with a naive prefix matcher on random operations.
        #[test]
        fn agrees_with_naive_matcher(
            ops in proptest::collection::vec((any::<bool>(), proptest::collection::vec(0u8..3, 0..4)), 0..60),
            probes in proptest::collection::vec(proptest::collection::vec(0u8..3, 0..6), 0..20),
        ) {
            let mut trie = SubscriptionTrie::new();
            let mut naive: HashMap<Vec<u8>, u32> = HashMap::new();
            for (add, prefix) in ops {
                if add {
                    let first = trie.subscribe(&prefix);
                    let c = naive.entry(prefix).or_default();
                    *c += 1;
                    prop_assert_eq!(first, *c == 1);
                } else {
                    let last = trie.cancel(&prefix);
                    let c = naive.entry(prefix).or_default();
                    let expect = (*c > 0).then_some(*c == 1);
                    *c = c.saturating_sub(1);
                    prop_assert_eq!(last, expect);
                }
            }
            for p in probes {
                let want = naive.iter().any(|(k, c)| *c > 0 && p.starts_with(k));
                prop_assert_eq!(trie.matches(&p), want);
            }
            let mut entries: Vec<(Vec<u8>, u32)> = trie.entries().into_iter().map(|(k, c)| (k.to_vec(), c)).collect();
            let mut want: Vec<(Vec<u8>, u32)> = naive.into_iter().filter(|(_, c)| *c > 0).collect();
            entries.sort();
            want.sort();
            prop_assert_eq!(entries, want);
        }
    }
}
