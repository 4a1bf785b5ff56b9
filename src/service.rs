//! Service names over beacons: announce an endpoint under a name, and connect to `beacon://NAME`.
//!
//! An [`Announcer`] broadcasts `NAME ENDPOINT` beacons; a socket that connects to
//! `beacon://NAME` (or `beacon://NAME:PORT`) connects to every endpoint announced under that name
//! as it appears, through the transport of that endpoint, and disconnects from it when its
//! announcer says it leaves or its beacons stop for [`SERVICE_TTL`]. An endpoint announced with
//! a wildcard host (`tcp://*:5555`, `tcp://0.0.0.0:5555`, `tcp://[::]:5555`) is reached at the
//! address its beacon came from, as zyre does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use zvtran_drivers::driver::{Driver, DriverError, EndpointHandle, SocketLink, WeakRegistry};
use zvtran_drivers::endpoint::EndpointError;

use crate::beacon::{Beacon, BeaconConfig, BeaconError, ZRE_PORT};

/// How long an endpoint stays connected after its last beacon.
pub const SERVICE_TTL: Duration = Duration::from_secs(3);

/// How often an announcer repeats itself.
pub const ANNOUNCE_INTERVAL: Duration = Duration::from_millis(500);

/// Beacons of this format start with these octets.
const MAGIC: &[u8] = b"ZVS\x01";

/// One service beacon: `ZVS\x01`, the name's length, the name, here (1) or leaving (0), the
/// announcer's 8-octet instance id, the endpoint.
fn encode(name: &str, endpoint: &str, here: bool, instance: u64) -> Result<Bytes, BeaconError> {
    let len = u8::try_from(name.len()).map_err(|_| BeaconError::TooLong(name.len()))?;
    let mut b = BytesMut::new();
    b.put_slice(MAGIC);
    b.put_u8(len);
    b.put_slice(name.as_bytes());
    b.put_u8(u8::from(here));
    b.put_u64(instance);
    b.put_slice(endpoint.as_bytes());
    Ok(b.freeze())
}

/// What a service beacon says after its name: (here, instance, endpoint).
fn decode(rest: &[u8]) -> Option<(bool, u64, String)> {
    let (&here, rest) = rest.split_first()?;
    let (instance, endpoint) = rest.split_first_chunk::<8>()?;
    let endpoint = std::str::from_utf8(endpoint).ok()?;
    Some((
        here != 0,
        u64::from_be_bytes(*instance),
        endpoint.to_string(),
    ))
}

/// `endpoint` with a wildcard host (`*`, `0.0.0.0`, `::`) replaced by `from`.
fn fill_host(endpoint: &str, from: IpAddr) -> String {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return endpoint.to_string();
    };
    let Some((host, port)) = rest.rsplit_once(':') else {
        return endpoint.to_string();
    };
    if !matches!(host, "*" | "0.0.0.0" | "[::]" | "[*]") {
        return endpoint.to_string();
    }
    match from {
        IpAddr::V4(ip) => format!("{scheme}://{ip}:{port}"),
        IpAddr::V6(ip) => format!("{scheme}://[{ip}]:{port}"),
    }
}

/// A random id for one announcer, so a follower that hears it on several paths connects once.
fn instance_id() -> u64 {
    zvtran_drivers::random::random_u64()
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
    instance: u64,
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
    /// Announces `endpoint` under `name` on the UDP beacon `port` (zyre's 5670 by default
    /// elsewhere), broadcast on every interface. The endpoint is what peers should connect to
    /// (`tcp://192.0.2.2:5555`); a wildcard host (`tcp://*:5555`, or a bound
    /// `tcp://0.0.0.0:5555`) is reached at the address the beacon comes from.
    pub fn new(name: &str, endpoint: &str, port: u16) -> Result<Announcer, crate::Error> {
        Announcer::with_config(name, endpoint, port, &BeaconConfig::default())
    }

    /// Like [`Announcer::new`], with beacons sent as `config` says (one interface, multicast).
    pub fn with_config(
        name: &str,
        endpoint: &str,
        port: u16,
        config: &BeaconConfig,
    ) -> Result<Announcer, crate::Error> {
        let beacon = Beacon::with_config(port, config)
            .map_err(|e| crate::Error::Beacon(format!("udp port {port}: {e}")))?;
        let instance = instance_id();
        let payload = encode(name, endpoint, true, instance)
            .map_err(|e| crate::Error::Beacon(format!("service name {name:?}: {e}")))?;
        beacon
            .publish(payload, ANNOUNCE_INTERVAL)
            .map_err(|e| crate::Error::Beacon(format!("service {name:?} at {endpoint}: {e}")))?;
        Ok(Announcer {
            beacon,
            name: name.to_string(),
            endpoint: endpoint.to_string(),
            instance,
        })
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        if let Ok(leaving) = encode(&self.name, &self.endpoint, false, self.instance) {
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
    // By (announcer, endpoint as announced): the connection and when it was last heard.
    let mut connected: HashMap<(u64, String), (Box<dyn EndpointHandle>, Instant)> = HashMap::new();
    while !stop.load(Ordering::Acquire) {
        if let Some(heard) = beacon.recv_timeout(Duration::from_millis(100)) {
            let rest = heard
                .payload
                .get(MAGIC.len() + 1 + name_len..)
                .unwrap_or_default();
            if let Some((here, instance, endpoint)) = decode(rest) {
                let key = (instance, endpoint);
                if !here {
                    if let Some((h, _)) = connected.remove(&key) {
                        h.close();
                    }
                } else if let Some((_, seen)) = connected.get_mut(&key) {
                    *seen = Instant::now();
                } else if let Some(registry) = registry.upgrade() {
                    let target = fill_host(&key.1, heard.from);
                    // A bad announcement is skipped: it cannot harm the socket.
                    if let Ok((driver, address)) = registry.resolve(&target) {
                        if let Ok(h) = driver.connect(address, link) {
                            connected.insert(key, (h, Instant::now()));
                        }
                    }
                }
            }
        }
        let expired: Vec<(u64, String)> = connected
            .iter()
            .filter(|(_, (_, seen))| seen.elapsed() > SERVICE_TTL)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            if let Some((h, _)) = connected.remove(&k) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_hosts_are_filled_from_the_sender() {
        let v4: IpAddr = "10.77.0.1".parse().unwrap();
        let v6: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(fill_host("tcp://*:5555", v4), "tcp://10.77.0.1:5555");
        assert_eq!(fill_host("tcp://0.0.0.0:5555", v4), "tcp://10.77.0.1:5555");
        assert_eq!(fill_host("tcp://[::]:5555", v6), "tcp://[fe80::1]:5555");
        assert_eq!(fill_host("tcp://10.0.0.9:5555", v4), "tcp://10.0.0.9:5555");
        assert_eq!(fill_host("ipc:///tmp/x", v4), "ipc:///tmp/x");
        assert_eq!(fill_host("nonsense", v4), "nonsense");
    }

    #[test]
    fn beacons_round_trip_and_garbage_is_refused() {
        let b = encode("jobs", "tcp://*:1", true, 42).unwrap();
        let rest = &b[MAGIC.len() + 1 + 4..];
        assert_eq!(decode(rest), Some((true, 42, "tcp://*:1".to_string())));
        assert_eq!(decode(&rest[..5]), None);
        assert_eq!(decode(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff]), None);
        assert!(encode(&"x".repeat(256), "e", true, 0).is_err());
    }
}
