//! Multipart messages: one or more frames, sent and delivered atomically.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::metadata::Metadata;

/// A message of one or more frames. Frames are `Bytes`, so cloning a message or slicing it out
/// of a read buffer copies no payload. Most messages have one or two frames (a body, or an
/// envelope and a body), which are stored inline.
///
/// A received message may carry its connection's properties (see
/// [`property`](Self::property)); they take no part in equality or hashing.
#[derive(Debug, Clone, Default)]
pub struct Message {
    frames: SmallVec<[Bytes; 2]>,
    properties: Option<Arc<Metadata>>,
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        self.frames == other.frames
    }
}

impl Eq for Message {}

impl Hash for Message {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.frames.hash(state);
    }
}

impl Message {
    /// A message with no frames yet; add some with [`push`](Self::push) before sending.
    pub fn new() -> Self {
        Self::default()
    }

    /// A message made of `frames`, in order.
    pub fn from_frames<I, F>(frames: I) -> Self
    where
        I: IntoIterator<Item = F>,
        F: Into<Bytes>,
    {
        Message {
            frames: frames.into_iter().map(Into::into).collect(),
            properties: None,
        }
    }

    /// Appends a frame.
    pub fn push(&mut self, frame: impl Into<Bytes>) {
        self.frames.push(frame.into());
    }

    /// Puts a frame in front (a routing envelope, for example).
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        self.frames.insert(0, frame.into());
    }

    /// Removes and returns the first frame.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        (!self.frames.is_empty()).then(|| self.frames.remove(0))
    }

    /// The frames, in order.
    pub fn frames(&self) -> &[Bytes] {
        &self.frames
    }

    /// The first frame.
    pub fn first(&self) -> Option<&Bytes> {
        self.frames.first()
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the message has no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Total payload octets over all frames.
    pub fn byte_len(&self) -> usize {
        self.frames.iter().map(Bytes::len).sum()
    }

    /// Iterates over the frames.
    pub fn iter(&self) -> std::slice::Iter<'_, Bytes> {
        self.frames.iter()
    }

    /// A property of the connection the message arrived on, like `zmq_msg_gets`: the peer's
    /// handshake properties (`Socket-Type`, `Identity`, `X-...`), and with authentication
    /// `User-Id` and the properties the ZAP handler gave. Names compare in any case.
    pub fn property(&self, name: &str) -> Option<&Bytes> {
        self.properties.as_deref()?.get(name)
    }

    /// All properties of the connection the message arrived on, if the driver attached them.
    pub fn properties(&self) -> Option<&Metadata> {
        self.properties.as_deref()
    }

    /// Attaches a connection's properties; drivers share one `Arc` among a connection's
    /// messages.
    pub fn set_properties(&mut self, properties: Arc<Metadata>) {
        self.properties = Some(properties);
    }
}

impl IntoIterator for Message {
    type Item = Bytes;
    type IntoIter = smallvec::IntoIter<[Bytes; 2]>;

    fn into_iter(self) -> Self::IntoIter {
        self.frames.into_iter()
    }
}

impl<'a> IntoIterator for &'a Message {
    type Item = &'a Bytes;
    type IntoIter = std::slice::Iter<'a, Bytes>;

    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}

impl From<Bytes> for Message {
    fn from(frame: Bytes) -> Self {
        let mut frames = SmallVec::new();
        frames.push(frame);
        Message {
            frames,
            properties: None,
        }
    }
}

impl From<Vec<u8>> for Message {
    fn from(frame: Vec<u8>) -> Self {
        Message::from(Bytes::from(frame))
    }
}

impl From<String> for Message {
    fn from(frame: String) -> Self {
        Message::from(Bytes::from(frame))
    }
}

impl From<&'static str> for Message {
    fn from(frame: &'static str) -> Self {
        Message::from(Bytes::from_static(frame.as_bytes()))
    }
}

impl From<&'static [u8]> for Message {
    fn from(frame: &'static [u8]) -> Self {
        Message::from(Bytes::from_static(frame))
    }
}

impl From<Vec<Bytes>> for Message {
    fn from(frames: Vec<Bytes>) -> Self {
        Message {
            frames: SmallVec::from_vec(frames),
            properties: None,
        }
    }
}

impl FromIterator<Bytes> for Message {
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> Self {
        Message {
            frames: iter.into_iter().collect(),
            properties: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_in_order() {
        let mut m = Message::from_frames(["b", "c"]);
        m.push_front(Bytes::from_static(b"a"));
        m.push("d");
        assert_eq!(m.len(), 4);
        assert_eq!(m.byte_len(), 4);
        assert_eq!(m.pop_front().unwrap().as_ref(), b"a");
        let collected: Vec<Bytes> = m.into_iter().collect();
        assert_eq!(collected, ["b", "c", "d"].map(Bytes::from));
        assert_eq!(Message::new().pop_front(), None);
    }
}
