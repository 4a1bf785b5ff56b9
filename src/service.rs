//! Service names over beacons: announce an endpoint under a name, and connect to `beacon://NAME`.
//!
//! An [`Announcer`] broadcasts `NAME ENDPOINT` beacons; a socket that connects to
//! `beacon://NAME` (or `beacon://NAME:PORT`) connects to every endpoint announced under that name
//! as it appears, through the transport of that endpoint, and disconnects from it when its
//! announcer says it leaves or its beacons stop for [`SERVICE_TTL`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use zvtran_drivers::driver::{Driver, DriverError, EndpointHandle, SocketLink, WeakRegistry};
use zvtran_drivers::endpoint::EndpointError;

use crate::beacon::{Beacon, BeaconError, ZRE_PORT};

/// How long an endpoint stays connected after its last beacon.
pub const SERVICE_TTL: Duration = Duration::from_secs(3);

/// How often an announcer repeats itself.
pub const ANNOUNCE_INTERVAL: Duration = Duration::from_millis(500);

/// Beacons of this format start with these octets.
const MAGIC: &[u8] = b"ZVS\x01";

/// One service beacon: `ZVS\x01`, the name's length, the name, here (1) or leaving (0), the
/// endpoint.
fn encode(name: &str, endpoint: &str, here: bool) -> Result<Bytes, BeaconError> {
    let len = u8::try_from(name.len()).map_err(|_| BeaconError::TooLong(name.len()))?;
    let mut b = BytesMut::new();
    b.put_slice(MAGIC);
    b.put_u8(len);
    b.put_slice(name.as_bytes());
    b.put_u8(u8::from(here));
    b.put_slice(endpoint.as_bytes());
    Ok(b.freeze())
}

fn prefix(name: &str) -> Bytes {
    let mut b = BytesMut::new();
    b.put_slice(MAGIC);
    b.put_u8(name.len() as u8);
    b.put_slice(name.as_bytes());
    b.freeze()
}

/// Announces an endpoint under a service name until dropped; dropping it says it leaves.
pub struct Announcer {
    beacon: Beacon,
    name: String,
    endpoint: String,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl Announcer {
    /// Announces `endpoint` (as peers should connect to it, e.g. `tcp://192.0.2.2:5555`)
    /// under `name` on the UDP beacon `port` (zyre's 5670 by default elsewhere).
    pub fn new(name: &str, endpoint: &str, port: u16) -> Result<Announcer, crate::Error> {
        let beacon =
            Beacon::new(port).map_err(|e| crate::Error::Beacon(format!("udp port {port}: {e}")))?;
        let payload = encode(name, endpoint, true)
            .map_err(|e| crate::Error::Beacon(format!("service name {name:?}: {e}")))?;
        beacon
            .publish(payload, ANNOUNCE_INTERVAL)
            .map_err(|e| crate::Error::Beacon(format!("service {name:?} at {endpoint}: {e}")))?;
        Ok(Announcer {
            beacon,
            name: name.to_string(),
            endpoint: endpoint.to_string(),
        })
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        if let Ok(leaving) = encode(&self.name, &self.endpoint, false) {
            // A few times over: a beacon is a datagram.
            let _ = self.beacon.publish(leaving, Duration::from_millis(50));
            std::thread::sleep(Duration::from_millis(160));
        }
    }
}

/// The `beacon://` transport: connects to what is announced under a name.
pub(crate) struct ServiceDriver {
    pub(crate) registry: WeakRegistry,
}

impl Driver for ServiceDriver {
    fn scheme(&self) -> &str {
        "beacon"
    }

    fn bind(
        &self,
        address: &str,
        _link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        Err(DriverError::NotSupported {
            endpoint: format!("beacon://{address}"),
            reason:
                "beacon:// is for connecting; bind a real endpoint and announce it with Announcer"
                    .into(),
        })
    }

    fn connect(
        &self,
        address: &str,
        link: &SocketLink,
    ) -> Result<Box<dyn EndpointHandle>, DriverError> {
        let endpoint = format!("beacon://{address}");
        let (name, port) = match address.rsplit_once(':') {
            Some((name, port)) => (
                name,
                port.parse::<u16>().map_err(|_| EndpointError::BadPort {
                    endpoint: endpoint.clone(),
                    port: port.to_string(),
                })?,
            ),
            None => (address, ZRE_PORT),
        };
        if name.is_empty() || name.len() > 200 {
            return Err(EndpointError::EmptyAddress(endpoint).into());
        }
        let beacon = Beacon::new(port).map_err(|source| DriverError::Io {
            endpoint: endpoint.clone(),
            source,
        })?;
        beacon.subscribe(prefix(name));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (registry, link, name_len) = (self.registry.clone(), link.clone(), name.len());
        let join = std::thread::Builder::new()
            .name("zvtran-service".into())
            .spawn(move || follow(&beacon, name_len, &registry, &link, &flag))
            .map_err(|source| DriverError::Io {
                endpoint: endpoint.clone(),
                source,
            })?;
        Ok(Box::new(ServiceEndpoint {
            endpoint,
            stop,
            join: Some(join),
        }))
    }
}

/// Connects to announced endpoints as they come and go.
fn follow(
    beacon: &Beacon,
    name_len: usize,
    registry: &WeakRegistry,
    link: &SocketLink,
    stop: &AtomicBool,
) {
    let mut connected: HashMap<String, (Box<dyn EndpointHandle>, Instant)> = HashMap::new();
    while !stop.load(Ordering::Acquire) {
        if let Some(heard) = beacon.recv_timeout(Duration::from_millis(100)) {
            let rest = heard
                .payload
                .get(MAGIC.len() + 1 + name_len..)
                .unwrap_or_default();
            if let Some((&here, endpoint)) = rest.split_first() {
                let endpoint = String::from_utf8_lossy(endpoint).into_owned();
                if here == 0 {
                    if let Some((h, _)) = connected.remove(&endpoint) {
                        h.close();
                    }
                } else if let Some((_, seen)) = connected.get_mut(&endpoint) {
                    *seen = Instant::now();
                } else if let Some(registry) = registry.upgrade() {
                    // A bad announcement is skipped: it cannot harm the socket.
                    if let Ok((driver, address)) = registry.resolve(&endpoint) {
                        if let Ok(h) = driver.connect(address, link) {
                            connected.insert(endpoint, (h, Instant::now()));
                        }
                    }
                }
            }
        }
        let expired: Vec<String> = connected
            .iter()
            .filter(|(_, (_, seen))| seen.elapsed() > SERVICE_TTL)
            .map(|(e, _)| e.clone())
            .collect();
        for e in expired {
            if let Some((h, _)) = connected.remove(&e) {
                h.close();
            }
        }
    }
    for (_, (h, _)) in connected {
        h.close();
    }
}

struct ServiceEndpoint {
    endpoint: String,
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<()>>,
}

impl ServiceEndpoint {
    fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

impl EndpointHandle for ServiceEndpoint {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn close(mut self: Box<Self>) {
        self.stop();
    }
}

impl Drop for ServiceEndpoint {
    fn drop(&mut self) {
        self.stop();
    }
}
