//! The public way to compose a socket: choose each part, get a `Pattern` checked at build time.

use zmtp::SocketType;

use crate::pattern::{Env, In, Out, Pattern, Settings, Subs};
use crate::strategy::envelope::{RepState, ReqState, SurveyReplyState, SurveyState};
use crate::strategy::fair_queue::FairQueue;
use crate::strategy::fan_out::FanOut;
use crate::strategy::latest::LatestPerTopic;
use crate::strategy::load_balance::LoadBalance;
use crate::strategy::subscription::{PeerSubscriptions, SubscriptionTrie};

/// How messages the application sends are distributed over the peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outbound {
    /// The application does not send (PULL, SUB).
    None,
    /// Each message to the next peer in turn that has room (PUSH, DEALER, REQ).
    LoadBalance,
    /// A copy to every peer (or every peer whose subscription matches, with a filter).
    FanOut,
    /// The first frame names the peer by its routing id (ROUTER).
    RouteById,
}

/// How messages from peers reach the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inbound {
    /// The application does not receive (PUSH, PUB).
    None,
    /// One message from each peer that has one, in turn (PULL, DEALER, ROUTER).
    FairQueue,
    /// Of each topic (first frame), only the newest message waiting is received: a
    /// last-value cache for a slow reader.
    LatestPerTopic,
}

/// Which messages pass, decided by subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Filter {
    /// Nothing is filtered.
    None,
    /// Peers subscribe to prefixes; each sent message goes to matching peers only (PUB).
    PeerSubscriptions,
    /// As `PeerSubscriptions`, and the application also receives the subscriptions and
    /// whatever else peers send (XPUB).
    PeerSubscriptionsVisible,
    /// We subscribe with `subscribe()`: subscriptions go to every peer (and to new ones), and
    /// received messages that match none are dropped (SUB).
    Subscribe,
    /// The application subscribes by sending `\x01topic` / `\x00topic`; received messages are
    /// not filtered here (XSUB).
    SubscribeByMessage,
    /// Peers join groups; each sent message (group first, then body) goes to the peers that
    /// joined that exact group (RADIO).
    PeerGroups,
    /// We join groups with `join()`: joins go to every peer (JOIN commands on the wire), and
    /// received messages of other groups are dropped (DISH).
    JoinGroups,
}

/// What is put on or taken off messages on their way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Envelope {
    /// Messages pass as they are.
    None,
    /// An empty delimiter before each request, and strict request/reply turns (REQ).
    Request,
    /// The request's return path is kept and put before the reply (REP).
    Reply,
    /// Received messages get the sender's routing id as their first frame (ROUTER).
    RoutingId,
    /// As `RoutingId`, but each peer's id is a 4-octet number we choose when it attaches,
    /// whatever it announced (SERVER, PEER).
    GeneratedId,
    /// Each survey carries an id; only replies to the open survey are received, until the
    /// survey's deadline (SURVEYOR).
    Survey,
    /// Each reply goes to whoever sent the survey it answers, with its id (RESPONDENT).
    SurveyReply,
}

/// What a send does when the chosen peer (or a fan-out target) is at its high-water mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnFull {
    /// Wait for room (or fail with EAGAIN when not waiting): no message is lost.
    Block,
    /// Drop the message for that peer (PUB, ROUTER).
    Drop,
    /// Keep only the newest message in each queue (ZMQ_CONFLATE).
    Conflate,
}

/// A composition that cannot work, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// Every socket presents a type on the wire (RFC 37's Socket-Type).
    #[error("choose a wire type: peers check it during the handshake (RFC 37)")]
    NoWireType,
    /// Neither sends nor receives.
    #[error(
        "this socket would neither send nor receive: choose an outbound or an inbound strategy"
    )]
    Inert,
    /// A request-reply envelope needs the parts that make a request and wait for its reply.
    #[error(
        "the request envelope needs load-balance outbound (a request goes to one peer) and fair-queue inbound (to receive its reply)"
    )]
    RequestNeedsLoadBalanceAndReply,
    /// A reply envelope answers along the request's path, not through its own distribution.
    #[error(
        "the reply envelope needs fair-queue inbound (to receive requests) and no outbound strategy (the reply goes back to the requester)"
    )]
    ReplyNeedsFairQueueOnly,
    /// Routing by id needs ids the application can see.
    #[error(
        "route-by-id outbound needs a routing-id envelope (RoutingId or GeneratedId), so received messages say who sent them"
    )]
    RouteByIdNeedsRoutingIdEnvelope,
    /// Generated ids exist to route by.
    #[error("the generated-id envelope names peers for route-by-id outbound: choose it")]
    GeneratedIdNeedsRouteById,
    /// A survey goes to every peer and waits for their replies.
    #[error(
        "a survey goes to every peer and collects replies: choose fan-out outbound and fair-queue inbound"
    )]
    SurveyNeedsFanOutAndInbound,

    /// Peer subscriptions or groups decide which peers a message may reach.
    #[error(
        "peer subscriptions and groups choose which peers may get a message: choose fan-out (every match) or load-balance (one match)"
    )]
    FilterNeedsDistribution,
    /// A subscriber receives what it subscribed to.
    #[error("a subscriber receives: choose fair-queue inbound")]
    SubscriberNeedsInbound,
    /// SUB sends only subscriptions; XSUB also sends messages upstream to every peer.
    #[error(
        "{0:?} decides the outbound side itself: choose no outbound for Subscribe, fan-out for SubscribeByMessage"
    )]
    SubscriberOutbound(Filter),
    /// A socket that takes no peer is useless.
    #[error("max_peers must be at least 1")]
    ZeroMaxPeers,
    /// Conflation keeps one message per queue: it cannot block or be asked to drop.
    #[error("on_full(Conflate) replaces the queue; it only applies to load-balance or fan-out")]
    ConflateNeedsQueue,
}

/// Builds a [`Pattern`] from parts; see the crate doc and `docs/patterns.md` for recipes.
#[derive(Debug, Clone)]
pub struct PatternBuilder {
    wire_type: Option<SocketType>,
    outbound: Outbound,
    inbound: Inbound,
    filter: Filter,
    envelope: Envelope,
    max_peers: Option<usize>,
    on_full: Option<OnFull>,
    single_part: bool,
}

impl Default for PatternBuilder {
    fn default() -> Self {
        PatternBuilder {
            wire_type: None,
            outbound: Outbound::None,
            inbound: Inbound::None,
            filter: Filter::None,
            envelope: Envelope::None,
            max_peers: None,
            on_full: None,
            single_part: false,
        }
    }
}

impl PatternBuilder {
    /// An empty composition: nothing chosen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The socket type announced in READY; peers check it against RFC 37's table, so a
    /// composition talks to libzmq when its wire type and behaviour match.
    pub fn wire_type(mut self, t: SocketType) -> Self {
        self.wire_type = Some(t);
        self
    }

    /// How sent messages are distributed.
    pub fn outbound(mut self, o: Outbound) -> Self {
        self.outbound = o;
        self
    }

    /// How received messages are collected.
    pub fn inbound(mut self, i: Inbound) -> Self {
        self.inbound = i;
        self
    }

    /// Subscription filtering.
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = f;
        self
    }

    /// Envelopes.
    pub fn envelope(mut self, e: Envelope) -> Self {
        self.envelope = e;
        self
    }

    /// At most `n` peers; more are refused as they come (a PAIR takes one).
    pub fn max_peers(mut self, n: usize) -> Self {
        self.max_peers = Some(n);
        self
    }

    /// What happens at the high-water mark. Defaults: block for load-balance, drop for
    /// fan-out and route-by-id, as libzmq does.
    pub fn on_full(mut self, on_full: OnFull) -> Self {
        self.on_full = Some(on_full);
        self
    }

    /// RFC 37's rule for thread-safe types: single-part messages only (a routing id or group
    /// in front, where the type has one, is not counted); multipart messages from the wire are
    /// dropped.
    pub fn single_part(mut self, on: bool) -> Self {
        self.single_part = on;
        self
    }

    /// Checks the composition and builds it.
    pub fn build(self) -> Result<Pattern, PatternError> {
        let wire_type = self.wire_type.ok_or(PatternError::NoWireType)?;
        let (o, i, f, e) = (self.outbound, self.inbound, self.filter, self.envelope);
        let subscriber = matches!(
            f,
            Filter::Subscribe | Filter::SubscribeByMessage | Filter::JoinGroups
        );
        if o == Outbound::None && i == Inbound::None && !subscriber {
            return Err(PatternError::Inert);
        }
        match e {
            Envelope::Request if o != Outbound::LoadBalance || i != Inbound::FairQueue => {
                return Err(PatternError::RequestNeedsLoadBalanceAndReply);
            }
            Envelope::Reply | Envelope::SurveyReply
                if o != Outbound::None || i != Inbound::FairQueue =>
            {
                return Err(PatternError::ReplyNeedsFairQueueOnly);
            }
            Envelope::GeneratedId if o != Outbound::RouteById => {
                return Err(PatternError::GeneratedIdNeedsRouteById);
            }
            Envelope::Survey if o != Outbound::FanOut || i != Inbound::FairQueue => {
                return Err(PatternError::SurveyNeedsFanOutAndInbound);
            }
            _ => {}
        }
        if o == Outbound::RouteById && !matches!(e, Envelope::RoutingId | Envelope::GeneratedId) {
            return Err(PatternError::RouteByIdNeedsRoutingIdEnvelope);
        }
        match f {
            Filter::PeerSubscriptions | Filter::PeerSubscriptionsVisible | Filter::PeerGroups
                if !matches!(o, Outbound::FanOut | Outbound::LoadBalance) =>
            {
                return Err(PatternError::FilterNeedsDistribution);
            }
            Filter::Subscribe | Filter::SubscribeByMessage | Filter::JoinGroups
                if i == Inbound::None =>
            {
                return Err(PatternError::SubscriberNeedsInbound);
            }
            Filter::Subscribe | Filter::JoinGroups if o != Outbound::None => {
                return Err(PatternError::SubscriberOutbound(f));
            }
            Filter::SubscribeByMessage if o != Outbound::FanOut => {
                return Err(PatternError::SubscriberOutbound(f));
            }
            _ => {}
        }
        if self.max_peers == Some(0) {
            return Err(PatternError::ZeroMaxPeers);
        }
        if self.on_full == Some(OnFull::Conflate)
            && !matches!(o, Outbound::LoadBalance | Outbound::FanOut)
            && !(o == Outbound::None && i == Inbound::FairQueue)
        {
            return Err(PatternError::ConflateNeedsQueue);
        }

        let on_full = self.on_full.unwrap_or(match o {
            Outbound::LoadBalance => OnFull::Block,
            _ => OnFull::Drop,
        });
        let out = match o {
            Outbound::None if subscriber => Out::FanOut(FanOut::new()),
            Outbound::None => Out::None,
            Outbound::LoadBalance => Out::LoadBalance(LoadBalance::new()),
            Outbound::FanOut => Out::FanOut(FanOut::new()),
            Outbound::RouteById => Out::ByIdentity,
        };
        let inbound = match i {
            Inbound::None => In::None,
            Inbound::FairQueue => In::FairQueue(FairQueue::new()),
            Inbound::LatestPerTopic => In::Latest(LatestPerTopic::new()),
        };
        let envelope = match e {
            Envelope::None => Env::None,
            Envelope::Request => Env::Req(ReqState::Idle),
            Envelope::Reply => Env::Rep(RepState::Idle),
            Envelope::RoutingId | Envelope::GeneratedId => Env::RoutingId,
            Envelope::Survey => Env::Survey(SurveyState::default()),
            Envelope::SurveyReply => Env::SurveyReply(SurveyReplyState::Idle),
        };
        let subscriptions = match f {
            Filter::None => Subs::None,
            Filter::PeerSubscriptions | Filter::PeerSubscriptionsVisible | Filter::PeerGroups => {
                Subs::Publisher {
                    peers: PeerSubscriptions::new(f == Filter::PeerGroups),
                    xpub: f == Filter::PeerSubscriptionsVisible,
                    verbose: false,
                    all: SubscriptionTrie::new(),
                    pending: Default::default(),
                }
            }
            Filter::Subscribe | Filter::SubscribeByMessage | Filter::JoinGroups => {
                Subs::Subscriber {
                    local: SubscriptionTrie::new(),
                    filter_inbound: f != Filter::SubscribeByMessage,
                    user_messages: f == Filter::SubscribeByMessage,
                    exact: f == Filter::JoinGroups,
                }
            }
        };
        let mut pattern = Pattern::from_parts(wire_type, out, inbound, envelope, subscriptions);
        pattern.configure(Settings {
            max_peers: self.max_peers,
            on_full,
            single_part: self.single_part,
            generated_ids: e == Envelope::GeneratedId,
            // A routing id (ROUTER, SERVER, PEER) or group (RADIO) in front of what the
            // application sends, a group in front of what a DISH receives: not the body.
            send_head: o == Outbound::RouteById || f == Filter::PeerGroups,
            recv_wire_head: f == Filter::JoinGroups,
        });
        Ok(pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_compositions_say_why() {
        let b = || PatternBuilder::new().wire_type(SocketType::Dealer);
        let cases = [
            (
                PatternBuilder::new().outbound(Outbound::LoadBalance),
                PatternError::NoWireType,
            ),
            (b(), PatternError::Inert),
            (
                b().outbound(Outbound::FanOut)
                    .inbound(Inbound::FairQueue)
                    .envelope(Envelope::Request),
                PatternError::RequestNeedsLoadBalanceAndReply,
            ),
            (
                b().outbound(Outbound::LoadBalance)
                    .envelope(Envelope::Request),
                PatternError::RequestNeedsLoadBalanceAndReply,
            ),
            (
                b().outbound(Outbound::LoadBalance)
                    .inbound(Inbound::FairQueue)
                    .envelope(Envelope::Reply),
                PatternError::ReplyNeedsFairQueueOnly,
            ),
            (
                b().outbound(Outbound::RouteById)
                    .inbound(Inbound::FairQueue),
                PatternError::RouteByIdNeedsRoutingIdEnvelope,
            ),
            (
                b().outbound(Outbound::RouteById)
                    .inbound(Inbound::FairQueue)
                    .envelope(Envelope::RoutingId)
                    .filter(Filter::PeerSubscriptions),
                PatternError::FilterNeedsDistribution,
            ),
            (
                b().filter(Filter::Subscribe),
                PatternError::SubscriberNeedsInbound,
            ),
            (
                b().inbound(Inbound::FairQueue)
                    .outbound(Outbound::LoadBalance)
                    .filter(Filter::Subscribe),
                PatternError::SubscriberOutbound(Filter::Subscribe),
            ),
            (
                b().outbound(Outbound::LoadBalance).max_peers(0),
                PatternError::ZeroMaxPeers,
            ),
            (
                b().outbound(Outbound::RouteById)
                    .inbound(Inbound::FairQueue)
                    .envelope(Envelope::RoutingId)
                    .on_full(OnFull::Conflate),
                PatternError::ConflateNeedsQueue,
            ),
        ];
        for (builder, want) in cases {
            let err = builder.build().unwrap_err();
            assert_eq!(err, want);
            assert!(!err.to_string().is_empty());
        }
    }
}
