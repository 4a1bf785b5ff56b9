//! The whole connection as the connecting side (NULL client) against a fuzzer-scripted peer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zmtp::Role;
use zvtran_fuzz::{TrackingAlloc, run_peer};

#[global_allocator]
static ALLOC: TrackingAlloc = TrackingAlloc;

fuzz_target!(|data: &[u8]| run_peer(Role::Client, data));
