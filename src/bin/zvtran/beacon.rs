//! `zvtran beacon`: publish a UDP beacon, or listen for beacons, like czmq's zbeacon.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Subcommand;
use std::net::IpAddr;

use zvtran::beacon::{Beacon, BeaconConfig, DEFAULT_INTERVAL, IPV6_ALL_NODES, ZRE_PORT};
use zvtran::zmtp::Message;

use crate::{exit, text};

/// Publish or listen for UDP beacons (zero-configuration discovery).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

/// Where beacons travel (both subcommands).
#[derive(Debug, Clone, clap::Args)]
struct Where {
    /// Only this network interface, by name or IPv4 address (czmq's ZSYS_INTERFACE); default:
    /// every interface with a broadcast address.
    #[arg(long, value_name = "IFACE")]
    interface: Option<String>,
    /// Multicast to this group (IPv4 or IPv6) instead of broadcasting.
    #[arg(long, value_name = "GROUP", conflicts_with = "ipv6")]
    multicast: Option<IpAddr>,
    /// IPv6: multicast to the link-local all-nodes group ff02::1, as czmq does with IPv6 on.
    #[arg(long)]
    ipv6: bool,
}

impl Where {
    fn config(&self) -> BeaconConfig {
        let config = match (self.multicast, self.ipv6) {
            (Some(IpAddr::V4(g)), _) => BeaconConfig::multicast(g),
            (Some(IpAddr::V6(g)), _) => BeaconConfig::ipv6(g),
            (None, true) => BeaconConfig::ipv6(IPV6_ALL_NODES),
            (None, false) => BeaconConfig::broadcast(),
        };
        match &self.interface {
            Some(i) => config.interface(i.clone()),
            None => config,
        }
    }

    fn open(&self, port: u16) -> Result<Beacon, Failure> {
        Beacon::with_config(port, &self.config()).map_err(|e| {
            let code = match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidInput => exit::USAGE,
                _ => exit::FAILURE,
            };
            (code, format!("beacon on udp port {port}: {e}"))
        })
    }
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Broadcasts PAYLOAD (at most 255 octets, `cat` escapes) every interval until stopped.
    Publish {
        /// What to broadcast.
        payload: String,
        /// UDP port.
        #[arg(long, default_value_t = ZRE_PORT)]
        port: u16,
        /// Milliseconds between beacons.
        #[arg(long, default_value_t = DEFAULT_INTERVAL.as_millis() as u64)]
        interval: u64,
        /// Stop after this many milliseconds (default: run until killed).
        #[arg(long, value_name = "MS")]
        duration: Option<u64>,
        #[command(flatten)]
        place: Where,
    },
    /// Prints each beacon heard: the sender's address, TAB, the payload in `cat` escapes.
    Listen {
        /// UDP port.
        #[arg(long, default_value_t = ZRE_PORT)]
        port: u16,
        /// Only beacons starting with these octets (`cat` escapes).
        #[arg(long, default_value = "")]
        prefix: String,
        /// Exit after COUNT beacons.
        #[arg(short = 'n', value_name = "COUNT")]
        count: Option<u64>,
        /// Exit 3 if no beacon comes within MS.
        #[arg(long, value_name = "MS")]
        timeout: Option<u64>,
        #[command(flatten)]
        place: Where,
    },
}

type Failure = (u8, String);

/// Runs `zvtran beacon`.
pub fn run(args: Args) -> Result<(), Failure> {
    let usage = |e: String| (exit::USAGE, e);
    match args.action {
        Action::Publish {
            payload,
            port,
            interval,
            duration,
            place,
        } => {
            let payload = text::unescape(payload.as_bytes()).map_err(|e| usage(e.to_string()))?;
            let beacon = place.open(port)?;
            beacon
                .publish(payload, Duration::from_millis(interval))
                .map_err(|e| usage(e.to_string()))?;
            match duration {
                Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
                None => loop {
                    std::thread::park();
                },
            }
            Ok(())
        }
        Action::Listen {
            port,
            prefix,
            count,
            timeout,
            place,
        } => {
            let prefix = text::unescape(prefix.as_bytes()).map_err(|e| usage(e.to_string()))?;
            let beacon = place.open(port)?;
            beacon.subscribe(prefix);
            let mut out = std::io::stdout().lock();
            let mut seen = 0u64;
            while count.is_none_or(|n| seen < n) {
                let wait = timeout.map_or(Duration::from_secs(3600), Duration::from_millis);
                let deadline = Instant::now() + wait;
                let Some(heard) = beacon.recv_timeout(wait) else {
                    if timeout.is_some() && Instant::now() >= deadline {
                        return Err((
                            exit::TIMEOUT,
                            format!("no beacon within {} ms", wait.as_millis()),
                        ));
                    }
                    continue;
                };
                let line = text::encode(&Message::from(heard.payload));
                if writeln!(out, "{}\t{line}", heard.from)
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return Ok(());
                }
                seen += 1;
            }
            Ok(())
        }
    }
}
