//! The WebSocket frame decoder and handshake parsers: byte 0 picks the role and the chunk size
//! the rest is fed in; whatever comes, no panic, no payload larger than the input, and no
//! allocation sized by a length the peer declared.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zvtran_fuzz::{TrackingAlloc, largest_allocation};
use zvtran_ws::frame::{Decoder, Event, Role};
use zvtran_ws::handshake::{parse_request, parse_response};

#[global_allocator]
static ALLOC: TrackingAlloc = TrackingAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let role = if first & 1 == 0 {
        Role::Client
    } else {
        Role::Server
    };
    let chunk = usize::from(first >> 1).max(1);
    let (payload_total, largest) = largest_allocation(|| {
        // A limit far above any input: an allocation sized by a declared length would show.
        let mut d = Decoder::new(role, 1 << 30);
        let mut total = 0usize;
        'feed: for piece in rest.chunks(chunk) {
            d.feed(piece);
            loop {
                match d.next_event() {
                    Ok(Some(Event::Message { payload, .. }))
                    | Ok(Some(Event::Ping(payload)))
                    | Ok(Some(Event::Pong(payload))) => total += payload.len(),
                    Ok(Some(Event::Close { reason, .. })) => total += reason.len(),
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
        }
        let _ = parse_request(rest);
        let _ = parse_response(rest, "dGhlIHNhbXBsZSBub25jZQ==");
        total
    });
    assert!(payload_total <= rest.len());
    // Buffers grow with what arrived (doubling, and fragments joined), never with what was
    // declared.
    assert!(
        largest <= 8 * rest.len() + 8192,
        "allocated {largest} bytes for {} input bytes",
        rest.len()
    );
});
