//! Recipe: latest value per topic. A SUB whose inbound side keeps only the newest waiting
//! message of each topic: a slow reader of fast prices sees current values, never a backlog.
//!
//! Run: cargo run --example latest_value

use std::time::Duration;

use zvtran::{Context, Filter, Inbound, Message, Pattern, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut publisher = ctx.socket(SocketType::Pub)?;
    let endpoint = publisher.bind("tcp://127.0.0.1:*")?;
    let latest = Pattern::builder()
        .wire_type(SocketType::Sub)
        .inbound(Inbound::LatestPerTopic)
        .filter(Filter::Subscribe)
        .build()?;
    let mut prices = ctx.socket_with(latest);
    prices.subscribe("")?;
    prices.connect(&endpoint)?;
    while publisher.subscribes_received() < 1 {
        std::thread::sleep(Duration::from_millis(10));
    }
    for tick in 0..500 {
        for pair in ["EURUSD", "GBPUSD", "USDJPY"] {
            publisher.send(Message::from_frames(
                [pair.to_string(), format!("tick {tick}")].map(bytes::Bytes::from),
            ))?;
        }
    }
    // The reader was busy; now it looks, and sees one current value per pair.
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(m) = prices.recv_timeout(Duration::from_millis(100)) {
        let frames: Vec<String> = m
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        println!("{}", frames.join(" "));
    }
    Ok(())
}
