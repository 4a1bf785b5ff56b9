//! A libzmq RADIO or DISH over udp for zvtran's interop tests (libzmq's draft API).
//!
//! udp-peer dish ENDPOINT GROUP MAX TIMEOUT_MS   bind a DISH, join GROUP, print each message as
//!                                               `group<TAB>body` until MAX arrived or none for
//!                                               TIMEOUT_MS
//! udp-peer dish_count ENDPOINT GROUP MAX TIMEOUT_MS   the same, counting: prints `received:`
//!                                               and `mean throughput:` lines
//! udp-peer radio ENDPOINT COUNT GROUP...        connect a RADIO; send COUNT rounds, each one
//!                                               message `body-i` to every GROUP, 1 ms apart

use std::ffi::{CString, c_char, c_int, c_void};
use std::io::Write;

#[repr(C, align(8))]
struct Msg([u8; 64]);

#[link(name = "zmq", kind = "static")]
unsafe extern "C" {
    fn zmq_ctx_new() -> *mut c_void;
    fn zmq_ctx_term(ctx: *mut c_void) -> c_int;
    fn zmq_socket(ctx: *mut c_void, kind: c_int) -> *mut c_void;
    fn zmq_close(socket: *mut c_void) -> c_int;
    fn zmq_bind(socket: *mut c_void, endpoint: *const c_char) -> c_int;
    fn zmq_connect(socket: *mut c_void, endpoint: *const c_char) -> c_int;
    fn zmq_join(socket: *mut c_void, group: *const c_char) -> c_int;
    fn zmq_setsockopt(s: *mut c_void, option: c_int, value: *const c_void, len: usize) -> c_int;
    fn zmq_msg_init(msg: *mut Msg) -> c_int;
    fn zmq_msg_init_size(msg: *mut Msg, size: usize) -> c_int;
    fn zmq_msg_data(msg: *mut Msg) -> *mut c_void;
    fn zmq_msg_size(msg: *const Msg) -> usize;
    fn zmq_msg_set_group(msg: *mut Msg, group: *const c_char) -> c_int;
    fn zmq_msg_group(msg: *mut Msg) -> *const c_char;
    fn zmq_msg_send(msg: *mut Msg, socket: *mut c_void, flags: c_int) -> c_int;
    fn zmq_msg_recv(msg: *mut Msg, socket: *mut c_void, flags: c_int) -> c_int;
    fn zmq_msg_close(msg: *mut Msg) -> c_int;
    fn zmq_errno() -> c_int;
}

const ZMQ_RADIO: c_int = 14;
const ZMQ_DISH: c_int = 15;
const ZMQ_RCVTIMEO: c_int = 27;
const ZMQ_LINGER: c_int = 17;

fn check(rc: c_int, what: &str) {
    if rc == -1 {
        // SAFETY: plain libzmq call.
        let errno = unsafe { zmq_errno() };
        eprintln!("udp-peer: {what} failed: errno {errno}");
        std::process::exit(1);
    }
}

/// A DISH bound at `endpoint`, joined to `group`, with RCVTIMEO `timeout` ms; prints READY.
///
/// # Safety
/// `ctx` is a live libzmq context.
unsafe fn open_dish(ctx: *mut c_void, endpoint: &str, group: &str, timeout: &str) -> *mut c_void {
    let c = |s: &str| CString::new(s).expect("no NUL");
    let timeout: c_int = timeout.parse().expect("TIMEOUT_MS");
    // SAFETY: a live context, NUL-terminated strings, an int option of the size given.
    unsafe {
        let s = zmq_socket(ctx, ZMQ_DISH);
        check(
            zmq_setsockopt(s, ZMQ_RCVTIMEO, (&timeout as *const c_int).cast(), 4),
            "RCVTIMEO",
        );
        check(zmq_bind(s, c(endpoint).as_ptr()), "zmq_bind");
        check(zmq_join(s, c(group).as_ptr()), "zmq_join");
        println!("READY");
        let _ = std::io::stdout().flush();
        s
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let c = |s: &str| CString::new(s).expect("no NUL");
    // SAFETY: each call below gets live libzmq objects and NUL-terminated strings.
    unsafe {
        let ctx = zmq_ctx_new();
        match args.get(1).map(String::as_str) {
            Some("dish") if args.len() == 6 => {
                let s = open_dish(ctx, &args[2], &args[3], &args[5]);
                let max: u64 = args[4].parse().expect("MAX");
                let mut out = std::io::stdout().lock();
                for _ in 0..max {
                    let mut msg = Msg([0; 64]);
                    zmq_msg_init(&mut msg);
                    if zmq_msg_recv(&mut msg, s, 0) == -1 {
                        break;
                    }
                    let group = std::ffi::CStr::from_ptr(zmq_msg_group(&mut msg))
                        .to_string_lossy()
                        .into_owned();
                    let body = std::slice::from_raw_parts(
                        zmq_msg_data(&mut msg).cast::<u8>(),
                        zmq_msg_size(&msg),
                    );
                    let _ = writeln!(out, "{group}\t{}", String::from_utf8_lossy(body));
                    zmq_msg_close(&mut msg);
                }
                let _ = out.flush();
                zmq_close(s);
            }
            Some("dish_count") if args.len() == 6 => {
                // Counts instead of printing: for the benchmark.
                let s = open_dish(ctx, &args[2], &args[3], &args[5]);
                let max: u64 = args[4].parse().expect("MAX");
                let mut got = 0u64;
                let mut first = None;
                let mut last = std::time::Instant::now();
                let mut msg = Msg([0; 64]);
                zmq_msg_init(&mut msg);
                while got < max {
                    if zmq_msg_recv(&mut msg, s, 0) == -1 {
                        break;
                    }
                    first.get_or_insert_with(std::time::Instant::now);
                    last = std::time::Instant::now();
                    got += 1;
                }
                zmq_msg_close(&mut msg);
                let us = first.map_or(1, |f| last.duration_since(f).as_micros().max(1)) as f64;
                println!("received: {got}");
                println!(
                    "mean throughput: {} [msg/s]",
                    (got as f64 * 1e6 / us) as u64
                );
                zmq_close(s);
            }
            Some("radio") if args.len() >= 5 => {
                let s = zmq_socket(ctx, ZMQ_RADIO);
                let linger: c_int = 1000;
                check(
                    zmq_setsockopt(s, ZMQ_LINGER, (&linger as *const c_int).cast(), 4),
                    "LINGER",
                );
                check(zmq_connect(s, c(&args[2]).as_ptr()), "zmq_connect");
                let count: u64 = args[3].parse().expect("COUNT");
                for i in 0..count {
                    for group in &args[4..] {
                        let body = format!("body-{i}");
                        let mut msg = Msg([0; 64]);
                        check(zmq_msg_init_size(&mut msg, body.len()), "zmq_msg_init_size");
                        std::ptr::copy_nonoverlapping(
                            body.as_ptr(),
                            zmq_msg_data(&mut msg).cast::<u8>(),
                            body.len(),
                        );
                        check(
                            zmq_msg_set_group(&mut msg, c(group).as_ptr()),
                            "zmq_msg_set_group",
                        );
                        check(zmq_msg_send(&mut msg, s, 0), "zmq_msg_send");
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                zmq_close(s);
            }
            _ => {
                eprintln!(
                    "usage: udp-peer dish ENDPOINT GROUP MAX TIMEOUT_MS | radio ENDPOINT COUNT GROUP..."
                );
                std::process::exit(2);
            }
        }
        zmq_ctx_term(ctx);
    }
}
