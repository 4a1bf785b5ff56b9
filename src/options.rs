//! Socket options with libzmq's names, units and ranges, typed or parsed from `NAME=VALUE`.

use std::time::Duration;

use bytes::Bytes;
use zmtp::{PublicKey, SecretKey};

use crate::error::Error;

/// A socket option and its value. Times are milliseconds on the command line; `None` stands for
/// libzmq's -1 (forever, or off for RECONNECT_IVL and MAXMSGSIZE).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketOption {
    /// ZMQ_SNDHWM: messages queued per peer before sending blocks or drops (0 = no limit).
    SndHwm(usize),
    /// ZMQ_RCVHWM: messages queued per peer before reading from it pauses (0 = no limit).
    RcvHwm(usize),
    /// ZMQ_LINGER: how long a closed socket keeps sending what it queued.
    Linger(Option<Duration>),
    /// ZMQ_ROUTING_ID: 1 to 255 octets, not starting with a zero octet.
    RoutingId(Bytes),
    /// ZMQ_CONNECT_ROUTING_ID: the id a ROUTER gives the peer of its next connect.
    ConnectRoutingId(Bytes),
    /// ZMQ_RECONNECT_IVL: first reconnection delay; `None` disables reconnection.
    ReconnectIvl(Option<Duration>),
    /// ZMQ_RECONNECT_IVL_MAX: the delay doubles up to this (0 keeps it constant).
    ReconnectIvlMax(Duration),
    /// ZMQ_HANDSHAKE_IVL: the handshake must finish within this (0 = no limit).
    HandshakeIvl(Duration),
    /// ZMQ_HEARTBEAT_IVL: send PING this often (0 = off).
    HeartbeatIvl(Duration),
    /// ZMQ_HEARTBEAT_TIMEOUT: close if nothing arrives this long after a PING.
    HeartbeatTimeout(Duration),
    /// ZMQ_HEARTBEAT_TTL: ask peers to close if they hear nothing from us this long.
    HeartbeatTtl(Duration),
    /// ZMQ_MAXMSGSIZE: the largest inbound message; `None` for no limit.
    MaxMsgSize(Option<u64>),
    /// ZMQ_ROUTER_MANDATORY: unroutable messages fail with EHOSTUNREACH or EAGAIN.
    RouterMandatory(bool),
    /// ZMQ_ROUTER_HANDOVER: a new peer with a taken routing id takes it over.
    RouterHandover(bool),
    /// ZMQ_XPUB_VERBOSE: pass every subscribe to the application.
    XpubVerbose(bool),
    /// ZMQ_CONFLATE: keep only the newest message.
    Conflate(bool),
    /// ZMQ_IMMEDIATE: queue only to peers whose connection is complete.
    Immediate(bool),
    /// ZMQ_SNDTIMEO: how long a blocking send waits; `None` forever.
    SndTimeo(Option<Duration>),
    /// ZMQ_RCVTIMEO: how long a blocking receive waits; `None` forever.
    RcvTimeo(Option<Duration>),
    /// ZMQ_SUBSCRIBE (SUB): add a prefix subscription.
    Subscribe(Bytes),
    /// ZMQ_UNSUBSCRIBE (SUB): remove one count of a prefix subscription.
    Unsubscribe(Bytes),
    /// zmq_join (DISH): join a group (at most 255 octets).
    Join(Bytes),
    /// zmq_leave (DISH): leave a group.
    Leave(Bytes),
    /// NNG_OPT_SURVEYOR_SURVEYTIME (SURVEYOR): how long replies to a survey are received;
    /// default 1 s.
    SurveyTime(Duration),
    /// ZMQ_PLAIN_SERVER: 1 makes this side a PLAIN server (whether it binds or connects);
    /// 0 goes back to NULL.
    PlainServer(bool),
    /// ZMQ_PLAIN_USERNAME (at most 255 octets): makes this side a PLAIN client; empty goes back
    /// to NULL.
    PlainUsername(Bytes),
    /// ZMQ_PLAIN_PASSWORD (at most 255 octets): makes this side a PLAIN client.
    PlainPassword(Password),
    /// ZMQ_CURVE_SERVER: 1 makes this side a CURVE server (it needs CURVE_SECRETKEY); 0 goes
    /// back to NULL.
    CurveServer(bool),
    /// ZMQ_CURVE_PUBLICKEY: this side's long-term public key (32 octets or 40 Z85 characters).
    CurvePublicKey(PublicKey),
    /// ZMQ_CURVE_SECRETKEY: this side's long-term secret key (32 octets or 40 Z85 characters).
    CurveSecretKey(SecretKey),
    /// ZMQ_CURVE_SERVERKEY: the server's public key; makes this side a CURVE client.
    CurveServerKey(PublicKey),
    /// ZMQ_ZAP_DOMAIN (at most 255 octets): the domain in ZAP requests; with NULL security a
    /// non-empty domain makes the server ask the ZAP handler about each client.
    ZapDomain(String),
    /// ZMQ_ZAP_ENFORCE_DOMAIN: refuse clients when no ZAP handler is there to ask.
    ZapEnforceDomain(bool),
    /// ZMQ_MULTICAST_HOPS: time-to-live of multicast datagrams sent over udp (default 1).
    MulticastHops(u32),
    /// ZMQ_MULTICAST_LOOP: multicast datagrams sent over udp reach this host too (default 1).
    MulticastLoop(bool),
    /// An option a registered driver declares (`Driver::option_names`), such as
    /// `TLS_CERT_CHAIN` for `tls+tcp://`; the value is the driver's to read. It never shows in
    /// `Debug` output (it may be a private key).
    Transport {
        /// The option's name, as the driver declares it.
        name: String,
        /// Its value.
        value: Secret,
    },
}

/// A transport option's value; it never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Bytes);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({} octets)", self.0.len())
    }
}

/// A PLAIN password; it never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub Bytes);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl SocketOption {
    /// Parses `NAME` (libzmq's name without `ZMQ_`, any case) and its value. Numbers are
    /// decimal; times are milliseconds, -1 meaning forever (or off); flags are 0 or 1; ids and
    /// topics are raw octets.
    pub fn parse(name: &str, value: &[u8]) -> Result<SocketOption, Error> {
        let upper = name.trim_start_matches("ZMQ_").to_ascii_uppercase();
        let bad = |reason: &str| Error::InvalidOptionValue {
            option: upper.clone(),
            value: String::from_utf8_lossy(value).into_owned(),
            reason: reason.to_string(),
        };
        let int = || -> Result<i64, Error> {
            std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| bad("not an integer"))
        };
        let count = || -> Result<usize, Error> {
            usize::try_from(int()?).map_err(|_| bad("must be 0 or more"))
        };
        let millis = || -> Result<Duration, Error> {
            u64::try_from(int()?)
                .map(Duration::from_millis)
                .map_err(|_| bad("must be 0 or more milliseconds"))
        };
        let forever_or_millis = || -> Result<Option<Duration>, Error> {
            match int()? {
                -1 => Ok(None),
                n => u64::try_from(n)
                    .map(|n| Some(Duration::from_millis(n)))
                    .map_err(|_| bad("must be -1 or 0 or more milliseconds")),
            }
        };
        let flag = || -> Result<bool, Error> {
            match int()? {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(bad("must be 0 or 1")),
            }
        };
        let bytes = || Bytes::copy_from_slice(value);
        // libzmq's string options may carry their C terminator.
        let key_text = || value.strip_suffix(b"\0").unwrap_or(value);
        let opt = match upper.as_str() {
            "SNDHWM" => SocketOption::SndHwm(count()?),
            "RCVHWM" => SocketOption::RcvHwm(count()?),
            "LINGER" => SocketOption::Linger(forever_or_millis()?),
            "ROUTING_ID" | "IDENTITY" => SocketOption::RoutingId(bytes()),
            "CONNECT_ROUTING_ID" => SocketOption::ConnectRoutingId(bytes()),
            "RECONNECT_IVL" => SocketOption::ReconnectIvl(forever_or_millis()?),
            "RECONNECT_IVL_MAX" => SocketOption::ReconnectIvlMax(millis()?),
            "HANDSHAKE_IVL" => SocketOption::HandshakeIvl(millis()?),
            "HEARTBEAT_IVL" => SocketOption::HeartbeatIvl(millis()?),
            "HEARTBEAT_TIMEOUT" => SocketOption::HeartbeatTimeout(millis()?),
            "HEARTBEAT_TTL" => SocketOption::HeartbeatTtl(millis()?),
            "MAXMSGSIZE" => SocketOption::MaxMsgSize(match int()? {
                -1 => None,
                n => Some(u64::try_from(n).map_err(|_| bad("must be -1 or 0 or more bytes"))?),
            }),
            "ROUTER_MANDATORY" => SocketOption::RouterMandatory(flag()?),
            "ROUTER_HANDOVER" => SocketOption::RouterHandover(flag()?),
            "XPUB_VERBOSE" => SocketOption::XpubVerbose(flag()?),
            "CONFLATE" => SocketOption::Conflate(flag()?),
            "IMMEDIATE" => SocketOption::Immediate(flag()?),
            "SNDTIMEO" => SocketOption::SndTimeo(forever_or_millis()?),
            "RCVTIMEO" => SocketOption::RcvTimeo(forever_or_millis()?),
            "SUBSCRIBE" => SocketOption::Subscribe(bytes()),
            "UNSUBSCRIBE" => SocketOption::Unsubscribe(bytes()),
            "JOIN" => SocketOption::Join(bytes()),
            "LEAVE" => SocketOption::Leave(bytes()),
            "SURVEY_TIME" => SocketOption::SurveyTime(millis()?),
            "PLAIN_SERVER" => SocketOption::PlainServer(flag()?),
            "PLAIN_USERNAME" => SocketOption::PlainUsername(bytes()),
            "PLAIN_PASSWORD" => SocketOption::PlainPassword(Password(bytes())),
            "CURVE_SERVER" => SocketOption::CurveServer(flag()?),
            "CURVE_PUBLICKEY" => SocketOption::CurvePublicKey(
                PublicKey::parse(key_text()).map_err(|e| bad(&e.to_string()))?,
            ),
            "CURVE_SECRETKEY" => SocketOption::CurveSecretKey(
                // The value is not echoed: it is a secret.
                SecretKey::parse(key_text()).map_err(|e| Error::InvalidOptionValue {
                    option: upper.clone(),
                    value: "(hidden)".into(),
                    reason: e.to_string(),
                })?,
            ),
            "CURVE_SERVERKEY" => SocketOption::CurveServerKey(
                PublicKey::parse(key_text()).map_err(|e| bad(&e.to_string()))?,
            ),
            "ZAP_DOMAIN" => SocketOption::ZapDomain(
                std::str::from_utf8(value)
                    .map_err(|_| bad("must be UTF-8 text"))?
                    .to_string(),
            ),
            "ZAP_ENFORCE_DOMAIN" => SocketOption::ZapEnforceDomain(flag()?),
            "MULTICAST_HOPS" => SocketOption::MulticastHops(
                u32::try_from(int()?)
                    .ok()
                    .filter(|h| (1..=255).contains(h))
                    .ok_or_else(|| bad("must be 1 to 255"))?,
            ),
            "MULTICAST_LOOP" => SocketOption::MulticastLoop(flag()?),
            "LAST_ENDPOINT" => return Err(bad("LAST_ENDPOINT can only be read")),
            _ => return Err(Error::UnknownOption(name.to_string())),
        };
        opt.validate()?;
        Ok(opt)
    }

    /// libzmq's name, without `ZMQ_`.
    pub fn name(&self) -> &str {
        match self {
            SocketOption::SndHwm(_) => "SNDHWM",
            SocketOption::RcvHwm(_) => "RCVHWM",
            SocketOption::Linger(_) => "LINGER",
            SocketOption::RoutingId(_) => "ROUTING_ID",
            SocketOption::ConnectRoutingId(_) => "CONNECT_ROUTING_ID",
            SocketOption::ReconnectIvl(_) => "RECONNECT_IVL",
            SocketOption::ReconnectIvlMax(_) => "RECONNECT_IVL_MAX",
            SocketOption::HandshakeIvl(_) => "HANDSHAKE_IVL",
            SocketOption::HeartbeatIvl(_) => "HEARTBEAT_IVL",
            SocketOption::HeartbeatTimeout(_) => "HEARTBEAT_TIMEOUT",
            SocketOption::HeartbeatTtl(_) => "HEARTBEAT_TTL",
            SocketOption::MaxMsgSize(_) => "MAXMSGSIZE",
            SocketOption::RouterMandatory(_) => "ROUTER_MANDATORY",
            SocketOption::RouterHandover(_) => "ROUTER_HANDOVER",
            SocketOption::XpubVerbose(_) => "XPUB_VERBOSE",
            SocketOption::Conflate(_) => "CONFLATE",
            SocketOption::Immediate(_) => "IMMEDIATE",
            SocketOption::SndTimeo(_) => "SNDTIMEO",
            SocketOption::RcvTimeo(_) => "RCVTIMEO",
            SocketOption::Subscribe(_) => "SUBSCRIBE",
            SocketOption::Unsubscribe(_) => "UNSUBSCRIBE",
            SocketOption::Join(_) => "JOIN",
            SocketOption::Leave(_) => "LEAVE",
            SocketOption::SurveyTime(_) => "SURVEY_TIME",
            SocketOption::PlainServer(_) => "PLAIN_SERVER",
            SocketOption::PlainUsername(_) => "PLAIN_USERNAME",
            SocketOption::PlainPassword(_) => "PLAIN_PASSWORD",
            SocketOption::CurveServer(_) => "CURVE_SERVER",
            SocketOption::CurvePublicKey(_) => "CURVE_PUBLICKEY",
            SocketOption::CurveSecretKey(_) => "CURVE_SECRETKEY",
            SocketOption::CurveServerKey(_) => "CURVE_SERVERKEY",
            SocketOption::ZapDomain(_) => "ZAP_DOMAIN",
            SocketOption::ZapEnforceDomain(_) => "ZAP_ENFORCE_DOMAIN",
            SocketOption::MulticastHops(_) => "MULTICAST_HOPS",
            SocketOption::MulticastLoop(_) => "MULTICAST_LOOP",
            SocketOption::Transport { name, .. } => name,
        }
    }

    /// Checks libzmq's ranges.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |value: String, reason: &str| Error::InvalidOptionValue {
            option: self.name().to_string(),
            value,
            reason: reason.to_string(),
        };
        match self {
            SocketOption::RoutingId(id) | SocketOption::ConnectRoutingId(id) => {
                let shown = String::from_utf8_lossy(id).into_owned();
                if id.is_empty() || id.len() > 255 {
                    return Err(bad(shown, "must be 1 to 255 octets"));
                }
                if id.first() == Some(&0) {
                    return Err(bad(shown, "must not start with a zero octet (reserved)"));
                }
            }
            SocketOption::Join(g) | SocketOption::Leave(g) if g.len() > 255 => {
                return Err(bad(
                    String::from_utf8_lossy(g).into_owned(),
                    "a group is at most 255 octets",
                ));
            }
            SocketOption::PlainUsername(v) if v.len() > 255 => {
                return Err(bad(format!("({} octets)", v.len()), "at most 255 octets"));
            }
            SocketOption::PlainPassword(v) if v.0.len() > 255 => {
                return Err(bad(format!("({} octets)", v.0.len()), "at most 255 octets"));
            }
            SocketOption::ZapDomain(d) if d.len() > 255 => {
                return Err(bad(d.clone(), "at most 255 octets"));
            }
            SocketOption::MulticastHops(h) if !(1..=255).contains(h) => {
                return Err(bad(h.to_string(), "must be 1 to 255"));
            }
            SocketOption::HeartbeatTtl(ttl) if ttl.as_millis() > 6_553_599 => {
                return Err(bad(
                    ttl.as_millis().to_string(),
                    "at most 6553599 ms (PING carries deciseconds in 16 bits)",
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_in_any_case() {
        assert_eq!(
            SocketOption::parse("sndhwm", b"10").unwrap(),
            SocketOption::SndHwm(10)
        );
        assert_eq!(
            SocketOption::parse("ZMQ_LINGER", b"-1").unwrap(),
            SocketOption::Linger(None)
        );
        assert_eq!(
            SocketOption::parse("Subscribe", b"").unwrap(),
            SocketOption::Subscribe(Bytes::new())
        );
        assert_eq!(
            SocketOption::parse("router_mandatory", b"1").unwrap(),
            SocketOption::RouterMandatory(true)
        );
        let z85 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
        let key: PublicKey = z85.parse().unwrap();
        assert_eq!(
            SocketOption::parse("CURVE_SERVERKEY", z85.as_bytes()).unwrap(),
            SocketOption::CurveServerKey(key)
        );
        assert_eq!(
            SocketOption::parse("curve_serverkey", key.as_bytes()).unwrap(),
            SocketOption::CurveServerKey(key)
        );
        assert_eq!(
            SocketOption::parse("CURVE_SERVERKEY", format!("{z85}\0").as_bytes()).unwrap(),
            SocketOption::CurveServerKey(key)
        );
    }

    #[test]
    fn secrets_stay_out_of_errors_and_debug() {
        let err = SocketOption::parse("CURVE_SECRETKEY", b"not a key at all").unwrap_err();
        assert!(!err.to_string().contains("not a key"), "{err}");
        let opt = SocketOption::parse("PLAIN_PASSWORD", b"hunter2").unwrap();
        assert!(!format!("{opt:?}").contains("hunter2"));
    }

    #[test]
    fn refuses_bad_names_and_values_with_a_reason() {
        assert!(matches!(
            SocketOption::parse("NOPE", b"1"),
            Err(Error::UnknownOption(_))
        ));
        for (name, value) in [
            ("SNDHWM", &b"-5"[..]),
            ("SNDHWM", b"many"),
            ("CONFLATE", b"2"),
            ("ROUTING_ID", b""),
            ("ROUTING_ID", b"\0abc"),
            ("HEARTBEAT_TTL", b"7000000"),
            ("RECONNECT_IVL", b"-2"),
            ("LAST_ENDPOINT", b"x"),
            ("CURVE_SERVERKEY", b"too short"),
            (
                "CURVE_PUBLICKEY",
                b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~",
            ),
            (
                "CURVE_SECRETKEY",
                b"~123456789012345678901234567890123456789",
            ),
            ("PLAIN_SERVER", b"2"),
            ("PLAIN_USERNAME", &[b'u'; 256]),
        ] {
            let err = SocketOption::parse(name, value).unwrap_err();
            assert!(
                matches!(err, Error::InvalidOptionValue { .. }),
                "{name}={value:?}: {err}"
            );
        }
    }
}
