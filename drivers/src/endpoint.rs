//! Endpoint strings (`tcp://host:port`, `ipc://path`) parsed into checked parts.

use std::fmt;
use std::path::PathBuf;

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `tcp://host:port`. For binding, host `*` means every interface and port `*` (or 0) an
    /// ephemeral port.
    Tcp {
        /// Host name or address, without IPv6 brackets; `*` for any.
        host: String,
        /// The port; 0 when `*` was given.
        port: u16,
    },
    /// `ipc://path`: a Unix domain socket.
    Ipc(PathBuf),
}

/// Why an endpoint string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// No `scheme://` prefix.
    #[error("endpoint {0:?} has no scheme (expected tcp://host:port or ipc://path)")]
    NoScheme(String),
    /// A scheme no driver handles.
    #[error("endpoint {endpoint:?}: unknown transport {scheme:?}")]
    UnknownScheme {
        /// The endpoint as given.
        endpoint: String,
        /// Its scheme.
        scheme: String,
    },
    /// A tcp endpoint without `:port`.
    #[error("endpoint {0:?} has no port (expected tcp://host:port)")]
    NoPort(String),
    /// The port is not a number from 0 to 65535 or `*`.
    #[error("endpoint {endpoint:?}: invalid port {port:?}")]
    BadPort {
        /// The endpoint as given.
        endpoint: String,
        /// The port text.
        port: String,
    },
    /// An empty host or ipc path.
    #[error("endpoint {0:?} has an empty address")]
    EmptyAddress(String),
}

impl Endpoint {
    /// Parses `tcp://host:port` or `ipc://path`.
    pub fn parse(s: &str) -> Result<Endpoint, EndpointError> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| EndpointError::NoScheme(s.into()))?;
        match scheme {
            "tcp" => {
                let (host, port) = rest
                    .rsplit_once(':')
                    .ok_or_else(|| EndpointError::NoPort(s.into()))?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                if host.is_empty() {
                    return Err(EndpointError::EmptyAddress(s.into()));
                }
                let port = match port {
                    "*" => 0,
                    p => p.parse().map_err(|_| EndpointError::BadPort {
                        endpoint: s.into(),
                        port: p.into(),
                    })?,
                };
                Ok(Endpoint::Tcp {
                    host: host.into(),
                    port,
                })
            }
            "ipc" if rest.is_empty() => Err(EndpointError::EmptyAddress(s.into())),
            "ipc" => Ok(Endpoint::Ipc(PathBuf::from(rest))),
            other => Err(EndpointError::UnknownScheme {
                endpoint: s.into(),
                scheme: other.into(),
            }),
        }
    }

    /// The `host:port` to hand to the socket API, with `*` as every interface.
    pub fn socket_addr_string(&self) -> Option<String> {
        match self {
            Endpoint::Tcp { host, port } if host == "*" => Some(format!("0.0.0.0:{port}")),
            Endpoint::Tcp { host, port } if host.contains(':') => Some(format!("[{host}]:{port}")),
            Endpoint::Tcp { host, port } => Some(format!("{host}:{port}")),
            Endpoint::Ipc(_) => None,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Ipc(path) => write!(f, "ipc://{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_and_ipc() {
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:5555"),
            Ok(Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 5555
            })
        );
        assert_eq!(
            Endpoint::parse("tcp://*:*")
                .unwrap()
                .socket_addr_string()
                .unwrap(),
            "0.0.0.0:0"
        );
        let v6 = Endpoint::parse("tcp://[::1]:80").unwrap();
        assert_eq!(v6.socket_addr_string().unwrap(), "[::1]:80");
        assert_eq!(v6.to_string(), "tcp://[::1]:80");
        assert_eq!(
            Endpoint::parse("ipc:///tmp/x.sock"),
            Ok(Endpoint::Ipc("/tmp/x.sock".into()))
        );
    }

    #[test]
    fn refuses_bad_endpoints_with_a_reason() {
        assert!(matches!(
            Endpoint::parse("127.0.0.1:5"),
            Err(EndpointError::NoScheme(_))
        ));
        assert!(matches!(
            Endpoint::parse("tcp://host"),
            Err(EndpointError::NoPort(_))
        ));
        assert!(matches!(
            Endpoint::parse("tcp://:5"),
            Err(EndpointError::EmptyAddress(_))
        ));
        assert!(matches!(
            Endpoint::parse("tcp://h:70000"),
            Err(EndpointError::BadPort { .. })
        ));
        assert!(matches!(
            Endpoint::parse("ipc://"),
            Err(EndpointError::EmptyAddress(_))
        ));
        assert!(matches!(
            Endpoint::parse("pgm://x"),
            Err(EndpointError::UnknownScheme { .. })
        ));
    }
}
