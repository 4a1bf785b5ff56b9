//! Routing strategies over peer ids, and the ZeroMQ socket types composed from them.
//!
//! A socket type is a preset of parts: how outbound messages are distributed (load-balance,
//! fan-out, route by id), how inbound ones are collected (fair-queue), filters (prefix
//! subscriptions, exact groups), envelopes (request-reply) and caps (maximum peers, what to do at
//! the high-water mark). Strategies know peers by id only: no sockets, no I/O.
//!
//! Nothing is implemented yet; the sockets issue fills this crate.
#![forbid(unsafe_code)]
