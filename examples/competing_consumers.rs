//! Recipe: competing consumers of a topic. A socket that presents PUB on the wire (so plain SUB
//! sockets, libzmq's too, can subscribe) but load-balances: each message goes to ONE of the
//! subscribers of its topic, not to all of them. Two workers share "job"; a logger gets "log".
//!
//! Run: cargo run --example competing_consumers

use std::time::Duration;

use zvtran::{Context, Filter, Message, Outbound, Pattern, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let work_queue = Pattern::builder()
        .wire_type(SocketType::Pub)
        .outbound(Outbound::LoadBalance)
        .filter(Filter::PeerSubscriptions)
        .build()?;
    let mut dispatcher = ctx.socket_with(work_queue);
    let endpoint = dispatcher.bind("tcp://127.0.0.1:*")?;

    let mut subscribers = Vec::new();
    for topic in ["job", "job", "log"] {
        let mut sub = ctx.socket(SocketType::Sub)?;
        sub.subscribe(topic)?;
        sub.connect(&endpoint)?;
        subscribers.push((topic, sub));
    }
    // Wait until all three subscriptions arrived.
    while dispatcher.subscribes_received() < 3 {
        std::thread::sleep(Duration::from_millis(10));
    }
    for i in 0..6 {
        dispatcher.send(Message::from(format!("job {i}")))?;
    }
    dispatcher.send(Message::from("log: six jobs dispatched"))?;

    for (n, (topic, sub)) in subscribers.iter_mut().enumerate() {
        let mut got = Vec::new();
        while let Ok(m) = sub.recv_timeout(Duration::from_millis(200)) {
            got.push(
                String::from_utf8_lossy(m.first().unwrap_or(&Default::default())).into_owned(),
            );
        }
        println!("subscriber {n} ({topic}): {got:?}");
    }
    Ok(())
}
