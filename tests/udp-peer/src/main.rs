//! A libzmq RADIO or DISH over udp for zvtran's interop tests (libzmq's draft API).
//!
//! udp-peer dish ENDPOINT GROUP MAX TIMEOUT_MS   bind a DISH, join GROUP, print each message as
//!                                               `group<TAB>body` until MAX arrived or none for
//!                                               TIMEOUT_MS
//! udp-peer dish_count ENDPOINT GROUP MAX TIMEOUT_MS   the same, counting: prints `received:`
//!                                               and `mean throughput:` lines
//! udp-peer radio ENDPOINT COUNT GROUP...        connect a RADIO; send COUNT rounds, each one
//!                                               message `body-i` to every GROUP, 1 ms apart
//!
//! It also serves the ws:// interop tests (this libzmq has the ws transport, a draft feature):
//!
//! udp-peer recv TYPE bind|connect ENDPOINT MAX TIMEOUT_MS [TOPIC]   a PULL, SUB (subscribed
//!                                               to TOPIC) or REP: print READY, then each
//!                                               message's frames joined by `|`; a REP answers
//!                                               each request with `re:` and its body
//! udp-peer send TYPE bind|connect ENDPOINT COUNT PREFIX   a PUSH, PUB or REQ: send
//!                                               `PREFIX<i>` COUNT times (a PUB waits 500 ms for
//!                                               subscribers first; a REQ prints each reply)
//!
//! With `PEER_PLAIN=server` the socket is a PLAIN server, with a ZAP handler (libzmq refuses
//! PLAIN clients without one) that admits any user, whose name becomes the User-Id; with
//! `PEER_PLAIN=user:password` a PLAIN client.

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
    fn zmq_getsockopt(s: *mut c_void, option: c_int, value: *mut c_void, len: *mut usize) -> c_int;
}

const ZMQ_RADIO: c_int = 14;
const ZMQ_DISH: c_int = 15;
const ZMQ_RCVTIMEO: c_int = 27;
const ZMQ_LINGER: c_int = 17;
const ZMQ_SUBSCRIBE: c_int = 6;
const ZMQ_RCVMORE: c_int = 13;
const ZMQ_PLAIN_SERVER: c_int = 44;
const ZMQ_PLAIN_USERNAME: c_int = 45;
const ZMQ_PLAIN_PASSWORD: c_int = 46;

/// The socket type a name stands for.
fn socket_type(name: &str) -> c_int {
    match name {
        "PUB" => 1,
        "SUB" => 2,
        "REQ" => 3,
        "REP" => 4,
        "PULL" => 7,
        "PUSH" => 8,
        other => {
            eprintln!("udp-peer: no socket type {other}");
            std::process::exit(2);
        }
    }
}

/// A socket of type `kind`, bound or connected to `endpoint`, with RCVTIMEO `timeout` ms and a
/// 1 s LINGER.
///
/// # Safety
/// `ctx` is a live libzmq context.
unsafe fn open(
    ctx: *mut c_void,
    kind: &str,
    how: &str,
    endpoint: &str,
    timeout: c_int,
) -> *mut c_void {
    let endpoint = CString::new(endpoint).expect("no NUL");
    let linger: c_int = 1000;
    // SAFETY: a live context, a NUL-terminated string, int options of the size given.
    unsafe {
        let s = zmq_socket(ctx, socket_type(kind));
        check(
            zmq_setsockopt(s, ZMQ_RCVTIMEO, (&timeout as *const c_int).cast(), 4),
            "RCVTIMEO",
        );
        check(
            zmq_setsockopt(s, ZMQ_LINGER, (&linger as *const c_int).cast(), 4),
            "LINGER",
        );
        match std::env::var("PEER_PLAIN").ok().as_deref() {
            None => {}
            Some("server") => {
                admit_everyone(ctx);
                let one: c_int = 1;
                check(
                    zmq_setsockopt(s, ZMQ_PLAIN_SERVER, (&one as *const c_int).cast(), 4),
                    "PLAIN_SERVER",
                );
            }
            Some(credentials) => {
                let (user, password) = credentials.split_once(':').expect("user:password");
                check(
                    zmq_setsockopt(s, ZMQ_PLAIN_USERNAME, user.as_ptr().cast(), user.len()),
                    "PLAIN_USERNAME",
                );
                check(
                    zmq_setsockopt(
                        s,
                        ZMQ_PLAIN_PASSWORD,
                        password.as_ptr().cast(),
                        password.len(),
                    ),
                    "PLAIN_PASSWORD",
                );
            }
        }
        match how {
            "bind" => check(zmq_bind(s, endpoint.as_ptr()), "zmq_bind"),
            _ => check(zmq_connect(s, endpoint.as_ptr()), "zmq_connect"),
        }
        s
    }
}

/// Receives one message's frames; `None` on timeout.
///
/// # Safety
/// `s` is a live libzmq socket.
unsafe fn recv_frames(s: *mut c_void) -> Option<Vec<Vec<u8>>> {
    let mut frames = Vec::new();
    // SAFETY: a live socket and message objects initialised before use.
    unsafe {
        loop {
            let mut msg = Msg([0; 64]);
            zmq_msg_init(&mut msg);
            if zmq_msg_recv(&mut msg, s, 0) == -1 {
                zmq_msg_close(&mut msg);
                return None;
            }
            frames.push(
                std::slice::from_raw_parts(zmq_msg_data(&mut msg).cast::<u8>(), zmq_msg_size(&msg))
                    .to_vec(),
            );
            zmq_msg_close(&mut msg);
            let mut more: c_int = 0;
            let mut len = std::mem::size_of::<c_int>();
            check(
                zmq_getsockopt(s, ZMQ_RCVMORE, (&mut more as *mut c_int).cast(), &mut len),
                "RCVMORE",
            );
            if more == 0 {
                return Some(frames);
            }
        }
    }
}

/// A libzmq message holding a copy of `body`.
fn message_of(body: &[u8]) -> Msg {
    let mut msg = Msg([0; 64]);
    // SAFETY: a message of the body's size, filled with exactly that many octets.
    unsafe {
        check(zmq_msg_init_size(&mut msg, body.len()), "zmq_msg_init_size");
        std::ptr::copy_nonoverlapping(
            body.as_ptr(),
            zmq_msg_data(&mut msg).cast::<u8>(),
            body.len(),
        );
    }
    msg
}

/// Sends `frames` as one message.
///
/// # Safety
/// `s` is a live libzmq socket.
unsafe fn send_frames(s: *mut c_void, frames: &[&[u8]]) {
    const ZMQ_SNDMORE: c_int = 2;
    for (i, body) in frames.iter().enumerate() {
        let more = if i + 1 < frames.len() { ZMQ_SNDMORE } else { 0 };
        let mut msg = message_of(body);
        // SAFETY: a live socket and a message made above.
        unsafe {
            check(zmq_msg_send(&mut msg, s, more), "zmq_msg_send");
        }
    }
}

/// A ZAP handler (RFC 27) on its own thread that admits every request, the user name (if
/// any) as User-Id.
///
/// # Safety
/// `ctx` is a live libzmq context that outlives the process's use of it.
unsafe fn admit_everyone(ctx: *mut c_void) {
    let endpoint = CString::new("inproc://zeromq.zap.01").expect("no NUL");
    // SAFETY: a live context; the socket stays on the thread below.
    let s = unsafe {
        let s = zmq_socket(ctx, socket_type("REP"));
        check(zmq_bind(s, endpoint.as_ptr()), "zmq_bind ZAP");
        s as usize
    };
    std::thread::spawn(move || {
        let s = s as *mut c_void;
        loop {
            // SAFETY: the handler's own live socket.
            unsafe {
                let Some(request) = recv_frames(s) else {
                    // The context is ending (it waits for this socket to close).
                    zmq_close(s);
                    return;
                };
                let id: &[u8] = request.get(1).map_or(&[], Vec::as_slice);
                let user: &[u8] = request.get(6).map_or(&[], Vec::as_slice);
                send_frames(s, &[b"1.0", id, b"200", b"OK", user, b""]);
            }
        }
    });
}

/// Sends `body` as a one-frame message.
///
/// # Safety
/// `s` is a live libzmq socket.
unsafe fn send_body(s: *mut c_void, body: &[u8]) {
    // SAFETY: as the caller promised.
    unsafe { send_frames(s, &[body]) }
}

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
                        let mut msg = message_of(format!("body-{i}").as_bytes());
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
            Some("recv") if args.len() >= 7 => {
                let timeout: c_int = args[6].parse().expect("TIMEOUT_MS");
                let s = open(ctx, &args[2], &args[3], &args[4], timeout);
                if let Some(topic) = args.get(7) {
                    check(
                        zmq_setsockopt(s, ZMQ_SUBSCRIBE, topic.as_ptr().cast(), topic.len()),
                        "SUBSCRIBE",
                    );
                }
                println!("READY");
                let _ = std::io::stdout().flush();
                let max: u64 = args[5].parse().expect("MAX");
                for _ in 0..max {
                    let Some(frames) = recv_frames(s) else {
                        break;
                    };
                    let shown: Vec<String> = frames
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect();
                    println!("{}", shown.join("|"));
                    let _ = std::io::stdout().flush();
                    if args[2] == "REP" {
                        send_body(s, format!("re:{}", shown.join("|")).as_bytes());
                    }
                }
                zmq_close(s);
            }
            Some("send") if args.len() == 7 => {
                let s = open(ctx, &args[2], &args[3], &args[4], 5000);
                if args[2] == "PUB" {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
                let count: u64 = args[5].parse().expect("COUNT");
                for i in 0..count {
                    send_body(s, format!("{}{i}", args[6]).as_bytes());
                    if args[2] == "REQ" {
                        match recv_frames(s) {
                            Some(reply) => println!("{}", String::from_utf8_lossy(&reply.concat())),
                            None => {
                                eprintln!("udp-peer: no reply");
                                std::process::exit(1);
                            }
                        }
                    }
                }
                let _ = std::io::stdout().flush();
                zmq_close(s);
            }
            _ => {
                eprintln!(
                    "usage: udp-peer dish ENDPOINT GROUP MAX TIMEOUT_MS | radio ENDPOINT COUNT GROUP... \
                     | recv TYPE bind|connect ENDPOINT MAX TIMEOUT_MS [TOPIC] \
                     | send TYPE bind|connect ENDPOINT COUNT PREFIX"
                );
                std::process::exit(2);
            }
        }
        zmq_ctx_term(ctx);
    }
}
