//! LINGER delivers: a PUSH that closes right after its last send loses nothing (tcp and ipc).
//! libzmq 4.3 loses some of these on ipc (libzmq issue #4660); zvtran must not.

mod support;

use support::PySocket;
use zvtran::{Context, Message, SocketType};

const COUNT: usize = 250_000;

fn closes_after_last_send(endpoint: &str) {
    let mut pull = PySocket::new("PULL");
    let bound = pull.bind(endpoint);
    pull.begin(&format!("recvseq {COUNT}"));
    {
        let ctx = Context::new().unwrap();
        let mut push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&bound).unwrap();
        for i in 0..COUNT {
            push.send(Message::from(i.to_string())).unwrap();
        }
        // Socket and context are dropped here, right after the last send: the default LINGER
        // (-1) keeps the I/O thread sending until everything is written.
    }
    assert_eq!(pull.end(), "SEQ OK", "{endpoint}");
}

#[test]
fn linger_delivers_everything_over_tcp() {
    closes_after_last_send("tcp://127.0.0.1:*");
}

#[test]
fn linger_delivers_everything_over_ipc() {
    let path = std::env::temp_dir().join(format!("zvtran-linger-{}.sock", std::process::id()));
    closes_after_last_send(&format!("ipc://{}", path.display()));
}
