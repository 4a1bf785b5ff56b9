//! Criterion bench: a composed socket against the preset it equals, sending and receiving over
//! inproc. Presets are builder calls, so the two must run the same code at the same speed.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zvtran::{Context, Filter, Inbound, Message, Outbound, Pattern, Socket, SocketType};

const BATCH: usize = 1000;

/// Joins `sender` to `receiver` over inproc.
fn pair(name: &str, mut sender: Socket, mut receiver: Socket) -> (Socket, Socket) {
    let ep = format!("inproc://{name}");
    receiver.bind(&ep).expect("bind");
    sender.connect(&ep).expect("connect");
    (sender, receiver)
}

fn run(c: &mut Criterion, group: &str, mut sender: Socket, mut receiver: Socket, subscribe: bool) {
    if subscribe {
        receiver.subscribe("").expect("subscribe");
        // Let the subscription reach the publisher.
        loop {
            sender.send(Message::from("probe")).expect("send");
            if receiver.try_recv().is_ok() {
                break;
            }
        }
        while receiver.try_recv().is_ok() {}
    }
    let msg = Message::from(vec![0u8; 64]);
    let mut g = c.benchmark_group("pattern");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(group, |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                sender.send(msg.clone()).expect("send");
            }
            for _ in 0..BATCH {
                black_box(receiver.recv().expect("recv"));
            }
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let ctx = Context::new().expect("context");
    let (s, r) = pair(
        "preset-push",
        ctx.socket(SocketType::Push).expect("push"),
        ctx.socket(SocketType::Pull).expect("pull"),
    );
    run(c, "push-pull preset", s, r, false);

    let composed_push = Pattern::builder()
        .wire_type(SocketType::Push)
        .outbound(Outbound::LoadBalance)
        .build()
        .expect("valid");
    let composed_pull = Pattern::builder()
        .wire_type(SocketType::Pull)
        .inbound(Inbound::FairQueue)
        .build()
        .expect("valid");
    let (s, r) = pair(
        "composed-push",
        ctx.socket_with(composed_push),
        ctx.socket_with(composed_pull),
    );
    run(c, "push-pull composed", s, r, false);

    let (s, r) = pair(
        "preset-pub",
        ctx.socket(SocketType::Pub).expect("pub"),
        ctx.socket(SocketType::Sub).expect("sub"),
    );
    run(c, "pub-sub preset", s, r, true);

    let competing = Pattern::builder()
        .wire_type(SocketType::Pub)
        .outbound(Outbound::LoadBalance)
        .filter(Filter::PeerSubscriptions)
        .build()
        .expect("valid");
    let (s, r) = pair(
        "competing",
        ctx.socket_with(competing),
        ctx.socket(SocketType::Sub).expect("sub"),
    );
    run(c, "competing consumers composed", s, r, true);
}

criterion_group!(benches, bench);
criterion_main!(benches);
