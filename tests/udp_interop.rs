//! The udp transport against libzmq's own (draft) RADIO and DISH, both ways, unicast and
//! multicast, with group filtering. The libzmq side is `tests/udp-peer`, built by
//! `./scripts/test` from libzmq 4.3.5's source with the draft API.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use zvtran::{Context, Message, SocketType};

const WAIT: Duration = Duration::from_secs(10);

/// zvtran RADIO -> libzmq DISH: only the joined group arrives, in order.
fn zvtran_to_libzmq(endpoint: &str) {
    let mut dish = Command::new(support::libzmq_draft_peer())
        .args(["dish", endpoint, "weather", "1000", "3000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(dish.stdout.take().unwrap());
    let (tx, lines) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    assert_eq!(lines.recv_timeout(WAIT).unwrap(), "READY");
    let ctx = Context::new().unwrap();
    let mut radio = ctx.socket(SocketType::Radio).unwrap();
    radio.connect(endpoint).unwrap();
    // libzmq binds (and joins a multicast group) on its I/O thread after zmq_bind returns:
    // probe until its DISH hears one.
    let mut ready = false;
    for _ in 0..100 {
        radio
            .send(Message::from_frames(["weather", "probe"]))
            .unwrap();
        if lines.recv_timeout(Duration::from_millis(50)).is_ok() {
            ready = true;
            break;
        }
    }
    assert!(ready, "the libzmq DISH at {endpoint} never heard a probe");
    for i in 0..20 {
        for group in ["news", "weather"] {
            radio
                .send(Message::from_frames([
                    group.to_string(),
                    format!("{group}-{i}"),
                ]))
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut got = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(1500)) {
        if line != "weather\tprobe" {
            got.push(line);
        }
    }
    let _ = dish.kill();
    let _ = dish.wait();
    let want: Vec<String> = (0..20).map(|i| format!("weather\tweather-{i}")).collect();
    assert_eq!(got, want, "{endpoint}");
}

/// libzmq RADIO -> zvtran DISH: only the joined group arrives, in order.
fn libzmq_to_zvtran(endpoint: &str) {
    let ctx = Context::new().unwrap();
    let mut dish = ctx.socket(SocketType::Dish).unwrap();
    dish.join("g").unwrap();
    dish.bind(endpoint).unwrap();
    let status = Command::new(support::libzmq_draft_peer())
        .args(["radio", endpoint, "20", "other", "g"])
        .status()
        .unwrap();
    assert!(status.success());
    let mut got = Vec::new();
    while let Ok(m) = dish.recv_timeout(Duration::from_millis(500)) {
        got.push(m);
    }
    let want: Vec<Message> = (0..20)
        .map(|i| Message::from_frames(["g".to_string(), format!("body-{i}")]))
        .collect();
    assert_eq!(got, want, "{endpoint}");
}

#[test]
fn unicast_zvtran_radio_to_libzmq_dish() {
    zvtran_to_libzmq("udp://127.0.0.1:47811");
}

#[test]
fn unicast_libzmq_radio_to_zvtran_dish() {
    libzmq_to_zvtran("udp://127.0.0.1:47812");
}

#[test]
fn multicast_zvtran_radio_to_libzmq_dish() {
    zvtran_to_libzmq("udp://127.0.0.1;239.193.7.21:47813");
}

#[test]
fn multicast_libzmq_radio_to_zvtran_dish() {
    libzmq_to_zvtran("udp://127.0.0.1;239.193.7.22:47814");
}
