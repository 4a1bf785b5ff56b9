//! Strategies: each a small piece of logic over peer ids, tested without sockets.

pub mod by_identity;
pub mod envelope;
pub mod fair_queue;
pub mod fan_out;
pub mod latest;
pub mod load_balance;
pub mod rotation;
pub mod subscription;
