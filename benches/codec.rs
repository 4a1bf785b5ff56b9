//! Criterion bench of the ZMTP codec: encoding (`Connection::send` then draining the transmit
//! queue) and decoding (`Connection::handle_bytes` then draining events), per message size.
//! Numbers are recorded in `benches/README.md`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zmtp::pair::Pair;
use zmtp::{Config, Connection, Event, Message, Role, SocketType};

/// Messages per iteration, so per-iteration overhead does not dominate small sizes.
const BATCH: usize = 1000;

fn ready_pair() -> Pair {
    let mut pair = Pair::new(
        Config::new(SocketType::Push, Role::Client),
        Config::new(SocketType::Pull, Role::Server),
    )
    .expect("valid configs");
    pair.drive().expect("handshake");
    pair.server_events.clear();
    pair
}

fn cases() -> Vec<(String, Message)> {
    let mut cases: Vec<(String, Message)> = [1usize, 64, 1024, 64 * 1024]
        .into_iter()
        .map(|size| {
            (
                format!("{size}B"),
                Message::from(Bytes::from(vec![0x5a; size])),
            )
        })
        .collect();
    cases.push((
        "5x64B".into(),
        Message::from_frames((0..5).map(|_| Bytes::from(vec![0x5a; 64]))),
    ));
    cases
}

fn drain(conn: &mut Connection) -> usize {
    let n = conn.transmit_len();
    conn.advance_transmit(n);
    n
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for (name, msg) in cases() {
        let mut pair = ready_pair();
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_with_input(BenchmarkId::from_parameter(&name), &msg, |b, msg| {
            b.iter(|| {
                for _ in 0..BATCH {
                    pair.client.send(msg.clone()).expect("ready");
                }
                black_box(drain(&mut pair.client))
            })
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (name, msg) in cases() {
        let mut pair = ready_pair();
        for _ in 0..BATCH {
            pair.client.send(msg.clone()).expect("ready");
        }
        let mut wire = Vec::new();
        while let Some(chunk) = pair.client.poll_transmit() {
            wire.extend_from_slice(&chunk);
        }
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_with_input(BenchmarkId::from_parameter(&name), &wire, |b, wire| {
            b.iter(|| {
                pair.server.handle_bytes(wire, pair.now).expect("valid");
                let mut n = 0;
                while let Some(ev) = pair.server.poll_event() {
                    if let Event::Message(m) = ev {
                        n += m.len();
                    }
                }
                assert_eq!(n, BATCH * msg.len());
                black_box(n)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
