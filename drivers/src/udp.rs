//! The udp:// transport's foundations: libzmq's RADIO/DISH datagram format and udp addresses.
//!
//! libzmq's (draft) UDP transport carries one RADIO/DISH message per datagram:
//! `[group length: 1 octet][group][body]`, at most [`MAX_DATAGRAM`] octets in all. The driver
//! that sends and receives them (issue 6) builds on this module; decoding is total (every input
//! gives a message or an error, never a panic) and copies nothing.

use std::net::IpAddr;

use bytes::Bytes;

use crate::endpoint::EndpointError;

/// The largest datagram libzmq's UDP transport sends or accepts.
pub const MAX_DATAGRAM: usize = 8192;

/// The longest group name (RFC 48, and the one-octet length on the wire).
pub const MAX_GROUP: usize = 255;

/// Why a received datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatagramError {
    /// A datagram with no octet at all.
    #[error("empty datagram")]
    Empty,
    /// The group length points past the end of the datagram.
    #[error("group of {declared} octets declared in a datagram of {len}")]
    GroupPastEnd {
        /// The declared group length.
        declared: usize,
        /// The datagram's length.
        len: usize,
    },
    /// Larger than [`MAX_DATAGRAM`].
    #[error("datagram of {len} octets (at most {MAX_DATAGRAM})")]
    TooLarge {
        /// The datagram's length.
        len: usize,
    },
}

/// Why a message cannot be sent as a datagram: an error for the caller, never a silent drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The group is longer than [`MAX_GROUP`].
    #[error("group of {len} octets (at most {MAX_GROUP})")]
    GroupTooLong {
        /// The group's length.
        len: usize,
    },
    /// Group and body do not fit in one datagram.
    #[error(
        "message of {len} octets does not fit a udp datagram (at most {MAX_DATAGRAM} with its group)"
    )]
    TooLarge {
        /// The datagram it would need.
        len: usize,
    },
}

/// The datagram length a message needs.
pub fn encoded_len(group: &[u8], body: &[u8]) -> usize {
    1 + group.len() + body.len()
}

/// Appends one message's datagram to `out`.
pub fn encode(group: &[u8], body: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let Ok(group_len) = u8::try_from(group.len()) else {
        return Err(EncodeError::GroupTooLong { len: group.len() });
    };
    let len = encoded_len(group, body);
    if len > MAX_DATAGRAM {
        return Err(EncodeError::TooLarge { len });
    }
    out.reserve(len);
    out.push(group_len);
    out.extend_from_slice(group);
    out.extend_from_slice(body);
    Ok(())
}

/// Splits a datagram into its group and body, both slices of it.
pub fn decode(datagram: &Bytes) -> Result<(Bytes, Bytes), DatagramError> {
    let len = datagram.len();
    if len > MAX_DATAGRAM {
        return Err(DatagramError::TooLarge { len });
    }
    let Some(&declared) = datagram.first() else {
        return Err(DatagramError::Empty);
    };
    let declared = usize::from(declared);
    if 1 + declared > len {
        return Err(DatagramError::GroupPastEnd { declared, len });
    }
    Ok((
        datagram.slice(1..1 + declared),
        datagram.slice(1 + declared..),
    ))
}

/// A udp endpoint's address, in the forms libzmq accepts: `host:port`, `*:port` (bind),
/// `[ipv6]:port`, and `interface;multicast-group:port` (the interface by name or address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpAddress {
    /// The interface before `;`, if given (a name such as `eth0`, or an address).
    pub interface: Option<String>,
    /// The host, without IPv6 brackets; `*` for any.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl UdpAddress {
    /// Parses the part after `udp://`.
    pub fn parse(address: &str) -> Result<UdpAddress, EndpointError> {
        let endpoint = || format!("udp://{address}");
        let (interface, rest) = match address.split_once(';') {
            Some((i, r)) if i.is_empty() => {
                return Err(EndpointError::EmptyAddress(format!("udp://{i};{r}")));
            }
            Some((i, r)) => (Some(i.to_string()), r),
            None => (None, address),
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| EndpointError::NoPort(endpoint()))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(EndpointError::EmptyAddress(endpoint()));
        }
        let port = port.parse::<u16>().map_err(|_| EndpointError::BadPort {
            endpoint: endpoint(),
            port: port.to_string(),
        })?;
        Ok(UdpAddress {
            interface,
            host: host.to_string(),
            port,
        })
    }

    /// The host as an IP address, if it is one (not `*` or a name).
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Whether the host is a multicast group.
    pub fn is_multicast(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_multicast())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_libzmq_datagrams() {
        let mut out = Vec::new();
        encode(b"weather", b"sunny", &mut out).unwrap();
        assert_eq!(out, b"\x07weathersunny");
        out.clear();
        encode(b"", b"", &mut out).unwrap();
        assert_eq!(out, b"\x00");
        assert_eq!(
            encode(&[b'g'; 256], b"", &mut out),
            Err(EncodeError::GroupTooLong { len: 256 })
        );
        assert_eq!(
            encode(b"g", &[0; MAX_DATAGRAM - 1], &mut out),
            Err(EncodeError::TooLarge {
                len: MAX_DATAGRAM + 1
            })
        );
        out.clear();
        encode(b"g", &[0; MAX_DATAGRAM - 2], &mut out).unwrap();
        assert_eq!(out.len(), MAX_DATAGRAM);
    }

    #[test]
    fn refuses_malformed_datagrams() {
        assert_eq!(decode(&Bytes::new()), Err(DatagramError::Empty));
        assert_eq!(
            decode(&Bytes::from_static(b"\x05abc")),
            Err(DatagramError::GroupPastEnd {
                declared: 5,
                len: 4
            })
        );
        assert_eq!(
            decode(&Bytes::from(vec![0; MAX_DATAGRAM + 1])),
            Err(DatagramError::TooLarge {
                len: MAX_DATAGRAM + 1
            })
        );
        let (g, b) = decode(&Bytes::from_static(b"\x03abc")).unwrap();
        assert_eq!((&g[..], &b[..]), (&b"abc"[..], &b""[..]));
    }

    #[test]
    fn parses_the_address_forms_libzmq_takes() {
        let a = UdpAddress::parse("127.0.0.1:5555").unwrap();
        assert_eq!(
            (a.interface, a.host.as_str(), a.port),
            (None, "127.0.0.1", 5555)
        );
        let a = UdpAddress::parse("*:5556").unwrap();
        assert_eq!((a.host.as_str(), a.ip()), ("*", None));
        let a = UdpAddress::parse("eth0;239.0.0.1:5555").unwrap();
        assert_eq!(a.interface.as_deref(), Some("eth0"));
        assert!(a.is_multicast());
        let a = UdpAddress::parse("192.168.1.2;239.0.0.1:5555").unwrap();
        assert_eq!(a.interface.as_deref(), Some("192.168.1.2"));
        let a = UdpAddress::parse("[ff02::1]:5555").unwrap();
        assert_eq!(a.host, "ff02::1");
        assert!(a.is_multicast());
        assert!(!UdpAddress::parse("[::1]:1").unwrap().is_multicast());
        for bad in ["127.0.0.1", "127.0.0.1:x", ":5", ";239.0.0.1:5", "h:70000"] {
            assert!(UdpAddress::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(group in proptest::collection::vec(any::<u8>(), 0..=255),
                                 body in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut out = Vec::new();
            encode(&group, &body, &mut out).unwrap();
            let (g, b) = decode(&Bytes::from(out)).unwrap();
            prop_assert_eq!(&g[..], &group[..]);
            prop_assert_eq!(&b[..], &body[..]);
        }

        #[test]
        fn any_datagram_decodes_or_is_refused(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let datagram = Bytes::from(data.clone());
            if let Ok((g, b)) = decode(&datagram) {
                let mut again = Vec::new();
                encode(&g, &b, &mut again).unwrap();
                prop_assert_eq!(again, data);
            }
        }
    }
}
