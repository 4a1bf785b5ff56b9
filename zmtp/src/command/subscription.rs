//! Subscriptions: SUBSCRIBE/CANCEL commands for 3.1 peers, `\x01topic`/`\x00topic` messages for 3.0.

use bytes::{BufMut, Bytes, BytesMut};

use crate::message::Message;

/// A subscription change, in whichever form it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// Add one count to the prefix `topic` (subscriptions are counted, not idempotent).
    Subscribe(Bytes),
    /// Remove one count from the prefix `topic`.
    Cancel(Bytes),
}

impl Subscription {
    /// The 3.0 form (RFC 23/29): a one-frame message, `\x01` or `\x00` followed by the topic.
    pub fn to_message(&self) -> Message {
        let (flag, topic) = match self {
            Subscription::Subscribe(t) => (1, t),
            Subscription::Cancel(t) => (0, t),
        };
        let mut body = BytesMut::with_capacity(1 + topic.len());
        body.put_u8(flag);
        body.put_slice(topic);
        Message::from(body.freeze())
    }

    /// Reads the 3.0 form: a one-frame message starting with `\x01` or `\x00`. Anything else is
    /// an ordinary message (an XPUB passes those to its application).
    pub fn from_message(msg: &Message) -> Option<Subscription> {
        let [frame] = msg.frames() else {
            return None;
        };
        match frame.first()? {
            1 => Some(Subscription::Subscribe(frame.slice(1..))),
            0 => Some(Subscription::Cancel(frame.slice(1..))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_form_round_trips() {
        for s in [
            Subscription::Subscribe(Bytes::from_static(b"topic")),
            Subscription::Cancel(Bytes::new()),
        ] {
            assert_eq!(Subscription::from_message(&s.to_message()), Some(s));
        }
        assert_eq!(Subscription::from_message(&Message::from("\x02x")), None);
        assert_eq!(Subscription::from_message(&Message::from("")), None);
        assert_eq!(
            Subscription::from_message(&Message::from_frames(["\x01a", "b"])),
            None
        );
    }
}
