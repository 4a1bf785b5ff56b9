//! Builds libzmq 4.3.5 (vendored by zeromq-src) with the draft API, which RADIO/DISH, udp and ws need.

fn main() {
    zeromq_src::Build::new().enable_draft(true).build();
}
