//! Recipe: fan-out capped at N peers. A PUB that takes at most two subscribers: a third is
//! refused (its connection is closed), so a publisher's fan-out cost stays bounded.
//!
//! Run: cargo run --example capped_fan_out

use std::time::Duration;

use zvtran::{Context, Filter, Message, Outbound, Pattern, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let capped = Pattern::builder()
        .wire_type(SocketType::Pub)
        .outbound(Outbound::FanOut)
        .filter(Filter::PeerSubscriptions)
        .max_peers(2)
        .build()?;
    let mut publisher = ctx.socket_with(capped);
    let endpoint = publisher.bind("tcp://127.0.0.1:*")?;
    let mut subs = Vec::new();
    for _ in 0..3 {
        let mut sub = ctx.socket(SocketType::Sub)?;
        sub.subscribe("")?;
        sub.connect(&endpoint)?;
        subs.push(sub);
        std::thread::sleep(Duration::from_millis(100));
    }
    for i in 0..20 {
        publisher.send(Message::from(format!("update {i}")))?;
        std::thread::sleep(Duration::from_millis(10));
    }
    for (n, sub) in subs.iter_mut().enumerate() {
        let mut count = 0;
        while sub.recv_timeout(Duration::from_millis(200)).is_ok() {
            count += 1;
        }
        println!("subscriber {n}: {count} messages");
    }
    println!("the publisher took {} peers", publisher.peer_count());
    Ok(())
}
