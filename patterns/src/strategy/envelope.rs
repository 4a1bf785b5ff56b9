//! Request-reply envelopes: REQ's delimiter and strict alternation, REP's saved return path (RFC 28).

use bytes::Bytes;
use zmtp::Message;

use crate::peer::PeerId;

/// REQ: sends `["", body...]`, then accepts only a reply from the peer that got the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReqState {
    /// A request may be sent.
    #[default]
    Idle,
    /// Waiting for the reply from this peer.
    AwaitingReply(PeerId),
}

impl ReqState {
    /// Puts the empty delimiter frame in front of a request.
    pub fn wrap(mut msg: Message) -> Message {
        msg.push_front(Bytes::new());
        msg
    }

    /// Takes the delimiter off a reply; `None` if there is none (libzmq drops such replies).
    pub fn unwrap(mut msg: Message) -> Option<Message> {
        let delimiter = msg.pop_front()?;
        (delimiter.is_empty() && !msg.is_empty()).then_some(msg)
    }
}

/// REP: remembers the envelope of the request it is answering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RepState {
    /// A request may be received.
    #[default]
    Idle,
    /// Answering `peer`; `envelope` is every frame up to and including the delimiter.
    Replying {
        /// The peer the reply goes to.
        peer: PeerId,
        /// The return path to put back in front of the reply.
        envelope: Vec<Bytes>,
    },
}

impl RepState {
    /// Splits a request into its envelope (through the first empty frame) and body; `None` if
    /// there is no delimiter or no body (libzmq drops such requests).
    /// The body keeps the message's connection properties.
    pub fn split(mut msg: Message) -> Option<(Vec<Bytes>, Message)> {
        let mut envelope = Vec::new();
        while let Some(frame) = msg.pop_front() {
            let end = frame.is_empty();
            envelope.push(frame);
            if end {
                return (!msg.is_empty()).then_some((envelope, msg));
            }
        }
        None
    }

    /// Puts the envelope back in front of a reply.
    pub fn join(envelope: Vec<Bytes>, body: Message) -> Message {
        envelope.into_iter().chain(body).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn req_wraps_and_unwraps() {
        let m = ReqState::wrap(Message::from("hi"));
        assert_eq!(m, Message::from_frames(["", "hi"]));
        assert_eq!(ReqState::unwrap(m), Some(Message::from("hi")));
        assert_eq!(ReqState::unwrap(Message::from("no delimiter")), None);
        assert_eq!(ReqState::unwrap(Message::from_frames([""])), None);
    }

    #[test]
    fn rep_keeps_the_whole_return_path() {
        let req = Message::from_frames(["id1", "id2", "", "body", "more"]);
        let (env, body) = RepState::split(req).unwrap();
        assert_eq!(env.len(), 3);
        assert_eq!(body, Message::from_frames(["body", "more"]));
        assert_eq!(
            RepState::join(env, Message::from("reply")),
            Message::from_frames(["id1", "id2", "", "reply"])
        );
        assert_eq!(RepState::split(Message::from_frames(["x", "y"])), None);
    }
}

/// SURVEYOR: each survey carries a 4-octet id in front; only replies with the current id count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SurveyState {
    /// The id of the survey being answered, if one is open.
    pub current: Option<u32>,
    /// The last id used.
    pub last: u32,
}

impl SurveyState {
    /// Opens a new survey and puts its id in front of `msg`.
    pub fn start(&mut self, mut msg: Message) -> Message {
        self.last = self.last.wrapping_add(1);
        self.current = Some(self.last);
        msg.push_front(Bytes::copy_from_slice(&self.last.to_be_bytes()));
        msg
    }

    /// Takes the id off a reply; `None` if it answers no open survey (late or foreign).
    pub fn accept(&self, mut msg: Message) -> Option<Message> {
        let current = self.current?;
        let id = msg.pop_front()?;
        (id.as_ref() == current.to_be_bytes() && !msg.is_empty()).then_some(msg)
    }
}

/// RESPONDENT: remembers which survey (and from whom) it is answering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SurveyReplyState {
    /// No survey to answer.
    #[default]
    Idle,
    /// Answering the survey `id` from `peer`.
    Answering {
        /// Who asked.
        peer: PeerId,
        /// The survey id to put back in front.
        id: Bytes,
    },
}

#[cfg(test)]
mod survey_tests {
    use super::*;

    #[test]
    fn surveys_match_their_replies() {
        let mut s = SurveyState::default();
        assert_eq!(s.accept(Message::from_frames(["\0\0\0\x01", "x"])), None);
        let sent = s.start(Message::from("q"));
        assert_eq!(sent.len(), 2);
        let id = sent.first().unwrap().clone();
        assert_eq!(
            s.accept(Message::from_frames([
                id.clone(),
                Bytes::from_static(b"yes")
            ])),
            Some(Message::from("yes"))
        );
        s.start(Message::from("next"));
        assert_eq!(
            s.accept(Message::from_frames([id, Bytes::from_static(b"late")])),
            None
        );
    }
}
