//! The udp RADIO/DISH datagram decoder: any datagram decodes to slices of itself that encode
//! back to it, or is refused; nothing is allocated by what a datagram declares.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use zvtran_drivers::udp::{MAX_DATAGRAM, decode, encode};
use zvtran_fuzz::{TrackingAlloc, largest_allocation};

#[global_allocator]
static ALLOC: TrackingAlloc = TrackingAlloc;

fuzz_target!(|data: &[u8]| {
    let datagram = Bytes::copy_from_slice(data);
    let (decoded, largest) = largest_allocation(|| decode(&datagram));
    // Slicing may allocate a small shared header, never a buffer sized by the datagram.
    assert!(largest <= 256, "decoding allocated {largest} bytes");
    if let Ok((group, body)) = decoded {
        assert!(data.len() <= MAX_DATAGRAM);
        let mut again = Vec::new();
        encode(&group, &body, &mut again).expect("a decoded datagram encodes");
        assert_eq!(again, data);
    }
});
