//! Command parser: no panic, no allocation sized by a declared length, decode∘encode stable.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use zmtp::Command;
use zmtp::frame::{Frame, Limits};
use zvtran_fuzz::{TrackingAlloc, largest_allocation};

#[global_allocator]
static ALLOC: TrackingAlloc = TrackingAlloc;

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);
    let (parsed, largest) = largest_allocation(|| Command::decode(body));
    // Metadata holds one entry per property (a few octets each on the wire), so memory may be
    // a small multiple of the input; what must never happen is a buffer sized by a declared
    // length (a value length of 2^31 in a 20-octet body, say).
    assert!(largest <= 16 * data.len() + 4096, "allocated {largest}");
    if let Ok(cmd) = parsed {
        let mut wire = BytesMut::new();
        cmd.encode(&mut wire);
        let frame = Frame::decode(&mut wire, Limits::uniform(u64::MAX))
            .expect("our encoding decodes")
            .expect("complete");
        assert!(frame.command && wire.is_empty());
        assert_eq!(frame.body.len(), cmd.body_len());
        assert_eq!(Command::decode(frame.body), Ok(cmd));
    }
});
