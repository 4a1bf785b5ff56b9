//! A real browser as a ZeroMQ peer: headless Chromium (Debian's `chromium`, installed by
//! scripts/system-deps) loads `tests/browser/zws.html`, which speaks ZWS 2.0 over the browser's
//! own WebSocket: it subscribes to a zvtran PUB and receives from it, and sends to a zvtran PULL.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zvtran::{Context, Message, SocketType};

struct Browser {
    child: Child,
    profile: PathBuf,
}

impl Browser {
    fn open(url: &str) -> Browser {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("this test needs Chromium: run scripts/system-deps (Debian's chromium)");
        let profile = std::env::temp_dir().join(format!("zvtran-chromium-{}", std::process::id()));
        let child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Chromium");
        Browser { child, profile }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[test]
fn chromium_subscribes_to_a_pub_and_sends_to_a_pull_over_zws() {
    let ctx = Context::new().unwrap();
    let mut publisher = ctx.socket(SocketType::Pub).unwrap();
    let pub_endpoint = publisher.bind("ws://127.0.0.1:*/pub").unwrap();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let pull_endpoint = pull.bind("ws://127.0.0.1:*/in").unwrap();
    let page = support::root().join("tests/browser/zws.html");
    let url = format!(
        "file://{}?pub={pub_endpoint}&pull={pull_endpoint}",
        page.display()
    );
    let _browser = Browser::open(&url);

    // Publish until the page has what it waits for: news (which it subscribed to) and sports
    // (which it did not), numbered.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0u32;
    let mut received = Vec::new();
    while received
        .last()
        .is_none_or(|m: &Message| m != &Message::from("done"))
    {
        assert!(
            Instant::now() < deadline,
            "the page did not finish; it sent {received:?}"
        );
        publisher
            .send(Message::from(format!("sports {n}")))
            .unwrap();
        publisher.send(Message::from(format!("news {n}"))).unwrap();
        n += 1;
        while let Ok(m) = pull.recv_timeout(Duration::from_millis(50)) {
            received.push(m);
        }
    }
    assert_eq!(received.len(), 5, "{received:?}");
    let mut last = None;
    for m in &received[..3] {
        let text = String::from_utf8(m.frames()[0].to_vec()).unwrap();
        let number: u32 = text
            .strip_prefix("got news ")
            .unwrap_or_else(|| panic!("only news reaches the page: {text}"))
            .parse()
            .unwrap();
        assert!(
            last.is_none_or(|l| number == l + 1),
            "in order: {received:?}"
        );
        last = Some(number);
    }
    assert_eq!(received[3], Message::from_frames(["from", "chromium"]));
}
