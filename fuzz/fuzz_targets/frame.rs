//! Frame decoder: no panic, limits hold, no allocation over the input, decode∘encode stable.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zmtp::frame::{Frame, Limits};
use zvtran_fuzz::{TrackingAlloc, largest_allocation};

#[global_allocator]
static ALLOC: TrackingAlloc = TrackingAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&shift, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        message: 1u64 << (shift % 64),
        command: 1u64 << ((shift / 4) % 64),
    };
    let mut buf = BytesMut::from(rest);
    loop {
        // Splitting a frame off the buffer may allocate a small shared header, never a buffer
        // sized by a declared length.
        let (decoded, largest) = largest_allocation(|| Frame::decode(&mut buf, limits));
        assert!(
            largest <= 256,
            "decoding one frame allocated {largest} bytes"
        );
        let Ok(Some(frame)) = decoded else {
            break;
        };
        let limit = if frame.command {
            limits.command
        } else {
            limits.message
        };
        assert!(frame.body.len() as u64 <= limit);
        assert!(!(frame.command && frame.more));
        let mut encoded = BytesMut::new();
        frame.encode(&mut encoded);
        let again = Frame::decode(&mut encoded, Limits::uniform(u64::MAX))
            .expect("our encoding decodes")
            .expect("complete");
        assert!(encoded.is_empty());
        assert_eq!(again, frame);
    }
});
