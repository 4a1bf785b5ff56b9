//! The inproc transport: pipes join two sockets of one context directly; no thread, no ZMTP.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::driver::{Driver, DriverError, EndpointHandle, PeerCaps, SocketCommand, SocketLink};
use crate::endpoint::EndpointError;
use crate::monitor::EventKind;
use crate::options::Options;
use crate::pipe::{Capacity, PipeControl, PipeEnd, pipe};

/// `inproc://name`, within one context. Connecting before the name is bound works: the pipe
/// exists at once and is joined when the bind comes, as in libzmq.
#[derive(Default)]
pub struct Inproc {
    names: Arc<Mutex<HashMap<String, Name>>>,
}

impl std::fmt::Debug for Inproc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names.lock().keys()).finish()
    }
}

#[derive(Default)]
struct Name {
    bound: Option<(u64, SocketLink)>,
    pending: Vec<Pending>,
}

/// A connect that came before the bind: the binder's end waits here.
struct Pending {
    key: u64,
    connecter: SocketLink,
    peer: u64,
    end: PipeEnd,
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// libzmq adds the two sides' high-water marks on inproc (0 on either side means no limit).
fn capacity(sender: &Options, receiver: &Options) -> Capacity {
    if sender.conflate || receiver.conflate {
        return Capacity::Conflate;
    }
    match (sender.sndhwm, receiver.rcvhwm) {
        (0, _) | (_, 0) => Capacity::Unbounded,
        (s, r) => Capacity::Bounded(s.saturating_add(r)),
    }
}

fn check_name(address: &str) -> Result<(), DriverError> {
    if address.is_empty() {
        return Err(EndpointError::EmptyAddress("inproc://".into()).into());
    }
    Ok(())
}

/// Attaches both ends of a pipe between two linked sockets.
fn join(
    endpoint: &str,
    connecter: &SocketLink,
    connecter_peer: u64,
    connecter_end: Option<PipeEnd>,
    binder: &SocketLink,
    binder_end: PipeEnd,
) {
    let assigned_id = connecter.options().connect_routing_id.clone();
    match connecter_end {
        Some(end) => connecter.post(SocketCommand::Attach {
            peer: connecter_peer,
            pipe: end,
            endpoint: endpoint.to_string(),
            info: Some(binder.peer_info()),
            assigned_id,
            caps: PeerCaps::default(),
        }),
        None => connecter.post(SocketCommand::Ready {
            peer: connecter_peer,
            info: binder.peer_info(),
            fresh: None,
        }),
    }
    binder.post(SocketCommand::Attach {
        peer: binder.next_peer_id(),
        pipe: binder_end,
        endpoint: endpoint.to_string(),
        info: Some(connecter.peer_info()),
        assigned_id: None,
        caps: PeerCaps::default(),
    });
}

impl Inproc {
    /// Whether a socket is bound at `inproc://name` now.
    pub fn is_bound(&self, name: &str) -> bool {
        self.names
            .lock()
            .get(name)
            .is_some_and(|n| n.bound.is_some())
    }
}

impl Driver for Inproc {
    fn scheme(&self) -> &str {
        "inproc"
    }

    fn bind(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        check_name(address)?;
        let endpoint = format!("inproc://{address}");
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let mut names = self.names.lock();
        let name = names.entry(address.to_string()).or_default();
        if name.bound.is_some() {
            return Err(DriverError::AddressInUse { endpoint });
        }
        name.bound = Some((key, link.clone()));
        let ours = link.options().socket_type;
        for p in name.pending.drain(..) {
            let theirs = p.connecter.options().socket_type;
            if !ours.is_compatible(theirs) {
                // Dropping the end tells the connecting socket its pipe is gone.
                p.connecter.monitor(
                    EventKind::HandshakeFailed {
                        reason: format!("a {theirs} socket cannot talk to a {ours} socket"),
                        no_retry: true,
                    },
                    &endpoint,
                );
                continue;
            }
            join(&endpoint, &p.connecter, p.peer, None, link, p.end);
        }
        drop(names);
        link.monitor(EventKind::Listening, &endpoint);
        Ok(Box::new(InprocEndpoint {
            names: self.names.clone(),
            name: address.to_string(),
            endpoint,
            key,
            control: None,
        }))
    }

    fn connect(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        check_name(address)?;
        let endpoint = format!("inproc://{address}");
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let ours = link.options();
        let peer = link.next_peer_id();
        let mut names = self.names.lock();
        let name = names.entry(address.to_string()).or_default();
        let control = match &name.bound {
            Some((_, binder)) => {
                let theirs = binder.options();
                if !ours.socket_type.is_compatible(theirs.socket_type) {
                    return Err(DriverError::Incompatible {
                        endpoint,
                        ours: ours.socket_type,
                        theirs: theirs.socket_type,
                    });
                }
                let (a, b) = pipe(capacity(ours, theirs), capacity(theirs, ours));
                let control = a.control();
                join(&endpoint, link, peer, Some(a), binder, b);
                control
            }
            None => {
                let (a, b) = pipe(ours.outbound_capacity(), ours.inbound_capacity());
                let control = a.control();
                link.post(SocketCommand::Attach {
                    peer,
                    pipe: a,
                    endpoint: endpoint.clone(),
                    info: None,
                    assigned_id: ours.connect_routing_id.clone(),
                    caps: PeerCaps::default(),
                });
                name.pending.push(Pending {
                    key,
                    connecter: link.clone(),
                    peer,
                    end: b,
                });
                control
            }
        };
        Ok(Box::new(InprocEndpoint {
            names: self.names.clone(),
            name: address.to_string(),
            endpoint,
            key,
            control: Some(control),
        }))
    }
}

/// A bound name, or one connection; dropping it unbinds or disconnects.
struct InprocEndpoint {
    names: Arc<Mutex<HashMap<String, Name>>>,
    name: String,
    endpoint: String,
    key: u64,
    control: Option<PipeControl>,
}

impl EndpointHandle for InprocEndpoint {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn close(self: Box<Self>) {}
}

impl Drop for InprocEndpoint {
    fn drop(&mut self) {
        let mut names = self.names.lock();
        if let Some(name) = names.get_mut(&self.name) {
            if name.bound.as_ref().is_some_and(|(k, _)| *k == self.key) {
                name.bound = None;
            }
            name.pending.retain(|p| p.key != self.key);
            if name.bound.is_none() && name.pending.is_empty() {
                names.remove(&self.name);
            }
        }
        drop(names);
        if let Some(control) = &self.control {
            control.close();
        }
    }
}
