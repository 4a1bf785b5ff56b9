//! The draft types (CLIENT/SERVER, RADIO/DISH, SCATTER/GATHER, PEER, CHANNEL) and nng's
//! SURVEYOR/RESPONDENT and BUS, built from the same parts as the classic types.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use support::eventually;
use zvtran::patterns::preset;
use zvtran::{Context, Message, RecvError, SendError, SocketOption, SocketType};

const WAIT: Duration = Duration::from_secs(5);

fn endpoints(name: &str) -> [String; 2] {
    [format!("inproc://{name}"), "tcp://127.0.0.1:*".to_string()]
}

#[test]
fn client_server_single_part_request_reply() {
    let ctx = Context::new().unwrap();
    for ep in endpoints("client-server") {
        let mut server = ctx.socket(SocketType::Server).unwrap();
        let bound = server.bind(&ep).unwrap();
        let mut client = ctx.socket(SocketType::Client).unwrap();
        client.connect(&bound).unwrap();
        client.send(Message::from("hello")).unwrap();
        let got = server.recv_timeout(WAIT).unwrap();
        assert_eq!(got.len(), 2, "{ep}: routing id then body");
        let id = got.first().unwrap().clone();
        assert_eq!(id.len(), 4);
        assert_eq!(got.frames()[1], "hello");
        server
            .send(Message::from_frames([id, Bytes::from_static(b"world")]))
            .unwrap();
        assert_eq!(
            client.recv_timeout(WAIT).unwrap(),
            Message::from("world"),
            "{ep}"
        );
        assert!(matches!(
            client.send(Message::from_frames(["a", "b"])),
            Err(SendError::Multipart(_))
        ));
    }
}

#[test]
fn radio_dish_with_join_and_leave() {
    let ctx = Context::new().unwrap();
    for ep in endpoints("radio-dish") {
        let mut radio = ctx.socket(SocketType::Radio).unwrap();
        let bound = radio.bind(&ep).unwrap();
        let mut dish = ctx.socket(SocketType::Dish).unwrap();
        dish.join("weather").unwrap();
        dish.connect(&bound).unwrap();
        // The JOIN has to reach the radio (a JOIN command over tcp).
        eventually("the join", || {
            radio
                .send(Message::from_frames(["weather", "probe"]))
                .unwrap();
            dish.recv_timeout(Duration::from_millis(20)).is_ok()
        });
        while dish.recv_timeout(Duration::from_millis(50)).is_ok() {}
        radio.send(Message::from_frames(["sports", "1-0"])).unwrap();
        radio
            .send(Message::from_frames(["weather", "rain"]))
            .unwrap();
        radio
            .send(Message::from_frames(["weather-eu", "sun"]))
            .unwrap();
        assert_eq!(
            dish.recv_timeout(WAIT).unwrap(),
            Message::from_frames(["weather", "rain"]),
            "{ep}: only the joined group, matched exactly"
        );
        assert_eq!(
            dish.recv_timeout(Duration::from_millis(200)),
            Err(RecvError::WouldBlock)
        );
        dish.leave("weather").unwrap();
        eventually("the leave", || {
            radio
                .send(Message::from_frames(["weather", "more"]))
                .unwrap();
            dish.recv_timeout(Duration::from_millis(20)).is_err()
        });
        assert!(
            dish.join(vec![b'g'; 256]).is_err(),
            "groups are at most 255 octets"
        );
    }
}

#[test]
fn scatter_gather_round_robin() {
    let ctx = Context::new().unwrap();
    let mut scatter = ctx.socket(SocketType::Scatter).unwrap();
    let ep = scatter.bind("tcp://127.0.0.1:*").unwrap();
    let mut gathers: Vec<_> = (0..2)
        .map(|_| {
            let mut g = ctx.socket(SocketType::Gather).unwrap();
            g.connect(&ep).unwrap();
            g
        })
        .collect();
    eventually("two peers", || scatter.ready_peer_count() == 2);
    for i in 0..4 {
        scatter.send(Message::from(format!("{i}"))).unwrap();
    }
    for g in &mut gathers {
        let a = g.recv_timeout(WAIT).unwrap();
        let b = g.recv_timeout(WAIT).unwrap();
        let (a, b): (u32, u32) = (
            std::str::from_utf8(a.first().unwrap())
                .unwrap()
                .parse()
                .unwrap(),
            std::str::from_utf8(b.first().unwrap())
                .unwrap()
                .parse()
                .unwrap(),
        );
        assert_eq!(b, a + 2, "round-robin");
    }
}

#[test]
fn peers_learn_each_others_ids() {
    let ctx = Context::new().unwrap();
    for ep in endpoints("peer") {
        let mut a = ctx.socket(SocketType::Peer).unwrap();
        let bound = a.bind(&ep).unwrap();
        let mut b = ctx.socket(SocketType::Peer).unwrap();
        let a_id = b.connect_peer(&bound).unwrap();
        assert_eq!(a_id.len(), 4);
        b.send(Message::from_frames([
            a_id.clone(),
            Bytes::from_static(b"hi a"),
        ]))
        .unwrap();
        let got = a.recv_timeout(WAIT).unwrap();
        let b_id = got.first().unwrap().clone();
        assert_eq!(got.frames()[1], "hi a", "{ep}");
        a.send(Message::from_frames([b_id, Bytes::from_static(b"hi b")]))
            .unwrap();
        assert_eq!(
            b.recv_timeout(WAIT).unwrap(),
            Message::from_frames([a_id, Bytes::from_static(b"hi b")])
        );
    }
    let mut dealer = ctx.socket(SocketType::Dealer).unwrap();
    assert!(dealer.connect_peer("inproc://peer-x").is_err());
}

#[test]
fn channel_is_a_single_part_pair() {
    let ctx = Context::new().unwrap();
    let mut a = ctx.socket(SocketType::Channel).unwrap();
    a.bind("inproc://channel").unwrap();
    let mut b = ctx.socket(SocketType::Channel).unwrap();
    b.connect("inproc://channel").unwrap();
    b.send(Message::from("ping")).unwrap();
    assert_eq!(a.recv_timeout(WAIT).unwrap(), Message::from("ping"));
    assert!(matches!(
        a.send(Message::from_frames(["x", "y"])),
        Err(SendError::Multipart(_))
    ));
}

#[test]
fn surveyor_collects_replies_until_the_deadline() {
    let ctx = Context::new().unwrap();
    let mut surveyor = ctx.socket_with(preset::surveyor());
    surveyor
        .set_option(SocketOption::SurveyTime(Duration::from_millis(300)))
        .unwrap();
    let ep = surveyor.bind("tcp://127.0.0.1:*").unwrap();
    assert_eq!(
        surveyor.try_recv(),
        Err(RecvError::WrongState),
        "no survey yet"
    );
    let respondents: Vec<_> = (0..3)
        .map(|i| {
            let mut r = ctx.socket_with(preset::respondent());
            r.connect(&ep).unwrap();
            std::thread::spawn(move || {
                let q = r.recv_timeout(WAIT).unwrap();
                assert_eq!(q, Message::from("who is there?"));
                // The last respondent answers after the deadline: its reply must not count.
                if i == 2 {
                    std::thread::sleep(Duration::from_millis(500));
                }
                r.send(Message::from(format!("respondent {i}"))).unwrap();
                std::thread::sleep(Duration::from_millis(300));
            })
        })
        .collect();
    eventually("three respondents", || surveyor.ready_peer_count() == 3);
    let start = Instant::now();
    surveyor.send(Message::from("who is there?")).unwrap();
    let mut replies = Vec::new();
    while let Ok(m) = surveyor.recv_timeout(WAIT) {
        replies.push(String::from_utf8(m.first().unwrap().to_vec()).unwrap());
    }
    let took = start.elapsed();
    replies.sort();
    assert_eq!(replies, ["respondent 0", "respondent 1"]);
    assert!(
        took >= Duration::from_millis(280) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(
        surveyor.try_recv(),
        Err(RecvError::WrongState),
        "the survey is closed"
    );
    for r in respondents {
        r.join().unwrap();
    }
}

#[test]
fn bus_reaches_every_peer() {
    let ctx = Context::new().unwrap();
    let mut hub = ctx.socket_with(preset::bus());
    hub.bind("inproc://bus").unwrap();
    let mut spokes: Vec<_> = (0..2)
        .map(|_| {
            let mut s = ctx.socket_with(preset::bus());
            s.connect("inproc://bus").unwrap();
            s
        })
        .collect();
    eventually("two peers", || hub.peer_count() == 2);
    hub.send(Message::from("to all")).unwrap();
    for s in &mut spokes {
        assert_eq!(s.recv_timeout(WAIT).unwrap(), Message::from("to all"));
    }
    spokes[1].send(Message::from("from a spoke")).unwrap();
    assert_eq!(
        hub.recv_timeout(WAIT).unwrap(),
        Message::from("from a spoke")
    );
}
