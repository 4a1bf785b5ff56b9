//! The PLAIN handshake and traffic with us as the server (fixed test keys) against a
//! fuzzer-scripted peer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmtp::Role;
use zvtran_fuzz::{Secure, TrackingAlloc, run_secure_peer};

#[global_allocator]
static ALLOC: TrackingAlloc = TrackingAlloc;

fuzz_target!(|data: &[u8]| run_secure_peer(Secure::Plain, Role::Server, data));
