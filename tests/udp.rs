//! The udp transport between zvtran sockets: RADIO to DISH with group filtering, size limits,
//! hostile datagrams, multicast, and the types it refuses.

mod support;

use std::net::UdpSocket;
use std::time::Duration;

use bytes::Bytes;
use support::wait_event;
use zvtran::{Context, EventKind, Message, RecvError, SendError, SocketOption, SocketType};

const WAIT: Duration = Duration::from_secs(5);

/// A DISH bound on loopback with an ephemeral port, joined to `groups`.
fn dish(ctx: &Context, groups: &[&str]) -> (zvtran::Socket, String) {
    let mut dish = ctx.socket(SocketType::Dish).unwrap();
    for g in groups {
        dish.join(g).unwrap();
    }
    let endpoint = dish.bind("udp://127.0.0.1:0").unwrap();
    assert!(!endpoint.ends_with(":0"), "{endpoint}");
    (dish, endpoint)
}

/// Sends until the DISH has something (its thread may still be starting), then checks what
/// arrives next.
fn first(radio: &mut zvtran::Socket, dish: &mut zvtran::Socket, group: &str) -> Message {
    for _ in 0..100 {
        radio
            .send(Message::from_frames([
                group.to_string(),
                "probe".to_string(),
            ]))
            .unwrap();
        if let Ok(m) = dish.recv_timeout(Duration::from_millis(50)) {
            return m;
        }
    }
    panic!("nothing reached the DISH");
}

#[test]
fn radio_to_dish_filters_by_joined_group() {
    let ctx = Context::new().unwrap();
    let (mut dish, endpoint) = dish(&ctx, &["weather"]);
    let mut radio = ctx.socket(SocketType::Radio).unwrap();
    radio.connect(&endpoint).unwrap();
    let m = first(&mut radio, &mut dish, "weather");
    assert_eq!(m.frames()[0], "weather");
    // Drain the probes, then a mix where only one group was joined.
    while dish.recv_timeout(Duration::from_millis(100)).is_ok() {}
    for i in 0..200 {
        let group = if i % 2 == 0 { "weather" } else { "news" };
        radio
            .send(Message::from_frames([group.to_string(), i.to_string()]))
            .unwrap();
        if i % 20 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let mut got = Vec::new();
    while let Ok(m) = dish.recv_timeout(Duration::from_millis(300)) {
        assert_eq!(m.frames()[0], "weather", "{m:?}");
        got.push(String::from_utf8(m.frames()[1].to_vec()).unwrap());
    }
    let want: Vec<String> = (0..200).step_by(2).map(|i: i32| i.to_string()).collect();
    assert_eq!(
        got, want,
        "loopback must not lose or reorder this little traffic"
    );

    // Leaving stops delivery; joining another group starts it.
    dish.leave("weather").unwrap();
    dish.join("news").unwrap();
    radio.send(Message::from_frames(["weather", "no"])).unwrap();
    radio.send(Message::from_frames(["news", "yes"])).unwrap();
    let m = dish.recv_timeout(WAIT).unwrap();
    assert_eq!(m, Message::from_frames(["news", "yes"]));
}

#[test]
fn a_message_larger_than_a_datagram_is_an_error_for_the_caller() {
    let ctx = Context::new().unwrap();
    let (mut dish, endpoint) = dish(&ctx, &["g"]);
    let mut radio = ctx.socket(SocketType::Radio).unwrap();
    radio.connect(&endpoint).unwrap();
    first(&mut radio, &mut dish, "g");
    // 1 + 1 + 8190 = 8192 fits; one more octet does not.
    let fits = vec![b'x'; 8190];
    radio
        .send(Message::from_frames([
            Bytes::from_static(b"g"),
            Bytes::from(fits),
        ]))
        .unwrap();
    let too_big = vec![b'x'; 8191];
    match radio.send(Message::from_frames([
        Bytes::from_static(b"g"),
        Bytes::from(too_big),
    ])) {
        Err(SendError::TooLarge { max, .. }) => assert_eq!(max, 8191),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let mut sizes = Vec::new();
    while let Ok(m) = dish.recv_timeout(Duration::from_millis(300)) {
        sizes.push(m.frames()[1].len());
    }
    assert_eq!(sizes.last(), Some(&8190), "{sizes:?}");
}

#[test]
fn hostile_datagrams_are_counted_and_dropped() {
    let ctx = Context::new().unwrap();
    let (mut dish, endpoint) = dish(&ctx, &["g"]);
    let events = dish.monitor();
    let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let raw = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = ("127.0.0.1", port);
    raw.send_to(b"", target).unwrap();
    raw.send_to(b"\x09short", target).unwrap();
    raw.send_to(&vec![0u8; 9000], target).unwrap();
    raw.send_to(b"\x01gfine", target).unwrap();
    assert_eq!(
        dish.recv_timeout(WAIT).unwrap(),
        Message::from_frames(["g", "fine"])
    );
    wait_event(
        &events,
        "drop report",
        |k| matches!(k, EventKind::DatagramsDropped { malformed, .. } if *malformed >= 2),
    );
}

#[test]
fn multicast_on_loopback() {
    let ctx = Context::new().unwrap();
    // A group on the loopback interface: works without any network.
    let endpoint = "udp://127.0.0.1;239.193.7.9:47991";
    let mut dish = ctx.socket(SocketType::Dish).unwrap();
    dish.join("m").unwrap();
    dish.bind(endpoint).unwrap();
    let mut radio = ctx.socket(SocketType::Radio).unwrap();
    radio.set_option(SocketOption::MulticastHops(1)).unwrap();
    radio.connect(endpoint).unwrap();
    let m = first(&mut radio, &mut dish, "m");
    assert_eq!(m.frames()[0], "m");
}

#[test]
fn udp_refuses_other_socket_types_and_directions() {
    let ctx = Context::new().unwrap();
    // The transport's capabilities (lossy, one way, no ZMTP) refuse what cannot work...
    let mut push = ctx.socket(SocketType::Push).unwrap();
    let err = push.connect("udp://127.0.0.1:5999").unwrap_err();
    assert!(
        err.to_string()
            .contains("may lose and reorder messages, and a PUSH socket promises delivery"),
        "{err}"
    );
    let mut radio = ctx.socket(SocketType::Radio).unwrap();
    let err = radio.bind("udp://127.0.0.1:0").unwrap_err();
    assert!(
        err.to_string().contains("sends: connect it instead"),
        "{err}"
    );
    let mut dish = ctx.socket(SocketType::Dish).unwrap();
    let err = dish.connect("udp://127.0.0.1:5999").unwrap_err();
    assert!(
        err.to_string().contains("receives: bind it instead"),
        "{err}"
    );
    let mut secured = ctx.socket(SocketType::Radio).unwrap();
    secured
        .set_option(SocketOption::CurveServerKey(
            zvtran::KeyPair::generate().public,
        ))
        .unwrap();
    let err = secured.connect("udp://127.0.0.1:5999").unwrap_err();
    assert!(
        err.to_string().contains("PLAIN or CURVE cannot secure it"),
        "{err}"
    );
    // ...and the driver its wire format: a PUB passes the capabilities but not the format.
    let mut publisher = ctx.socket(SocketType::Pub).unwrap();
    let err = publisher.connect("udp://127.0.0.1:5999").unwrap_err();
    assert!(err.to_string().contains("RADIO and DISH"), "{err}");
    let mut dish = ctx.socket(SocketType::Dish).unwrap();
    assert!(dish.bind("udp://127.0.0.1").is_err());
    assert!(dish.set_option_by_name("MULTICAST_HOPS", b"0").is_err());
    assert_eq!(
        dish.recv_timeout(Duration::from_millis(10)),
        Err(RecvError::WouldBlock)
    );
}

/// The udp example in README.md.
#[test]
fn readme_udp_example() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let mut dish = ctx.socket(SocketType::Dish)?;
    dish.join("weather")?;
    let endpoint = dish.bind("udp://127.0.0.1:0")?;
    let mut radio = ctx.socket(SocketType::Radio)?;
    radio.connect(&endpoint)?;
    radio.send(Message::from_frames(["weather", "sunny"]))?;
    assert_eq!(
        dish.recv_timeout(WAIT)?,
        Message::from_frames(["weather", "sunny"])
    );
    Ok(())
}

#[test]
fn a_radio_closed_right_after_sending_delivers_its_tail() {
    let ctx = Context::new().unwrap();
    // No queue limit at the DISH (its pipe takes the HWM when it binds): only the sending
    // side can lose here.
    let mut dish = ctx.socket(SocketType::Dish).unwrap();
    dish.set_option(SocketOption::RcvHwm(0)).unwrap();
    dish.join("tail").unwrap();
    let endpoint = dish.bind("udp://127.0.0.1:0").unwrap();
    for round in 0..20 {
        let mut radio = ctx.socket(SocketType::Radio).unwrap();
        radio.set_option(SocketOption::SndHwm(0)).unwrap();
        radio.connect(&endpoint).unwrap();
        if round == 0 {
            let _ = first(&mut radio, &mut dish, "tail");
            while dish.recv_timeout(Duration::from_millis(100)).is_ok() {}
        }
        for i in 0..2000u32 {
            radio
                .send(Message::from_frames([
                    Bytes::from_static(b"tail"),
                    Bytes::copy_from_slice(&i.to_be_bytes()),
                ]))
                .unwrap();
        }
        // Closed at once: what it queued still goes out.
        drop(radio);
        for i in 0..2000u32 {
            let m = dish
                .recv_timeout(WAIT)
                .unwrap_or_else(|e| panic!("round {round}: message {i} of 2000 missing ({e})"));
            assert_eq!(&m.frames()[1][..], &i.to_be_bytes(), "round {round}");
        }
    }
}

#[test]
fn ipv6_unicast() {
    let ctx = Context::new().unwrap();
    let mut dish = ctx.socket(SocketType::Dish).unwrap();
    dish.join("v6").unwrap();
    let endpoint = dish.bind("udp://[::1]:0").unwrap();
    assert!(endpoint.starts_with("udp://[::1]:"), "{endpoint}");
    let mut radio = ctx.socket(SocketType::Radio).unwrap();
    radio.connect(&endpoint).unwrap();
    let _ = first(&mut radio, &mut dish, "v6");
    for i in 0..100u32 {
        radio
            .send(Message::from_frames([
                Bytes::from_static(b"v6"),
                Bytes::copy_from_slice(&i.to_be_bytes()),
            ]))
            .unwrap();
    }
    for i in 0..100u32 {
        let m = dish.recv_timeout(WAIT).unwrap();
        assert_eq!(&m.frames()[1][..], &i.to_be_bytes());
    }
}

#[test]
fn ipv6_link_local_multicast_on_a_named_interface() {
    let iface = if_addrs::get_if_addrs()
        .unwrap()
        .into_iter()
        .find(|i| !i.is_loopback() && i.ip().is_ipv6())
        .map(|i| i.name)
        .expect("this test needs a non-loopback interface with an IPv6 address");
    let port = support::free_udp_port();
    let endpoint = format!("udp://{iface};[ff02::7a76]:{port}");
    let ctx = Context::new().unwrap();
    // Two DISHes on one group and port: both hear every message (multicast loops back).
    let mut dishes: Vec<_> = (0..2)
        .map(|_| {
            let mut d = ctx.socket(SocketType::Dish).unwrap();
            d.join("m6").unwrap();
            d.bind(&endpoint).unwrap();
            d
        })
        .collect();
    let mut radio = ctx.socket(SocketType::Radio).unwrap();
    radio.set_option(SocketOption::MulticastHops(1)).unwrap();
    radio.connect(&endpoint).unwrap();
    for d in &mut dishes {
        let m = first(&mut radio, d, "m6");
        assert_eq!(m.frames()[0], "m6");
    }
    for d in &mut dishes {
        while d.recv_timeout(Duration::from_millis(100)).is_ok() {}
    }
    radio.send(Message::from_frames(["m6", "to both"])).unwrap();
    for d in &mut dishes {
        assert_eq!(d.recv_timeout(WAIT).unwrap().frames()[1], "to both");
    }
}
