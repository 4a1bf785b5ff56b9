//! `zvtran perf`: libzmq's perf tools (local_thr, remote_thr, local_lat, remote_lat, inproc_thr,
//! inproc_lat) with the same arguments and result lines, so either end can be libzmq's.

use std::time::Instant;

use bytes::Bytes;
use zvtran::{Context, Message, Socket, SocketType};

use crate::exit;

/// Throughput and latency tests, run like libzmq's perf tools.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    test: Test,
}

#[derive(Debug, clap::Subcommand)]
#[command(rename_all = "snake_case")]
#[allow(
    non_camel_case_types,
    reason = "the subcommands keep libzmq's tool names"
)]
enum Test {
    /// Binds a PULL, receives COUNT messages, prints the throughput.
    local_thr {
        /// Endpoint to bind.
        bind_to: String,
        /// Message size in bytes.
        message_size: usize,
        /// Number of messages.
        message_count: u64,
    },
    /// Connects a PUSH and sends COUNT messages.
    remote_thr {
        /// Endpoint to connect to.
        connect_to: String,
        /// Message size in bytes.
        message_size: usize,
        /// Number of messages.
        message_count: u64,
    },
    /// Binds a REP and echoes COUNT messages.
    local_lat {
        /// Endpoint to bind.
        bind_to: String,
        /// Message size in bytes.
        message_size: usize,
        /// Number of round trips.
        roundtrip_count: u64,
    },
    /// Connects a REQ, times COUNT round trips, prints the average one-way latency.
    remote_lat {
        /// Endpoint to connect to.
        connect_to: String,
        /// Message size in bytes.
        message_size: usize,
        /// Number of round trips.
        roundtrip_count: u64,
    },
    /// local_thr and remote_thr in one process over inproc.
    inproc_thr {
        /// Message size in bytes.
        message_size: usize,
        /// Number of messages.
        message_count: u64,
    },
    /// local_lat and remote_lat in one process over inproc.
    inproc_lat {
        /// Message size in bytes.
        message_size: usize,
        /// Number of round trips.
        roundtrip_count: u64,
    },
    /// Binds a DISH (joined to group "perf"), receives until COUNT messages arrived or none
    /// came for 500 ms after the first, prints the throughput and the loss (udp may drop).
    dish_thr {
        /// Endpoint to bind (udp://...).
        bind_to: String,
        /// Body size in bytes.
        message_size: usize,
        /// Number of messages sent.
        message_count: u64,
    },
    /// The raw udp ceilings on loopback, without sockets or pipes: `sendto` (one datagram per
    /// call each way), `sendmmsg` (the fallback without GSO or GRO: 64 datagrams per sendmmsg,
    /// up to 32 per recvmmsg) or `gso` (GSO sends, GRO receives); prints what arrived and the loss.
    udp_ceiling {
        /// sendto, sendmmsg or gso.
        mode: String,
        /// Body size in bytes (each datagram adds the group "perf" and its length).
        message_size: usize,
        /// Number of datagrams.
        message_count: u64,
    },
    /// Sends COUNT raw datagrams (group "perf", one sendto each) to a udp ENDPOINT such as a
    /// libzmq DISH: the plain sender a RADIO is compared with.
    udp_raw_send {
        /// Endpoint (udp://host:port).
        connect_to: String,
        /// Body size in bytes.
        message_size: usize,
        /// Number of datagrams.
        message_count: u64,
    },
    /// Connects a RADIO and sends COUNT messages to group "perf".
    radio_thr {
        /// Endpoint to connect to (udp://...).
        connect_to: String,
        /// Body size in bytes.
        message_size: usize,
        /// Number of messages.
        message_count: u64,
    },
}

type Failure = (u8, String);

fn fail(e: impl std::fmt::Display) -> Failure {
    (exit::FAILURE, e.to_string())
}

/// With ZVTRAN_PERF_CURVE=1 the binding side is a CURVE server and the connecting side its
/// client, with the fixed test keys libzmq's perf tool here uses too (libzmq's documented
/// example pairs), so CURVE throughput compares side by side.
fn secure(s: &mut Socket, server: bool) -> Result<(), Failure> {
    const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
    if std::env::var_os("ZVTRAN_PERF_CURVE").is_none_or(|v| v != "1") {
        return Ok(());
    }
    let options: &[(&str, &str)] = if server {
        &[("CURVE_SERVER", "1"), ("CURVE_SECRETKEY", SERVER_SECRET)]
    } else {
        &[
            ("CURVE_SERVERKEY", SERVER_PUBLIC),
            ("CURVE_SECRETKEY", CLIENT_SECRET),
        ]
    };
    for (name, value) in options {
        s.set_option_by_name(name, value.as_bytes()).map_err(fail)?;
    }
    Ok(())
}

/// With ZVTRAN_PERF_TLS=DIR a tls+tcp:// binding side takes DIR/server.pem and DIR/server.key,
/// and a connecting side trusts DIR/ca.pem (scripts/bench-tls makes them).
fn tls_from_env(s: &mut Socket, endpoint: &str, server: bool) -> Result<(), Failure> {
    let Some(dir) = std::env::var_os("ZVTRAN_PERF_TLS") else {
        return Ok(());
    };
    if !endpoint.starts_with("tls+tcp://") {
        return Ok(());
    }
    let dir = std::path::PathBuf::from(dir);
    let files: &[(&str, &str)] = if server {
        &[
            ("TLS_CERT_CHAIN", "server.pem"),
            ("TLS_PRIVATE_KEY", "server.key"),
        ]
    } else {
        &[("TLS_TRUSTED_ROOTS", "ca.pem")]
    };
    for (name, file) in files {
        let pem = std::fs::read(dir.join(file)).map_err(|e| {
            fail(format!(
                "ZVTRAN_PERF_TLS: {}: {e}",
                dir.join(file).display()
            ))
        })?;
        s.set_option_by_name(name, &pem).map_err(fail)?;
    }
    Ok(())
}

/// A socket of type `t`, bound to or connected to `endpoint`.
fn open(ctx: &Context, t: SocketType, endpoint: &str, bind: bool) -> Result<Socket, Failure> {
    let mut s = ctx.socket(t).map_err(fail)?;
    secure(&mut s, bind)?;
    tls_from_env(&mut s, endpoint, bind)?;
    if bind {
        s.bind(endpoint).map_err(fail)?;
    } else {
        s.connect(endpoint).map_err(fail)?;
    }
    Ok(s)
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ctx = Context::new().map_err(fail)?;
    match args.test {
        Test::local_thr {
            bind_to,
            message_size,
            message_count,
        } => local_thr(
            &mut open(&ctx, SocketType::Pull, &bind_to, true)?,
            message_size,
            message_count,
        ),
        Test::remote_thr {
            connect_to,
            message_size,
            message_count,
        } => remote_thr(
            &mut open(&ctx, SocketType::Push, &connect_to, false)?,
            message_size,
            message_count,
        ),
        Test::local_lat {
            bind_to,
            message_size,
            roundtrip_count,
        } => local_lat(
            &mut open(&ctx, SocketType::Rep, &bind_to, true)?,
            message_size,
            roundtrip_count,
        ),
        Test::remote_lat {
            connect_to,
            message_size,
            roundtrip_count,
        } => remote_lat(
            &mut open(&ctx, SocketType::Req, &connect_to, false)?,
            message_size,
            roundtrip_count,
        ),
        Test::inproc_thr {
            message_size,
            message_count,
        } => {
            let mut pull = open(&ctx, SocketType::Pull, "inproc://thr_test", true)?;
            let mut push = open(&ctx, SocketType::Push, "inproc://thr_test", false)?;
            let sender =
                std::thread::spawn(move || remote_thr(&mut push, message_size, message_count));
            local_thr(&mut pull, message_size, message_count)?;
            sender
                .join()
                .map_err(|_| fail("the sender thread panicked"))?
        }
        Test::dish_thr {
            bind_to,
            message_size,
            message_count,
        } => {
            let mut dish = ctx.socket(SocketType::Dish).map_err(fail)?;
            hwm_from_env(&mut dish)?;
            dish.join("perf").map_err(fail)?;
            dish.bind(&bind_to).map_err(fail)?;
            dish_thr(&mut dish, message_size, message_count)
        }
        Test::udp_ceiling {
            mode,
            message_size,
            message_count,
        } => udp_ceiling(&mode, message_size, message_count),
        Test::udp_raw_send {
            connect_to,
            message_size,
            message_count,
        } => {
            let address = connect_to
                .strip_prefix("udp://")
                .ok_or_else(|| (exit::USAGE, format!("{connect_to}: not a udp:// endpoint")))?;
            let tx = std::net::UdpSocket::bind("0.0.0.0:0").map_err(fail)?;
            tx.connect(address).map_err(fail)?;
            let mut datagram = Vec::new();
            zvtran::drivers::udp::encode(b"perf", &vec![0u8; message_size], &mut datagram)
                .map_err(fail)?;
            for _ in 0..message_count {
                let _ = tx.send(&datagram);
            }
            Ok(())
        }
        Test::radio_thr {
            connect_to,
            message_size,
            message_count,
        } => {
            let mut radio = ctx.socket(SocketType::Radio).map_err(fail)?;
            hwm_from_env(&mut radio)?;
            radio.connect(&connect_to).map_err(fail)?;
            let payload = Bytes::from(vec![0u8; message_size]);
            let group = Bytes::from_static(b"perf");
            // ZVTRAN_PERF_RATE paces the sender (messages a second, in bursts of 1024, sleeping
            // between them so the pacing takes no CPU from the receiver): udp has no flow
            // control, so loss-free throughput is measured at a set rate.
            let rate: Option<f64> = std::env::var("ZVTRAN_PERF_RATE")
                .ok()
                .and_then(|r| r.parse().ok());
            let start = Instant::now();
            for i in 0..message_count {
                if let (Some(rate), 0) = (rate, i % 1024) {
                    let due = start + std::time::Duration::from_secs_f64(i as f64 / rate);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                }
                radio
                    .send(Message::from_frames([group.clone(), payload.clone()]))
                    .map_err(fail)?;
            }
            Ok(())
        }
        Test::inproc_lat {
            message_size,
            roundtrip_count,
        } => {
            let mut rep = open(&ctx, SocketType::Rep, "inproc://lat_test", true)?;
            let mut req = open(&ctx, SocketType::Req, "inproc://lat_test", false)?;
            let echo =
                std::thread::spawn(move || local_lat(&mut rep, message_size, roundtrip_count));
            remote_lat(&mut req, message_size, roundtrip_count)?;
            echo.join().map_err(|_| fail("the echo thread panicked"))?
        }
    }
}

fn check_size(msg: &Message, size: usize) -> Result<(), Failure> {
    if msg.len() != 1 || msg.byte_len() != size {
        return Err(fail(format!(
            "message of wrong size: {} bytes in {} frames",
            msg.byte_len(),
            msg.len()
        )));
    }
    Ok(())
}

fn local_thr(pull: &mut Socket, size: usize, count: u64) -> Result<(), Failure> {
    // As libzmq's local_thr: the clock starts when the first message has arrived.
    let first = pull.recv().map_err(fail)?;
    check_size(&first, size)?;
    let start = Instant::now();
    for _ in 1..count {
        let msg = pull.recv().map_err(fail)?;
        check_size(&msg, size)?;
    }
    let elapsed_us = start.elapsed().as_micros().max(1) as f64;
    let throughput = count as f64 * 1_000_000.0 / elapsed_us;
    let megabits = throughput * size as f64 * 8.0 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", throughput as u64);
    println!("mean throughput: {megabits:.3} [Mb/s]");
    Ok(())
}

fn remote_thr(push: &mut Socket, size: usize, count: u64) -> Result<(), Failure> {
    // One buffer, shared by every message (a refcount, no copy): the Rust way to send a payload
    // that already exists. libzmq's remote_thr sends uninitialised messages of the same size.
    let payload = Bytes::from(vec![0u8; size]);
    for _ in 0..count {
        push.send(Message::from(payload.clone())).map_err(fail)?;
    }
    Ok(())
}

/// ZVTRAN_PERF_HWM sets SNDHWM and RCVHWM of the udp perf sockets (0: no limit), so a
/// run can tell queue limits from the transport's own losses.
fn hwm_from_env(s: &mut Socket) -> Result<(), Failure> {
    if let Some(v) = std::env::var_os("ZVTRAN_PERF_HWM") {
        let v = v.to_string_lossy().into_owned();
        s.set_option_by_name("SNDHWM", v.as_bytes()).map_err(fail)?;
        s.set_option_by_name("RCVHWM", v.as_bytes()).map_err(fail)?;
    }
    Ok(())
}

fn udp_ceiling(mode: &str, size: usize, count: u64) -> Result<(), Failure> {
    use std::net::UdpSocket;
    use zvtran::drivers::udp::{batch, encode};
    let (gso, mmsg) = match mode {
        "gso" => (true, false),
        "sendmmsg" => (false, true),
        "sendto" => (false, false),
        other => {
            return Err((
                exit::USAGE,
                format!("mode {other:?}: sendto, sendmmsg or gso"),
            ));
        }
    };
    let rx = UdpSocket::bind("127.0.0.1:0").map_err(fail)?;
    let sock = socket2::SockRef::from(&rx);
    let _ = sock.set_recv_buffer_size(4 << 20);
    rx.set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .map_err(fail)?;
    let gro = gso && batch::enable_gro(&rx);
    let target = rx.local_addr().map_err(fail)?;
    let tx = UdpSocket::bind("127.0.0.1:0").map_err(fail)?;
    tx.connect(target).map_err(fail)?;
    let mut datagram = Vec::new();
    encode(b"perf", &vec![0u8; size], &mut datagram).map_err(fail)?;
    let sender = std::thread::spawn(move || {
        let body = vec![0u8; size];
        if gso || mmsg {
            let mut out = if gso {
                batch::Sender::new(tx)
            } else {
                batch::Sender::without_gso(tx)
            };
            for i in 0..count {
                out.push(b"perf", &body);
                if i % 64 == 63 {
                    out.flush();
                }
            }
            out.flush();
        } else {
            for _ in 0..count {
                let _ = tx.send(&datagram);
            }
        }
    });
    let mut buf = bytes::BytesMut::new();
    let mut got = 0u64;
    let mut start = None;
    let mut last = Instant::now();
    let mut many = Vec::new();
    while got < count {
        if mmsg {
            match batch::recv_many(&rx, &mut buf, true, &mut many) {
                Ok(n) => {
                    start.get_or_insert_with(Instant::now);
                    last = Instant::now();
                    got += n as u64;
                    many.clear();
                    continue;
                }
                Err(_) => break,
            }
        }
        match batch::recv(&rx, &mut buf, gro, true) {
            Ok((data, segment)) => {
                start.get_or_insert_with(Instant::now);
                last = Instant::now();
                got += segment.map_or(1, |s| data.len().div_ceil(s.max(1)) as u64);
            }
            Err(_) => break,
        }
    }
    let _ = sender.join();
    let start = start.ok_or_else(|| fail("nothing arrived"))?;
    let elapsed_us = last.duration_since(start).as_micros().max(1) as f64;
    println!("mode: {mode}{}", if gso && !gro { " (no GRO)" } else { "" });
    println!("received: {got}");
    println!(
        "loss: {:.3} [%]",
        (count - got) as f64 * 100.0 / count as f64
    );
    println!(
        "mean throughput: {} [msg/s]",
        (got as f64 * 1_000_000.0 / elapsed_us) as u64
    );
    Ok(())
}

fn dish_thr(dish: &mut Socket, size: usize, count: u64) -> Result<(), Failure> {
    let first = dish.recv().map_err(fail)?;
    let start = Instant::now();
    let mut last = start;
    let mut got = 1u64;
    let mut wrong = u64::from(first.frames().get(1).map(|b| b.len()) != Some(size));
    while got < count {
        // try_recv first: a deadline per message would cost a clock read each.
        let next = match dish.try_recv() {
            Ok(m) => Ok(m),
            Err(_) => dish.recv_timeout(std::time::Duration::from_millis(500)),
        };
        match next {
            Ok(m) => {
                got += 1;
                last = Instant::now();
                wrong += u64::from(m.frames().get(1).map(|b| b.len()) != Some(size));
            }
            Err(_) => break,
        }
    }
    if wrong > 0 {
        return Err(fail(format!("{wrong} messages of the wrong size")));
    }
    let elapsed_us = last.duration_since(start).as_micros().max(1) as f64;
    let throughput = got as f64 * 1_000_000.0 / elapsed_us;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("received: {got}");
    println!(
        "loss: {:.3} [%]",
        (count - got) as f64 * 100.0 / count as f64
    );
    println!("mean throughput: {} [msg/s]", throughput as u64);
    Ok(())
}

fn local_lat(rep: &mut Socket, size: usize, count: u64) -> Result<(), Failure> {
    for _ in 0..count {
        let msg = rep.recv().map_err(fail)?;
        check_size(&msg, size)?;
        rep.send(msg).map_err(fail)?;
    }
    Ok(())
}

fn remote_lat(req: &mut Socket, size: usize, count: u64) -> Result<(), Failure> {
    let payload = Bytes::from(vec![0u8; size]);
    let start = Instant::now();
    for _ in 0..count {
        req.send(Message::from(payload.clone())).map_err(fail)?;
        let reply = req.recv().map_err(fail)?;
        check_size(&reply, size)?;
    }
    let elapsed_us = start.elapsed().as_micros() as f64;
    let latency = elapsed_us / (count as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    println!("average latency: {latency:.3} [us]");
    Ok(())
}
