//! Checks a driver's capabilities against what a socket's pattern needs, before bind and connect.

use zvtran_drivers::driver::Capabilities;
use zvtran_patterns::Needs;

/// Why a socket whose pattern `needs` this cannot bind (`bind`) or connect over a transport
/// with `caps`; `None` if it can. `secured` says a PLAIN or CURVE mechanism is set; `kind`
/// names the socket in the message (e.g. "a PUSH socket").
pub(crate) fn refusal(
    caps: &Capabilities,
    needs: &Needs,
    bind: bool,
    secured: bool,
    kind: &str,
) -> Option<String> {
    if needs.delivery && !(caps.reliable && caps.ordered) {
        let how = match (caps.reliable, caps.ordered) {
            (false, false) => "may lose and reorder messages",
            (false, true) => "may lose messages",
            _ => "may reorder messages",
        };
        return Some(format!(
            "this transport {how}, and {kind} promises delivery in order; only \
             publish-subscribe patterns (PUB/SUB, RADIO/DISH) may use it"
        ));
    }
    if !caps.bidirectional {
        if bind && needs.sends {
            return Some(format!(
                "this transport carries messages from the connecting side to the binding side \
                 only, and {kind} sends: connect it instead"
            ));
        }
        if !bind && needs.receives {
            return Some(format!(
                "this transport carries messages from the connecting side to the binding side \
                 only, and {kind} receives: bind it instead"
            ));
        }
    }
    if caps.multicast && needs.per_peer {
        return Some(format!(
            "a multicast group is many receivers behind one address, and {kind} sends each \
             message to one chosen peer"
        ));
    }
    if secured && !caps.zmtp && !caps.own_security {
        return Some(
            "this transport carries no ZMTP handshake, so PLAIN or CURVE cannot secure it; \
             unset the security options for this socket"
                .to_string(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Needs = Needs {
        sends: true,
        receives: true,
        delivery: true,
        per_peer: true,
    };

    fn caps(f: impl FnOnce(&mut Capabilities)) -> Capabilities {
        let mut c = Capabilities::STREAM;
        f(&mut c);
        c
    }

    #[test]
    fn a_stream_carries_everything() {
        assert_eq!(refusal(&Capabilities::STREAM, &ALL, true, true, "x"), None);
        assert_eq!(
            refusal(&Capabilities::STREAM, &ALL, false, false, "x"),
            None
        );
    }

    #[test]
    fn each_missing_capability_refuses_what_needs_it() {
        let lossy = caps(|c| c.reliable = false);
        assert!(
            refusal(&lossy, &ALL, false, false, "a PUSH socket").is_some_and(|m| {
                m.contains("may lose messages") && m.contains("a PUSH socket")
            })
        );
        let pubsub = Needs {
            delivery: false,
            per_peer: false,
            ..ALL
        };
        assert_eq!(refusal(&lossy, &pubsub, false, false, "x"), None);

        let one_way = caps(|c| c.bidirectional = false);
        let sender = Needs {
            receives: false,
            ..pubsub
        };
        let receiver = Needs {
            sends: false,
            ..pubsub
        };
        assert_eq!(refusal(&one_way, &sender, false, false, "x"), None);
        assert_eq!(refusal(&one_way, &receiver, true, false, "x"), None);
        assert!(
            refusal(&one_way, &sender, true, false, "x").is_some_and(|m| m.contains("connect it"))
        );
        assert!(
            refusal(&one_way, &receiver, false, false, "x").is_some_and(|m| m.contains("bind it"))
        );

        let group = caps(|c| c.multicast = true);
        assert!(refusal(&group, &ALL, false, false, "x").is_some_and(|m| m.contains("multicast")));
        assert_eq!(refusal(&group, &pubsub, false, false, "x"), None);

        let message = Capabilities::MESSAGE;
        assert_eq!(refusal(&message, &ALL, false, false, "x"), None);
        assert!(refusal(&message, &ALL, false, true, "x").is_some_and(|m| m.contains("CURVE")));
        let tls_like = caps(|c| {
            c.zmtp = false;
            c.own_security = true;
        });
        assert_eq!(refusal(&tls_like, &ALL, false, true, "x"), None);
    }
}
