//! Greeting decoder: no panic, early checks agree with the full decode, decode∘encode stable.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zmtp::greeting::{GREETING_LEN, Greeting};

fuzz_target!(|data: &[u8]| {
    for n in 0..data.len().min(GREETING_LEN) {
        let _ = Greeting::check_prefix(&data[..n]);
    }
    let Some(raw) = data.get(..GREETING_LEN) else {
        return;
    };
    let raw: &[u8; GREETING_LEN] = raw.try_into().expect("64 bytes");
    if let Ok(greeting) = Greeting::decode(raw) {
        // A greeting that decodes passed every early check on the way.
        for n in 0..=GREETING_LEN {
            assert!(Greeting::check_prefix(&raw[..n]).is_ok());
        }
        let mut out = BytesMut::new();
        greeting.encode(&mut out);
        let again = Greeting::decode(out.as_ref().try_into().expect("64 bytes"));
        assert_eq!(again, Ok(greeting));
    }
});
