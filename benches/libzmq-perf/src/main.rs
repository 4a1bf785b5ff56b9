//! libzmq's perf tools (local_thr, remote_thr, local_lat, remote_lat, inproc_thr, inproc_lat)
//! driven through libzmq's C API, so zvtran and libzmq are measured by the same method in the
//! same run. Links Debian's libzmq (apt install libzmq3-dev).

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::time::Instant;

#[repr(C, align(8))]
struct Msg([u8; 64]);

#[link(name = "zmq")]
unsafe extern "C" {
    fn zmq_ctx_new() -> *mut c_void;
    fn zmq_ctx_term(ctx: *mut c_void) -> c_int;
    fn zmq_socket(ctx: *mut c_void, kind: c_int) -> *mut c_void;
    fn zmq_close(socket: *mut c_void) -> c_int;
    fn zmq_bind(socket: *mut c_void, endpoint: *const c_char) -> c_int;
    fn zmq_connect(socket: *mut c_void, endpoint: *const c_char) -> c_int;
    fn zmq_msg_init(msg: *mut Msg) -> c_int;
    fn zmq_msg_init_size(msg: *mut Msg, size: usize) -> c_int;
    fn zmq_msg_send(msg: *mut Msg, socket: *mut c_void, flags: c_int) -> c_int;
    fn zmq_msg_recv(msg: *mut Msg, socket: *mut c_void, flags: c_int) -> c_int;
    fn zmq_msg_size(msg: *const Msg) -> usize;
    fn zmq_msg_close(msg: *mut Msg) -> c_int;
    fn zmq_errno() -> c_int;
    fn zmq_setsockopt(
        socket: *mut c_void,
        option: c_int,
        value: *const c_void,
        len: usize,
    ) -> c_int;
    fn zmq_strerror(errnum: c_int) -> *const c_char;
}

const REQ: c_int = 3;
const REP: c_int = 4;
const PULL: c_int = 7;
const PUSH: c_int = 8;
const ZMQ_CURVE_SERVER: c_int = 47;
const ZMQ_CURVE_PUBLICKEY: c_int = 48;
const ZMQ_CURVE_SECRETKEY: c_int = 49;
const ZMQ_CURVE_SERVERKEY: c_int = 50;

/// The fixed CURVE test keys (libzmq's documented example pairs) used when ZVTRAN_PERF_CURVE=1;
/// zvtran's perf tool uses the same ones.
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

fn setsockopt(s: Ptr, option: c_int, value: &[u8]) {
    // SAFETY: s is a live socket; value is valid for its length.
    let rc = unsafe { zmq_setsockopt(s.0, option, value.as_ptr().cast(), value.len()) };
    check(rc, "zmq_setsockopt");
}

/// With ZVTRAN_PERF_CURVE=1 the binding side is a CURVE server and the connecting side its
/// client (no ZAP handler: any client that knows the server key is accepted).
fn secure(s: Ptr, server: bool) {
    if std::env::var_os("ZVTRAN_PERF_CURVE").is_none_or(|v| v != "1") {
        return;
    }
    if server {
        setsockopt(s, ZMQ_CURVE_SERVER, &1i32.to_ne_bytes());
        setsockopt(s, ZMQ_CURVE_SECRETKEY, SERVER_SECRET.as_bytes());
    } else {
        setsockopt(s, ZMQ_CURVE_SERVERKEY, SERVER_PUBLIC.as_bytes());
        setsockopt(s, ZMQ_CURVE_PUBLICKEY, CLIENT_PUBLIC.as_bytes());
        setsockopt(s, ZMQ_CURVE_SECRETKEY, CLIENT_SECRET.as_bytes());
    }
}

/// A pointer to libzmq state that we hand between threads; libzmq contexts are thread-safe and
/// each socket is used by one thread at a time.
#[derive(Clone, Copy)]
struct Ptr(*mut c_void);
// SAFETY: see above; the pointer is only dereferenced by libzmq.
unsafe impl Send for Ptr {}

fn check(rc: c_int, what: &str) {
    if rc == -1 {
        // SAFETY: zmq_strerror returns a static NUL-terminated string.
        let why = unsafe { CStr::from_ptr(zmq_strerror(zmq_errno())) };
        eprintln!("{what}: {}", why.to_string_lossy());
        std::process::exit(1);
    }
}

fn socket(ctx: Ptr, kind: c_int) -> Ptr {
    // SAFETY: ctx is a live context.
    let s = unsafe { zmq_socket(ctx.0, kind) };
    if s.is_null() {
        check(-1, "zmq_socket");
    }
    Ptr(s)
}

fn bind(s: Ptr, endpoint: &str) {
    let ep = CString::new(endpoint).expect("no NUL in endpoint");
    // SAFETY: s is a live socket, ep a NUL-terminated string.
    check(unsafe { zmq_bind(s.0, ep.as_ptr()) }, "zmq_bind");
}

fn connect(s: Ptr, endpoint: &str) {
    let ep = CString::new(endpoint).expect("no NUL in endpoint");
    // SAFETY: as above.
    check(unsafe { zmq_connect(s.0, ep.as_ptr()) }, "zmq_connect");
}

fn recv_sized(s: Ptr, msg: &mut Msg, size: usize) {
    // SAFETY: msg was initialised by zmq_msg_init*; s is a live socket.
    unsafe {
        check(zmq_msg_recv(msg, s.0, 0), "zmq_msg_recv");
        if zmq_msg_size(msg) != size {
            eprintln!("message of wrong size: {}", zmq_msg_size(msg));
            std::process::exit(1);
        }
    }
}

fn local_thr(s: Ptr, size: usize, count: u64) {
    let mut msg = Msg([0; 64]);
    // SAFETY: msg is owned here and closed at the end.
    unsafe { check(zmq_msg_init(&mut msg), "zmq_msg_init") };
    recv_sized(s, &mut msg, size);
    let start = Instant::now();
    for _ in 1..count {
        recv_sized(s, &mut msg, size);
    }
    let elapsed_us = start.elapsed().as_micros().max(1) as f64;
    // SAFETY: msg was initialised.
    unsafe { zmq_msg_close(&mut msg) };
    let throughput = count as f64 * 1_000_000.0 / elapsed_us;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", throughput as u64);
    println!(
        "mean throughput: {:.3} [Mb/s]",
        throughput * size as f64 * 8.0 / 1_000_000.0
    );
}

fn remote_thr(s: Ptr, size: usize, count: u64) {
    for _ in 0..count {
        let mut msg = Msg([0; 64]);
        // SAFETY: a fresh message of `size` uninitialised bytes, as libzmq's remote_thr sends;
        // zmq_msg_send takes ownership.
        unsafe {
            check(zmq_msg_init_size(&mut msg, size), "zmq_msg_init_size");
            check(zmq_msg_send(&mut msg, s.0, 0), "zmq_msg_send");
        }
    }
}

fn local_lat(s: Ptr, size: usize, count: u64) {
    let mut msg = Msg([0; 64]);
    // SAFETY: msg is owned here; each received message is sent back and refilled.
    unsafe {
        check(zmq_msg_init(&mut msg), "zmq_msg_init");
        for _ in 0..count {
            recv_sized(s, &mut msg, size);
            check(zmq_msg_send(&mut msg, s.0, 0), "zmq_msg_send");
        }
        zmq_msg_close(&mut msg);
    }
}

fn remote_lat(s: Ptr, size: usize, count: u64) {
    let mut msg = Msg([0; 64]);
    // SAFETY: as above.
    unsafe { check(zmq_msg_init_size(&mut msg, size), "zmq_msg_init_size") };
    let start = Instant::now();
    for _ in 0..count {
        // SAFETY: msg holds the request (then the reply, sent again as the next request).
        unsafe { check(zmq_msg_send(&mut msg, s.0, 0), "zmq_msg_send") };
        recv_sized(s, &mut msg, size);
    }
    let elapsed_us = start.elapsed().as_micros() as f64;
    // SAFETY: msg was initialised.
    unsafe { zmq_msg_close(&mut msg) };
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    println!(
        "average latency: {:.3} [us]",
        elapsed_us / (count as f64 * 2.0)
    );
}

fn close(s: Ptr) {
    // SAFETY: s is a live socket, not used afterwards.
    unsafe { zmq_close(s.0) };
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!(
            "usage: libzmq-perf local_thr|remote_thr|local_lat|remote_lat ENDPOINT SIZE COUNT\n       libzmq-perf inproc_thr|inproc_lat SIZE COUNT"
        );
        std::process::exit(2)
    };
    let num = |i: usize| -> u64 {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| usage())
    };
    // SAFETY: creates a context; terminated at the end.
    let ctx = Ptr(unsafe { zmq_ctx_new() });
    match args.get(1).map(String::as_str) {
        Some(test @ ("local_thr" | "remote_thr" | "local_lat" | "remote_lat")) => {
            let ep = args.get(2).unwrap_or_else(|| usage());
            let (size, count) = (num(3) as usize, num(4));
            let kind = match test {
                "local_thr" => PULL,
                "remote_thr" => PUSH,
                "local_lat" => REP,
                _ => REQ,
            };
            let s = socket(ctx, kind);
            secure(s, test.starts_with("local"));
            if test.starts_with("local") {
                bind(s, ep);
            } else {
                connect(s, ep);
            }
            match test {
                "local_thr" => local_thr(s, size, count),
                "remote_thr" => remote_thr(s, size, count),
                "local_lat" => local_lat(s, size, count),
                _ => remote_lat(s, size, count),
            }
            close(s);
        }
        Some("inproc_thr") => {
            let (size, count) = (num(2) as usize, num(3));
            let pull = socket(ctx, PULL);
            bind(pull, "inproc://thr_test");
            let push = socket(ctx, PUSH);
            connect(push, "inproc://thr_test");
            let sender = std::thread::spawn(move || {
                remote_thr(push, size, count);
                close(push);
            });
            local_thr(pull, size, count);
            sender.join().expect("sender");
            close(pull);
        }
        Some("inproc_lat") => {
            let (size, count) = (num(2) as usize, num(3));
            let rep = socket(ctx, REP);
            bind(rep, "inproc://lat_test");
            let req = socket(ctx, REQ);
            connect(req, "inproc://lat_test");
            let echo = std::thread::spawn(move || {
                local_lat(rep, size, count);
                close(rep);
            });
            remote_lat(req, size, count);
            echo.join().expect("echo");
            close(req);
        }
        _ => usage(),
    }
    // SAFETY: every socket is closed; this waits for linger.
    unsafe { zmq_ctx_term(ctx.0) };
}
