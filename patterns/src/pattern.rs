//! A socket's semantics as a composition of parts: outbound, inbound, envelope, subscriptions, caps.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};
use zmtp::{Message, SocketType};

use crate::builder::{OnFull, PatternBuilder};
use crate::error::{AttachError, RecvError, SendError};
use crate::peer::{PeerId, PeerMeta, PeerPipes};
use crate::strategy::by_identity::RoutingTable;
use crate::strategy::envelope::{RepState, ReqState, SurveyReplyState, SurveyState};
use crate::strategy::fair_queue::FairQueue;
use crate::strategy::fan_out::FanOut;
use crate::strategy::latest::LatestPerTopic;
use crate::strategy::load_balance::LoadBalance;
use crate::strategy::subscription::{PeerSubscriptions, SubscriptionTrie};

/// How messages the application sends are distributed.
#[derive(Debug, Clone)]
pub(crate) enum Out {
    /// The application cannot send.
    None,
    /// Each message to the next peer with room; blocks when all are full.
    LoadBalance(LoadBalance),
    /// A copy to every (matching) peer; full peers miss it.
    FanOut(FanOut),
    /// The first frame names the peer (ROUTER).
    ByIdentity,
}

/// How messages from peers reach the application.
#[derive(Debug, Clone)]
pub(crate) enum In {
    /// The application cannot receive.
    None,
    /// One message from each peer in turn.
    FairQueue(FairQueue),
    /// Only the newest waiting message of each topic.
    Latest(LatestPerTopic),
}

impl In {
    fn activate(&mut self, peer: PeerId) {
        match self {
            In::FairQueue(fq) => fq.activate(peer),
            In::Latest(l) => l.activate(peer),
            In::None => {}
        }
    }

    fn remove(&mut self, peer: PeerId) {
        match self {
            In::FairQueue(fq) => fq.remove(peer),
            In::Latest(l) => l.remove(peer),
            In::None => {}
        }
    }

    fn recv(&mut self, pipes: &mut dyn PeerPipes) -> Option<(PeerId, Message)> {
        match self {
            In::FairQueue(fq) => fq.recv(pipes),
            In::Latest(l) => l.recv(pipes),
            In::None => None,
        }
    }
}

/// What is added to or taken from messages on their way.
#[derive(Debug, Clone)]
pub(crate) enum Env {
    /// Messages pass as they are.
    None,
    /// REQ: delimiter in front of requests, strict send/receive alternation.
    Req(ReqState),
    /// REP: the request's return path is kept and put in front of the reply.
    Rep(RepState),
    /// ROUTER: received messages get the sender's routing id in front.
    RoutingId,
    /// SURVEYOR: surveys carry an id; only replies to the open survey count.
    Survey(SurveyState),
    /// RESPONDENT: replies go back with the survey's id to whoever asked.
    SurveyReply(SurveyReplyState),
}

/// The pattern's part in subscriptions.
#[derive(Debug, Clone)]
pub(crate) enum Subs {
    /// No subscriptions.
    None,
    /// PUB/XPUB/RADIO: peers subscribe (or join groups); sends go only to accepting peers.
    /// `xpub` passes subscription changes (and other messages from peers) to the application;
    /// `verbose` passes every subscribe, not only the first for a topic.
    Publisher {
        /// Each peer's subscriptions or groups.
        peers: PeerSubscriptions,
        /// Subscriptions reach the application (XPUB).
        xpub: bool,
        /// XPUB_VERBOSE.
        verbose: bool,
        /// Counts over all peers, to pass only the first subscribe and last cancel.
        all: SubscriptionTrie,
        /// Messages waiting for the application's `recv` (XPUB).
        pending: VecDeque<Message>,
    },
    /// SUB/XSUB: we subscribe; our subscriptions go to every peer and are replayed to new ones.
    /// `filter_inbound` (SUB) also drops received messages that match no subscription.
    Subscriber {
        /// Our counted subscriptions.
        local: SubscriptionTrie,
        /// Drop received messages that match nothing (SUB; not XSUB).
        filter_inbound: bool,
        /// Subscription messages the application may send itself (XSUB).
        user_messages: bool,
        /// Groups (DISH): the first frame must equal a joined group, not start with it.
        exact: bool,
    },
}

/// What the builder decided beyond the parts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) max_peers: Option<usize>,
    pub(crate) on_full: OnFull,
    pub(crate) single_part: bool,
    /// Routing ids are 4-octet numbers we assign at attach time (SERVER, PEER).
    pub(crate) generated_ids: bool,
    /// Sent messages carry a routing id or group before the body.
    pub(crate) send_head: bool,
    /// Messages from the wire carry a group before the body (DISH).
    pub(crate) recv_wire_head: bool,
}

/// A socket's semantics, composed from strategies that know peers only by id. Build one with
/// the presets in [`crate::preset`].
#[derive(Debug, Clone)]
pub struct Pattern {
    socket_type: SocketType,
    outbound: Out,
    inbound: In,
    envelope: Env,
    subscriptions: Subs,
    routing: Option<RoutingTable>,
    max_peers: Option<usize>,
    router_mandatory: bool,
    peers: Vec<PeerId>,
    subscribes_received: u64,
    on_full: OnFull,
    single_part: bool,
    generated_ids: bool,
    send_head: bool,
    recv_wire_head: bool,
}

/// What a pattern asks of a transport, from [`Pattern::needs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The application sends through it.
    pub sends: bool,
    /// The application receives through it.
    pub receives: bool,
    /// Every message must arrive, in order (everything but publish-subscribe, where a
    /// subscriber may miss messages by contract).
    pub delivery: bool,
    /// Peers are told apart: each message goes to one chosen peer (load-balancing, routing by
    /// id, replies), which a multicast group, many receivers behind one address, cannot offer.
    pub per_peer: bool,
}

impl Pattern {
    /// A composition builder; see [`PatternBuilder`].
    pub fn builder() -> PatternBuilder {
        PatternBuilder::new()
    }

    /// A pattern from its parts (the builder checks them first).
    pub(crate) fn from_parts(
        socket_type: SocketType,
        outbound: Out,
        inbound: In,
        envelope: Env,
        subscriptions: Subs,
    ) -> Pattern {
        let routing = (matches!(outbound, Out::ByIdentity) || matches!(envelope, Env::RoutingId))
            .then(|| RoutingTable::new(false));
        Pattern {
            socket_type,
            outbound,
            inbound,
            envelope,
            subscriptions,
            routing,
            max_peers: None,
            router_mandatory: false,
            peers: Vec::new(),
            subscribes_received: 0,
            on_full: OnFull::Block,
            single_part: false,
            generated_ids: false,
            send_head: false,
            recv_wire_head: false,
        }
    }

    /// Sets what the builder decided beyond the parts.
    pub(crate) fn configure(&mut self, settings: Settings) {
        self.max_peers = settings.max_peers;
        self.on_full = settings.on_full;
        self.single_part = settings.single_part;
        self.generated_ids = settings.generated_ids;
        self.send_head = settings.send_head;
        self.recv_wire_head = settings.recv_wire_head;
    }

    /// Whether the application subscribes by call (`subscribe`, SUB) or joins groups by call
    /// (`join`, DISH): `Some(exact)`, where `exact` means groups.
    pub fn subscribes_by_call(&self) -> Option<bool> {
        match &self.subscriptions {
            Subs::Subscriber {
                user_messages: false,
                exact,
                ..
            } => Some(*exact),
            _ => None,
        }
    }

    /// What this pattern asks of the transport under its peers (a driver's capabilities are
    /// checked against it at bind and connect).
    pub fn needs(&self) -> Needs {
        let publish_subscribe = matches!(
            self.subscriptions,
            Subs::Publisher { .. } | Subs::Subscriber { .. }
        ) && matches!(self.envelope, Env::None);
        // A SUB or DISH sends only its subscriptions, which a one-way transport does without
        // (its publisher side sends every topic, and the subscriber filters).
        let subscriptions_only = matches!(
            self.subscriptions,
            Subs::Subscriber {
                user_messages: false,
                ..
            }
        );
        Needs {
            sends: !matches!(self.outbound, Out::None) && !subscriptions_only,
            // An XPUB receives its peers' subscriptions.
            receives: !matches!(self.inbound, In::None)
                || matches!(self.subscriptions, Subs::Publisher { xpub: true, .. }),
            delivery: !publish_subscribe,
            per_peer: matches!(self.outbound, Out::ByIdentity | Out::LoadBalance(_))
                || !matches!(self.envelope, Env::None),
        }
    }

    /// Whether this is a SURVEYOR: the socket closes each survey at its deadline.
    pub fn is_surveyor(&self) -> bool {
        matches!(self.envelope, Env::Survey(_))
    }

    /// Closes the open survey: replies to it that arrive later are dropped.
    pub fn end_survey(&mut self) {
        if let Env::Survey(state) = &mut self.envelope {
            state.current = None;
        }
    }

    /// Whether queues keep only the newest message (on_full(Conflate), ZMQ_CONFLATE).
    pub fn conflate(&self) -> bool {
        self.on_full == OnFull::Conflate
    }

    /// Whether the thread-safe rule applies: single-part messages only.
    pub fn single_part(&self) -> bool {
        self.single_part
    }

    /// The socket type announced on the wire.
    pub fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    /// ROUTER_MANDATORY: unroutable messages fail instead of vanishing.
    pub fn set_router_mandatory(&mut self, on: bool) {
        self.router_mandatory = on;
    }

    /// ROUTER_HANDOVER: a new peer with a taken routing id takes it over.
    pub fn set_router_handover(&mut self, on: bool) {
        if let Some(r) = &mut self.routing {
            r.set_handover(on);
        }
    }

    /// XPUB_VERBOSE: pass every subscribe to the application.
    pub fn set_xpub_verbose(&mut self, on: bool) {
        if let Subs::Publisher { verbose, .. } = &mut self.subscriptions {
            *verbose = on;
        }
    }

    /// SUBSCRIBEs a publisher has received from all peers so far, each counted once.
    pub fn subscribes_received(&self) -> u64 {
        self.subscribes_received
    }

    /// The peers, in the order they attached.
    pub fn peers(&self) -> &[PeerId] {
        &self.peers
    }

    /// The routing id a ROUTER knows this peer by.
    pub fn routing_id(&self, peer: PeerId) -> Option<&Bytes> {
        self.routing.as_ref()?.routing_id(peer)
    }

    // ---- peers ----

    /// A pipe to a new peer exists (a connecting pipe may exist before its handshake).
    pub fn peer_attached(&mut self, peer: PeerId) -> Result<(), AttachError> {
        if let Some(max) = self.max_peers {
            if self.peers.len() >= max {
                return Err(AttachError::TooManyPeers { max });
            }
        }
        self.peers.push(peer);
        if let (true, Some(routing)) = (self.generated_ids, &mut self.routing) {
            routing.assign_generated(peer);
        }
        match &mut self.outbound {
            Out::LoadBalance(lb) => lb.activate(peer),
            Out::FanOut(fo) => fo.add(peer),
            Out::None | Out::ByIdentity => {}
        }
        if let Subs::Publisher { peers, .. } = &mut self.subscriptions {
            peers.add_peer(peer);
        }
        self.inbound.activate(peer);
        Ok(())
    }

    /// The peer filters for itself (a DISH behind udp): a publisher (RADIO, PUB) sends it every
    /// message instead of only what it subscribed to.
    pub fn peer_takes_everything(&mut self, peer: PeerId) {
        if let Subs::Publisher { peers, .. } = &mut self.subscriptions {
            peers.take_everything(peer);
        }
    }

    /// The peer completed a handshake (again, after a reconnection): a ROUTER identifies it.
    /// Returns a peer that lost its routing id to this one (ROUTER_HANDOVER).
    pub fn peer_ready(
        &mut self,
        peer: PeerId,
        meta: &PeerMeta,
        pipes: &mut dyn PeerPipes,
    ) -> Result<Option<PeerId>, AttachError> {
        let mut displaced = None;
        if let (false, Some(routing)) = (self.generated_ids, &mut self.routing) {
            displaced = routing.identify(peer, meta)?.displaced;
        }
        let _ = pipes;
        Ok(displaced)
    }

    /// A subscriber writes every subscription (or group) into a peer's pipe: when the pipe
    /// attaches, and again when a reconnection gave it a fresh queue (stale ones were dropped).
    /// Like libzmq, this needs no handshake first: the pipe carries them once connected.
    pub fn replay_subscriptions(&self, peer: PeerId, pipes: &mut dyn PeerPipes) {
        if let Subs::Subscriber { local, .. } = &self.subscriptions {
            for (topic, count) in local.entries() {
                for _ in 0..count {
                    let _ = pipes.try_send(peer, subscription_message(1, &topic));
                }
            }
        }
    }

    /// The peer is going away: nothing more is routed to it, though what it already sent may
    /// still be received until [`peer_removed`](Self::peer_removed).
    pub fn peer_closing(&mut self, peer: PeerId) {
        if let Some(r) = &mut self.routing {
            // Its last messages are still read, with its routing id in front.
            r.retire(peer);
        }
        match &mut self.outbound {
            Out::LoadBalance(lb) => lb.remove(peer),
            Out::FanOut(fo) => fo.remove(peer),
            Out::None | Out::ByIdentity => {}
        }
        if let Subs::Publisher {
            peers,
            xpub,
            all,
            pending,
            ..
        } = &mut self.subscriptions
        {
            // An XPUB learns that the topics only this peer wanted are no longer wanted.
            if let (Some(gone), true) = (peers.remove_peer(peer), *xpub) {
                for (topic, count) in gone.entries() {
                    for _ in 0..count {
                        if all.cancel(&topic) == Some(true) {
                            pending.push_back(subscription_message(0, &topic));
                        }
                    }
                }
            }
        }
    }

    /// The peer is gone.
    pub fn peer_removed(&mut self, peer: PeerId) {
        self.peer_closing(peer);
        if let Some(r) = &mut self.routing {
            r.remove(peer);
        }
        self.peers.retain(|p| *p != peer);
        self.inbound.remove(peer);
    }

    /// The peer's inbound pipe has messages again. A publisher takes its subscriptions now.
    pub fn peer_readable(&mut self, peer: PeerId, pipes: &mut dyn PeerPipes) {
        if matches!(self.subscriptions, Subs::Publisher { .. }) {
            while let Some(msg) = pipes.try_recv(peer) {
                self.take_subscription(peer, msg);
            }
            return;
        }
        self.inbound.activate(peer);
    }

    /// The peer's outbound pipe has room again.
    pub fn peer_writable(&mut self, peer: PeerId) {
        if let Out::LoadBalance(lb) = &mut self.outbound {
            if self.peers.contains(&peer) {
                lb.activate(peer);
            }
        }
    }

    fn take_subscription(&mut self, peer: PeerId, msg: Message) {
        let Subs::Publisher {
            peers,
            xpub,
            verbose,
            all,
            pending,
        } = &mut self.subscriptions
        else {
            return;
        };
        let change = match msg.frames() {
            [frame] => frame.first().copied().filter(|b| *b <= 1),
            _ => None,
        };
        let filter = peers.get_mut(peer);
        let (Some(flag), Some(filter)) = (change, filter) else {
            // Not a subscription: an XPUB hands it to the application, a PUB drops it.
            if *xpub {
                pending.push_back(msg);
            }
            return;
        };
        let topic = msg.first().map(|f| f.slice(1..)).unwrap_or_default();
        if flag == 1 {
            self.subscribes_received += 1;
            filter.subscribe(&topic);
            let first = all.subscribe(&topic);
            if *xpub && (first || *verbose) {
                pending.push_back(msg);
            }
        } else if filter.cancel(&topic).is_some() && all.cancel(&topic) == Some(true) && *xpub {
            pending.push_back(msg);
        }
    }

    // ---- subscriptions (SUB, XSUB) ----

    /// Subscribes to `topic` and tells every peer (SUB's ZMQ_SUBSCRIBE).
    pub fn subscribe(&mut self, topic: &[u8], pipes: &mut dyn PeerPipes) -> bool {
        self.change_subscription(1, topic, pipes)
    }

    /// Cancels one subscription to `topic` and tells every peer (ZMQ_UNSUBSCRIBE).
    pub fn unsubscribe(&mut self, topic: &[u8], pipes: &mut dyn PeerPipes) -> bool {
        self.change_subscription(0, topic, pipes)
    }

    fn change_subscription(&mut self, flag: u8, topic: &[u8], pipes: &mut dyn PeerPipes) -> bool {
        let Subs::Subscriber { local, .. } = &mut self.subscriptions else {
            return false;
        };
        let known = if flag == 1 {
            local.subscribe(topic);
            true
        } else {
            local.cancel(topic).is_some()
        };
        if known {
            for peer in self.peers.clone() {
                let _ = pipes.try_send(peer, subscription_message(flag, topic));
            }
        }
        known
    }

    // ---- traffic ----

    /// Sends a message the application gave us.
    pub fn send(&mut self, msg: Message, pipes: &mut dyn PeerPipes) -> Result<(), SendError> {
        if self.single_part && self.body_len(&msg) > 1 {
            return Err(SendError::Multipart(msg));
        }
        match &mut self.envelope {
            Env::Req(ReqState::AwaitingReply(_)) | Env::Rep(RepState::Idle) => {
                return Err(SendError::WrongState(msg));
            }
            Env::Req(state) => {
                let Out::LoadBalance(lb) = &mut self.outbound else {
                    return Err(SendError::NotSupported(msg));
                };
                return match lb.send(ReqState::wrap(msg), pipes) {
                    Ok(peer) => {
                        *state = ReqState::AwaitingReply(peer);
                        Ok(())
                    }
                    Err(mut back) => {
                        back.pop_front();
                        Err(SendError::WouldBlock(back))
                    }
                };
            }
            Env::Survey(state) => {
                let Out::FanOut(fo) = &mut self.outbound else {
                    return Err(SendError::NotSupported(msg));
                };
                fo.send(state.start(msg), pipes, &|_| true);
                return Ok(());
            }
            Env::SurveyReply(state) => {
                return match std::mem::take(state) {
                    SurveyReplyState::Answering { peer, id } => {
                        let mut msg = msg;
                        msg.push_front(id);
                        // The surveyor may be gone or full: the reply is dropped, as in nng.
                        let _ = pipes.try_send(peer, msg);
                        Ok(())
                    }
                    SurveyReplyState::Idle => Err(SendError::WrongState(msg)),
                };
            }
            Env::Rep(state) => {
                if let RepState::Replying { peer, envelope } = std::mem::take(state) {
                    // The requester may be gone or full: the reply is dropped, as in libzmq.
                    let _ = pipes.try_send(peer, RepState::join(envelope, msg));
                }
                return Ok(());
            }
            Env::None | Env::RoutingId => {}
        }
        if let Subs::Subscriber { user_messages, .. } = &self.subscriptions {
            if !*user_messages {
                return Err(SendError::NotSupported(msg));
            }
            // XSUB: `\x01topic` and `\x00topic` are subscriptions; anything else goes upstream.
            if let [frame] = msg.frames() {
                if let Some(&flag @ (0 | 1)) = frame.first() {
                    let topic = frame.slice(1..);
                    self.change_subscription(flag, &topic, pipes);
                    return Ok(());
                }
            }
        }
        // Which peers a message may reach: with peer subscriptions or groups, those whose
        // filter accepts its first frame; otherwise all.
        let filter = match &self.subscriptions {
            Subs::Publisher { peers, .. } => Some(peers),
            _ => None,
        };
        let topic = msg.first().cloned().unwrap_or_default();
        let accept = |p: PeerId| filter.is_none_or(|f| f.accepts(p, &topic));
        let sent = match &mut self.outbound {
            Out::None => return Err(SendError::NotSupported(msg)),
            Out::ByIdentity => return self.route(msg, pipes),
            Out::LoadBalance(lb) if filter.is_some() => lb.send_matching(msg, pipes, &accept),
            Out::LoadBalance(lb) => lb.send(msg, pipes),
            Out::FanOut(fo) if self.on_full == OnFull::Block => fo
                .send_when_all_have_room(msg, pipes, &accept)
                .map(|_| PeerId(0)),
            Out::FanOut(fo) => {
                fo.send(msg, pipes, &accept);
                return Ok(());
            }
        };
        match sent {
            Ok(_) => Ok(()),
            // on_full(Drop): no peer could take it, the message is dropped.
            Err(_) if self.on_full == OnFull::Drop => Ok(()),
            Err(back) => Err(SendError::WouldBlock(back)),
        }
    }

    fn route(&mut self, mut msg: Message, pipes: &mut dyn PeerPipes) -> Result<(), SendError> {
        let Some(id) = msg.pop_front() else {
            return Err(SendError::NoRoutingId);
        };
        if msg.is_empty() {
            return Err(SendError::NoRoutingId);
        }
        let peer = self.routing.as_ref().and_then(|r| r.peer(&id));
        let Some(peer) = peer else {
            msg.push_front(id);
            return if self.router_mandatory {
                Err(SendError::Unroutable(msg))
            } else {
                Ok(())
            };
        };
        match pipes.try_send(peer, msg) {
            Ok(()) => Ok(()),
            Err(mut back) if self.router_mandatory || self.on_full == OnFull::Block => {
                back.push_front(id);
                Err(SendError::WouldBlock(back))
            }
            // Without ROUTER_MANDATORY a full peer's message is dropped.
            Err(_) => Ok(()),
        }
    }

    /// Receives the next message for the application.
    pub fn recv(&mut self, pipes: &mut dyn PeerPipes) -> Result<Message, RecvError> {
        if let Subs::Publisher { xpub, pending, .. } = &mut self.subscriptions {
            if !*xpub {
                return Err(RecvError::NotSupported);
            }
            return pending.pop_front().ok_or(RecvError::WouldBlock);
        }
        if matches!(self.inbound, In::None) {
            return Err(RecvError::NotSupported);
        }
        loop {
            match &mut self.envelope {
                Env::Req(ReqState::Idle) | Env::Rep(RepState::Replying { .. }) => {
                    return Err(RecvError::WrongState);
                }
                _ => {}
            }
            let (peer, msg) = self.inbound.recv(pipes).ok_or(RecvError::WouldBlock)?;
            // RFC 37: a thread-safe socket MUST discard multipart messages from the wire.
            if self.single_part && msg.len() > 1 + usize::from(self.recv_wire_head) {
                continue;
            }
            match &mut self.envelope {
                Env::Req(state) => {
                    // Only the reply from the peer we asked; anything else is dropped.
                    if *state != ReqState::AwaitingReply(peer) {
                        continue;
                    }
                    if let Some(body) = ReqState::unwrap(msg) {
                        *state = ReqState::Idle;
                        return Ok(body);
                    }
                }
                Env::Rep(state) => {
                    if let Some((envelope, body)) = RepState::split(msg) {
                        *state = RepState::Replying { peer, envelope };
                        return Ok(body);
                    }
                }
                Env::Survey(state) => {
                    if let Some(reply) = state.accept(msg) {
                        return Ok(reply);
                    }
                }
                Env::SurveyReply(state) => {
                    let mut msg = msg;
                    if let Some(id) = msg.pop_front().filter(|_| !msg.is_empty()) {
                        // A new survey replaces one left unanswered, as in nng.
                        *state = SurveyReplyState::Answering { peer, id };
                        return Ok(msg);
                    }
                }
                Env::RoutingId => {
                    if let Some(id) = self.routing.as_ref().and_then(|r| r.routing_id(peer)) {
                        let mut msg = msg;
                        msg.push_front(id.clone());
                        return Ok(msg);
                    }
                }
                Env::None => {
                    if let Subs::Subscriber {
                        local,
                        filter_inbound: true,
                        exact,
                        ..
                    } = &self.subscriptions
                    {
                        let topic = msg.first().map(|f| f.as_ref()).unwrap_or_default();
                        let wanted = if *exact {
                            local.contains(topic)
                        } else {
                            local.matches(topic)
                        };
                        if !wanted {
                            continue;
                        }
                    }
                    return Ok(msg);
                }
            }
        }
    }

    /// Whether a `recv` might succeed now (POLLIN).
    pub fn can_recv(&self, pipes: &dyn PeerPipes) -> bool {
        match (&self.subscriptions, &self.envelope) {
            (Subs::Publisher { pending, .. }, _) => !pending.is_empty(),
            (_, Env::Req(ReqState::Idle)) | (_, Env::Rep(RepState::Replying { .. })) => false,
            _ => match &self.inbound {
                In::None => false,
                In::Latest(l) if l.has_pending() => true,
                _ => self.peers.iter().any(|p| pipes.has_message(*p)),
            },
        }
    }

    /// Whether a `send` would not block now (POLLOUT).
    pub fn can_send(&self, pipes: &dyn PeerPipes) -> bool {
        match (&self.envelope, &self.outbound) {
            (Env::Req(ReqState::AwaitingReply(_)), _) | (Env::Rep(RepState::Idle), _) => false,
            (Env::Rep(_), _) => true,
            (_, Out::LoadBalance(_)) => self.peers.iter().any(|p| pipes.has_room(*p)),
            (_, Out::FanOut(_) | Out::ByIdentity) => true,
            (_, Out::None) => matches!(
                self.subscriptions,
                Subs::Subscriber {
                    user_messages: true,
                    ..
                }
            ),
        }
    }
}

impl Pattern {
    /// Frames of a message that count for the single-part rule: a routing id in front (which
    /// the type carries as the message's metadata on other stacks) does not.
    fn body_len(&self, msg: &Message) -> usize {
        msg.len().saturating_sub(usize::from(self.send_head))
    }
}

/// `\x01topic` (subscribe) or `\x00topic` (cancel), the form subscriptions take in pipes.
pub fn subscription_message(flag: u8, topic: &[u8]) -> Message {
    let mut body = BytesMut::with_capacity(1 + topic.len());
    body.put_u8(flag);
    body.put_slice(topic);
    Message::from(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset;
    use crate::testing::FakePipes;

    fn ready(p: &mut Pattern, pipes: &mut FakePipes, id: u64, announced: Option<&'static str>) {
        pipes.add(PeerId(id), 100);
        p.peer_attached(PeerId(id)).unwrap();
        p.replay_subscriptions(PeerId(id), pipes);
        let meta = PeerMeta {
            routing_id: announced.map(Bytes::from),
            ..PeerMeta::unknown()
        };
        p.peer_ready(PeerId(id), &meta, pipes).unwrap();
    }

    fn text(m: &Message) -> Vec<String> {
        m.iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    #[test]
    fn req_alternates_and_takes_only_its_reply() {
        let mut req = preset::req();
        let mut pipes = FakePipes::default();
        ready(&mut req, &mut pipes, 1, None);
        ready(&mut req, &mut pipes, 2, None);
        assert_eq!(req.recv(&mut pipes), Err(RecvError::WrongState));
        req.send(Message::from("q1"), &mut pipes).unwrap();
        assert!(matches!(
            req.send(Message::from("q2"), &mut pipes),
            Err(SendError::WrongState(_))
        ));
        assert_eq!(text(&pipes.sent(PeerId(1))[0]), ["", "q1"]);
        // A message from the other peer, and one without delimiter, are dropped.
        pipes.deliver(PeerId(2), Message::from_frames(["", "stray"]));
        pipes.deliver(PeerId(1), Message::from("no delimiter"));
        pipes.deliver(PeerId(1), Message::from_frames(["", "a1"]));
        req.peer_readable(PeerId(2), &mut pipes);
        assert_eq!(req.recv(&mut pipes), Ok(Message::from("a1")));
        // The next request goes to the next peer.
        req.send(Message::from("q2"), &mut pipes).unwrap();
        assert_eq!(pipes.sent(PeerId(2)).len(), 1);
    }

    #[test]
    fn rep_answers_along_the_envelope() {
        let mut rep = preset::rep();
        let mut pipes = FakePipes::default();
        ready(&mut rep, &mut pipes, 7, None);
        assert!(matches!(
            rep.send(Message::from("x"), &mut pipes),
            Err(SendError::WrongState(_))
        ));
        pipes.deliver(PeerId(7), Message::from_frames(["r1", "", "ask"]));
        assert_eq!(rep.recv(&mut pipes), Ok(Message::from("ask")));
        assert_eq!(rep.recv(&mut pipes), Err(RecvError::WrongState));
        rep.send(Message::from("answer"), &mut pipes).unwrap();
        assert_eq!(text(&pipes.sent(PeerId(7))[0]), ["r1", "", "answer"]);
    }

    #[test]
    fn router_routes_by_id_and_mandatory_reports_failures() {
        let mut router = preset::router();
        let mut pipes = FakePipes::default();
        ready(&mut router, &mut pipes, 1, Some("alice"));
        ready(&mut router, &mut pipes, 2, None);
        pipes.deliver(PeerId(1), Message::from("hi"));
        assert_eq!(text(&router.recv(&mut pipes).unwrap()), ["alice", "hi"]);
        router
            .send(Message::from_frames(["alice", "back"]), &mut pipes)
            .unwrap();
        assert_eq!(text(&pipes.sent(PeerId(1))[0]), ["back"]);
        // Unknown ids vanish, unless ROUTER_MANDATORY.
        router
            .send(Message::from_frames(["bob", "x"]), &mut pipes)
            .unwrap();
        router.set_router_mandatory(true);
        assert!(matches!(
            router.send(Message::from_frames(["bob", "x"]), &mut pipes),
            Err(SendError::Unroutable(_))
        ));
        let generated = router.routing_id(PeerId(2)).unwrap().clone();
        assert_eq!(generated[0], 0);
        router.peer_removed(PeerId(1));
        pipes.remove(PeerId(1));
        assert!(matches!(
            router.send(Message::from_frames(["alice", "x"]), &mut pipes),
            Err(SendError::Unroutable(_))
        ));
    }

    #[test]
    fn router_reads_what_a_closing_peer_sent_with_its_id_and_routes_nothing_to_it() {
        let mut router = preset::router();
        router.set_router_mandatory(true);
        let mut pipes = FakePipes::default();
        ready(&mut router, &mut pipes, 1, Some("alice"));
        pipes.deliver(PeerId(1), Message::from("last words"));
        router.peer_closing(PeerId(1));
        assert_eq!(
            text(&router.recv(&mut pipes).unwrap()),
            ["alice", "last words"]
        );
        assert!(matches!(
            router.send(Message::from_frames(["alice", "x"]), &mut pipes),
            Err(SendError::Unroutable(_))
        ));
        // A newcomer may take the id while the old peer is still draining.
        ready(&mut router, &mut pipes, 2, Some("alice"));
        router.peer_removed(PeerId(1));
        router
            .send(
                Message::from_frames(["alice", "to the new one"]),
                &mut pipes,
            )
            .unwrap();
        assert_eq!(text(&pipes.sent(PeerId(2))[0]), ["to the new one"]);
    }

    #[test]
    fn publisher_filters_per_peer_and_xpub_sees_changes() {
        let mut xpub = preset::xpub();
        let mut pipes = FakePipes::default();
        ready(&mut xpub, &mut pipes, 1, None);
        ready(&mut xpub, &mut pipes, 2, None);
        pipes.deliver(PeerId(1), subscription_message(1, b"a"));
        pipes.deliver(PeerId(2), subscription_message(1, b"a"));
        pipes.deliver(PeerId(2), subscription_message(1, b"b"));
        pipes.deliver(PeerId(2), Message::from("user message"));
        xpub.peer_readable(PeerId(1), &mut pipes);
        xpub.peer_readable(PeerId(2), &mut pipes);
        // The second "a" is not passed on: only first subscribes, unless verbose.
        let seen: Vec<Message> = std::iter::from_fn(|| xpub.recv(&mut pipes).ok()).collect();
        assert_eq!(
            seen,
            [
                subscription_message(1, b"a"),
                subscription_message(1, b"b"),
                Message::from("user message")
            ]
        );
        xpub.send(Message::from("apple"), &mut pipes).unwrap();
        xpub.send(Message::from("banana"), &mut pipes).unwrap();
        assert_eq!(pipes.sent(PeerId(1)).len(), 1);
        assert_eq!(pipes.sent(PeerId(2)).len(), 2);
        // Peer 2 leaves: "b" had no other subscriber, "a" still has peer 1.
        xpub.peer_removed(PeerId(2));
        assert_eq!(xpub.recv(&mut pipes), Ok(subscription_message(0, b"b")));
        assert_eq!(xpub.recv(&mut pipes), Err(RecvError::WouldBlock));

        let mut plain = preset::pub_();
        assert_eq!(plain.recv(&mut pipes), Err(RecvError::NotSupported));
    }

    #[test]
    fn sub_sends_replays_and_filters() {
        let mut sub = preset::sub();
        let mut pipes = FakePipes::default();
        assert!(matches!(
            sub.send(Message::from("x"), &mut pipes),
            Err(SendError::NotSupported(_))
        ));
        ready(&mut sub, &mut pipes, 1, None);
        sub.subscribe(b"news", &mut pipes);
        assert_eq!(pipes.sent(PeerId(1)), [subscription_message(1, b"news")]);
        // A new peer gets the subscription replayed.
        ready(&mut sub, &mut pipes, 2, None);
        assert_eq!(pipes.sent(PeerId(2)), [subscription_message(1, b"news")]);
        pipes.deliver(PeerId(1), Message::from("sports"));
        pipes.deliver(PeerId(1), Message::from("news!"));
        assert_eq!(sub.recv(&mut pipes), Ok(Message::from("news!")));
        assert!(!sub.unsubscribe(b"never", &mut pipes));
        assert!(sub.unsubscribe(b"news", &mut pipes));
        assert_eq!(pipes.sent(PeerId(2)), [subscription_message(0, b"news")]);
    }

    #[test]
    fn xsub_takes_subscriptions_as_messages() {
        let mut xsub = preset::xsub();
        let mut pipes = FakePipes::default();
        ready(&mut xsub, &mut pipes, 1, None);
        xsub.send(subscription_message(1, b"t"), &mut pipes)
            .unwrap();
        xsub.send(Message::from("upstream"), &mut pipes).unwrap();
        assert_eq!(
            pipes.sent(PeerId(1)),
            [subscription_message(1, b"t"), Message::from("upstream")]
        );
        // XSUB does not filter what it receives.
        pipes.deliver(PeerId(1), Message::from("anything"));
        assert_eq!(xsub.recv(&mut pipes), Ok(Message::from("anything")));
    }

    #[test]
    fn pair_refuses_a_second_peer() {
        let mut pair = preset::pair();
        assert!(pair.peer_attached(PeerId(1)).is_ok());
        assert_eq!(
            pair.peer_attached(PeerId(2)),
            Err(AttachError::TooManyPeers { max: 1 })
        );
        pair.peer_removed(PeerId(1));
        assert!(pair.peer_attached(PeerId(3)).is_ok());
    }

    #[test]
    fn server_gives_peers_generated_ids_and_stays_single_part() {
        let mut server = preset::server();
        let mut pipes = FakePipes::default();
        ready(&mut server, &mut pipes, 1, Some("ignored"));
        ready(&mut server, &mut pipes, 2, None);
        let id1 = server.routing_id(PeerId(1)).unwrap().clone();
        assert_eq!(id1.len(), 4);
        assert_ne!(&id1[..], b"ignored");
        pipes.deliver(PeerId(1), Message::from("hi"));
        let got = server.recv(&mut pipes).unwrap();
        assert_eq!(got.frames(), [id1.clone(), Bytes::from_static(b"hi")]);
        // Multipart from the wire is dropped (RFC 37, thread-safe types).
        pipes.deliver(PeerId(2), Message::from_frames(["a", "b"]));
        assert_eq!(server.recv(&mut pipes), Err(RecvError::WouldBlock));
        server
            .send(
                Message::from_frames([id1.clone(), Bytes::from_static(b"back")]),
                &mut pipes,
            )
            .unwrap();
        assert_eq!(pipes.sent(PeerId(1)), [Message::from("back")]);
        assert!(matches!(
            server.send(
                Message::from_frames([id1, Bytes::from_static(b"a"), Bytes::from_static(b"b")]),
                &mut pipes
            ),
            Err(SendError::Multipart(_))
        ));
        let mut client = preset::client();
        assert!(matches!(
            client.send(Message::from_frames(["a", "b"]), &mut pipes),
            Err(SendError::Multipart(_))
        ));
    }

    #[test]
    fn radio_sends_to_exact_groups_and_dish_filters() {
        let mut radio = preset::radio();
        let mut pipes = FakePipes::default();
        ready(&mut radio, &mut pipes, 1, None);
        ready(&mut radio, &mut pipes, 2, None);
        pipes.deliver(PeerId(1), subscription_message(1, b"weather"));
        pipes.deliver(PeerId(2), subscription_message(1, b"weather-eu"));
        radio.peer_readable(PeerId(1), &mut pipes);
        radio.peer_readable(PeerId(2), &mut pipes);
        radio
            .send(Message::from_frames(["weather", "rain"]), &mut pipes)
            .unwrap();
        assert_eq!(pipes.sent(PeerId(1)).len(), 1);
        assert_eq!(
            pipes.sent(PeerId(2)).len(),
            0,
            "groups match exactly, not by prefix"
        );
        pipes.deliver(PeerId(1), subscription_message(0, b"weather"));
        radio.peer_readable(PeerId(1), &mut pipes);
        radio
            .send(Message::from_frames(["weather", "sun"]), &mut pipes)
            .unwrap();
        assert_eq!(pipes.sent(PeerId(1)).len(), 0, "after LEAVE");

        let mut dish = preset::dish();
        ready(&mut dish, &mut pipes, 3, None);
        assert!(dish.subscribe(b"news", &mut pipes));
        assert_eq!(pipes.sent(PeerId(3)), [subscription_message(1, b"news")]);
        pipes.deliver(PeerId(3), Message::from_frames(["newsroom", "x"]));
        pipes.deliver(PeerId(3), Message::from_frames(["news", "y"]));
        assert_eq!(
            dish.recv(&mut pipes),
            Ok(Message::from_frames(["news", "y"]))
        );
    }

    #[test]
    fn surveyor_collects_replies_to_the_open_survey_only() {
        let mut surveyor = preset::surveyor();
        let mut pipes = FakePipes::default();
        ready(&mut surveyor, &mut pipes, 1, None);
        ready(&mut surveyor, &mut pipes, 2, None);
        surveyor
            .send(Message::from("how many?"), &mut pipes)
            .unwrap();
        let s1 = pipes.sent(PeerId(1)).remove(0);
        assert_eq!(
            pipes.sent(PeerId(2)).len(),
            1,
            "fanned out to every respondent"
        );

        let mut respondent = preset::respondent();
        let mut rpipes = FakePipes::default();
        ready(&mut respondent, &mut rpipes, 9, None);
        assert!(matches!(
            respondent.send(Message::from("unasked"), &mut rpipes),
            Err(SendError::WrongState(_))
        ));
        rpipes.deliver(PeerId(9), s1);
        assert_eq!(respondent.recv(&mut rpipes), Ok(Message::from("how many?")));
        respondent
            .send(Message::from("three"), &mut rpipes)
            .unwrap();
        let answer = rpipes.sent(PeerId(9)).remove(0);

        pipes.deliver(PeerId(1), answer.clone());
        assert_eq!(surveyor.recv(&mut pipes), Ok(Message::from("three")));
        // After the deadline (or a new survey) the same answer no longer counts.
        surveyor.end_survey();
        pipes.deliver(PeerId(1), answer);
        assert_eq!(surveyor.recv(&mut pipes), Err(RecvError::WouldBlock));
    }

    #[test]
    fn on_full_drop_and_block() {
        use crate::builder::{Filter, OnFull, Outbound};
        let mut pipes = FakePipes::default();
        let mut push = Pattern::builder()
            .wire_type(SocketType::Push)
            .outbound(Outbound::LoadBalance)
            .on_full(OnFull::Drop)
            .build()
            .unwrap();
        pipes.add(PeerId(1), 1);
        push.peer_attached(PeerId(1)).unwrap();
        push.send(Message::from("a"), &mut pipes).unwrap();
        push.send(Message::from("dropped"), &mut pipes).unwrap();
        assert_eq!(pipes.sent(PeerId(1)), [Message::from("a")]);

        let mut nodrop = Pattern::builder()
            .wire_type(SocketType::Pub)
            .outbound(Outbound::FanOut)
            .filter(Filter::PeerSubscriptions)
            .on_full(OnFull::Block)
            .build()
            .unwrap();
        pipes.add(PeerId(2), 1);
        pipes.add(PeerId(3), 10);
        for id in [2, 3] {
            nodrop.peer_attached(PeerId(id)).unwrap();
            pipes.deliver(PeerId(id), subscription_message(1, b""));
            nodrop.peer_readable(PeerId(id), &mut pipes);
        }
        nodrop.send(Message::from("x"), &mut pipes).unwrap();
        // Peer 2 is full: nobody gets y, and the caller may wait (libzmq's XPUB_NODROP).
        assert!(matches!(
            nodrop.send(Message::from("y"), &mut pipes),
            Err(SendError::WouldBlock(_))
        ));
        assert_eq!(pipes.sent(PeerId(3)), [Message::from("x")]);
    }

    #[test]
    fn competing_consumers_share_a_topic() {
        use crate::builder::{Filter, Outbound};
        let mut work = Pattern::builder()
            .wire_type(SocketType::Pub)
            .outbound(Outbound::LoadBalance)
            .filter(Filter::PeerSubscriptions)
            .build()
            .unwrap();
        let mut pipes = FakePipes::default();
        for (id, topic) in [(1, "job"), (2, "job"), (3, "log")] {
            ready(&mut work, &mut pipes, id, None);
            pipes.deliver(PeerId(id), subscription_message(1, topic.as_bytes()));
            work.peer_readable(PeerId(id), &mut pipes);
        }
        for i in 0..4 {
            work.send(Message::from(format!("job {i}")), &mut pipes)
                .unwrap();
        }
        work.send(Message::from("log line"), &mut pipes).unwrap();
        assert_eq!(
            pipes.sent(PeerId(1)),
            [Message::from("job 0"), Message::from("job 2")]
        );
        assert_eq!(
            pipes.sent(PeerId(2)),
            [Message::from("job 1"), Message::from("job 3")]
        );
        assert_eq!(pipes.sent(PeerId(3)), [Message::from("log line")]);
        // Nobody subscribed: a load-balancer blocks (EAGAIN) rather than lose the message.
        assert!(matches!(
            work.send(Message::from("unwanted"), &mut pipes),
            Err(SendError::WouldBlock(_))
        ));
    }

    #[test]
    fn bus_sends_to_every_peer_and_receives_from_all() {
        let mut bus = preset::bus();
        let mut pipes = FakePipes::default();
        for id in 1..=3 {
            ready(&mut bus, &mut pipes, id, None);
        }
        bus.send(Message::from("all"), &mut pipes).unwrap();
        for id in 1..=3 {
            assert_eq!(pipes.sent(PeerId(id)), [Message::from("all")]);
        }
        pipes.deliver(PeerId(2), Message::from("from 2"));
        assert_eq!(bus.recv(&mut pipes), Ok(Message::from("from 2")));
    }

    #[test]
    fn every_classic_type_has_a_preset_with_its_wire_type() {
        for t in SocketType::ALL {
            let p = preset::for_type(t).unwrap_or_else(|| panic!("{t} has no preset"));
            assert_eq!(p.socket_type(), t);
            assert_eq!(p.single_part(), t.is_thread_safe(), "{t}");
        }
    }
}
