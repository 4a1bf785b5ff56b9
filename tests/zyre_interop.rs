//! ZRE beacons against a real zyre node (pyre, zeromq's Python implementation of ZRE, from
//! PyPI, started by `tests/zyre_peer.py`): zvtran hears the node's beacon, and the node hears
//! zvtran's, connects to the mailbox it names and greets it; when zvtran greets back with a ZRE
//! HELLO, the node reports that zvtran entered.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use zvtran::beacon::{Beacon, ZreBeacon};
use zvtran::{Context, Message, SocketOption, SocketType};

const WAIT: Duration = Duration::from_secs(10);

/// A running zyre node and the uuid it reports.
struct Node {
    lines: support::Lines,
    uuid: String,
}

impl Node {
    fn spawn(port: u16, name: &str) -> Node {
        let lines = support::Lines::spawn(
            Command::new(support::python())
                .arg(support::root().join("tests/zyre_peer.py"))
                .args([&port.to_string(), name, "30"]),
            "the zyre node (pyre in the test venv: scripts/python-env installs it)",
        );
        let first = lines.line();
        let uuid = first
            .strip_prefix("uuid ")
            .unwrap_or_else(|| panic!("zyre node said {first:?}"))
            .to_string();
        Node { lines, uuid }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A ZRE HELLO (RFC 36): signature, id 1, version 2, sequence 1, our endpoint, no groups,
/// status 0, our name, no headers.
fn hello(endpoint: &str, name: &str) -> Bytes {
    let mut b = BytesMut::new();
    b.put_u16(0xAAA1);
    b.put_u8(1);
    b.put_u8(2);
    b.put_u16(1);
    b.put_u8(endpoint.len() as u8);
    b.put_slice(endpoint.as_bytes());
    b.put_u32(0);
    b.put_u8(0);
    b.put_u8(name.len() as u8);
    b.put_slice(name.as_bytes());
    b.put_u32(0);
    b.freeze()
}

/// The name in a ZRE HELLO, if `m` is one.
fn hello_name(m: &[u8]) -> Option<String> {
    if m.get(..3)? != [0xAA, 0xA1, 1] {
        return None;
    }
    let mut at = 6;
    let ep_len = *m.get(at)? as usize;
    at += 1 + ep_len;
    let groups = u32::from_be_bytes(m.get(at..at + 4)?.try_into().ok()?);
    at += 4;
    for _ in 0..groups {
        let len = u32::from_be_bytes(m.get(at..at + 4)?.try_into().ok()?) as usize;
        at += 4 + len;
    }
    at += 1; // status
    let name_len = *m.get(at)? as usize;
    String::from_utf8(m.get(at + 1..at + 1 + name_len)?.to_vec()).ok()
}

#[test]
fn zvtran_and_a_zyre_node_see_each_other() {
    let port = support::free_udp_port();
    let listener = Beacon::new(port).unwrap();
    listener.subscribe("ZRE");
    let node = Node::spawn(port, "pyre-node");

    // zvtran sees the node: its beacon carries the uuid it reports.
    let (node_ip, node_beacon) = loop {
        let heard = listener
            .recv_timeout(WAIT)
            .expect("a ZRE beacon from the node");
        if let Some(b) = ZreBeacon::decode(&heard.payload) {
            if hex(&b.uuid) == node.uuid {
                break (heard.from, b);
            }
        }
    };
    assert!(!node_beacon.is_leaving());

    // The node sees zvtran: a ZRE beacon naming a zvtran ROUTER as our mailbox brings the
    // node's HELLO to it.
    let ctx = Context::new().unwrap();
    let mut mailbox = ctx.socket(SocketType::Router).unwrap();
    let endpoint = mailbox.bind("tcp://*:*").unwrap();
    let mailbox_port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let ours = ZreBeacon {
        uuid: *b"zvtran-node-0001",
        port: mailbox_port,
    };
    let announcer = Beacon::new(port).unwrap();
    announcer
        .publish(ours.encode().to_vec(), Duration::from_millis(200))
        .unwrap();
    let greeting = mailbox.recv_timeout(WAIT).expect("the node's HELLO");
    let frames = greeting.frames();
    assert_eq!(
        hex(&frames[0][1..]),
        node.uuid,
        "routing id is 1 + the node's uuid"
    );
    assert_eq!(hello_name(&frames[1]).as_deref(), Some("pyre-node"));

    // Greeting back from our own mailbox address makes us a peer the node reports.
    let mut to_node = ctx.socket(SocketType::Dealer).unwrap();
    let mut id = vec![1u8];
    id.extend_from_slice(&ours.uuid);
    to_node
        .set_option(SocketOption::RoutingId(Bytes::from(id)))
        .unwrap();
    to_node
        .connect(&format!("tcp://{node_ip}:{}", node_beacon.port))
        .unwrap();
    let my_endpoint = format!("tcp://{node_ip}:{mailbox_port}");
    to_node
        .send(Message::from(hello(&my_endpoint, "zvtran-node")))
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let want = format!("ENTER zvtran-node {}", hex(&ours.uuid));
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match node.lines.line_within(Duration::from_millis(200)) {
            Some(line) if line == want => return,
            Some(line) => seen.push(line),
            None => {}
        }
    }
    panic!("the zyre node never reported {want:?}; it said {seen:?}");
}
