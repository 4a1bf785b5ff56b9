//! Recipe: an exclusive socket. A DEALER (so it talks to any DEALER, ROUTER or REP) that takes
//! one peer only: the first to connect owns it, later ones are refused. Useful for a device
//! that must be driven by a single controller.
//!
//! Run: cargo run --example exclusive

use std::time::Duration;

use zvtran::{Context, Inbound, Message, Outbound, Pattern, SocketType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let exclusive = Pattern::builder()
        .wire_type(SocketType::Dealer)
        .outbound(Outbound::LoadBalance)
        .inbound(Inbound::FairQueue)
        .max_peers(1)
        .build()?;
    let mut device = ctx.socket_with(exclusive);
    let endpoint = device.bind("tcp://127.0.0.1:*")?;

    let mut first = ctx.socket(SocketType::Dealer)?;
    first.connect(&endpoint)?;
    first.send(Message::from("I am the controller"))?;
    println!(
        "device got: {:?}",
        device.recv_timeout(Duration::from_secs(5))?
    );

    let mut second = ctx.socket(SocketType::Dealer)?;
    second.connect(&endpoint)?;
    let _ = second.send_timeout(Message::from("me too?"), Duration::from_millis(200));
    match device.recv_timeout(Duration::from_millis(500)) {
        Ok(m) => println!("device got a second message: {m:?}"),
        Err(_) => println!("the second controller was refused"),
    }
    device.send(Message::from("status: ok"))?;
    println!(
        "first controller got: {:?}",
        first.recv_timeout(Duration::from_secs(5))?
    );
    Ok(())
}
