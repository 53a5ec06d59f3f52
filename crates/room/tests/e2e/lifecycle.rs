//! Starting, refusing to start, and stopping on signals.

use std::net::TcpListener;
use std::process::Command;

use tungstenite::protocol::frame::coding::CloseCode;

use crate::support::{PATIENCE, Room};

fn stops_cleanly_on(signal: &str) {
    let mut room = Room::start(&[]);
    let mut feed = room.feed("lobby", "");
    room.process().signal(signal);
    let close = feed.until_close().1.map(|frame| frame.code);
    assert_eq!(
        close,
        Some(CloseCode::Away),
        "open feeds are told the server is going away"
    );
    assert_eq!(room.process().wait_timeout(PATIENCE), Some(0));
}

#[test]
fn sigterm_closes_feeds_and_exits_0() {
    stops_cleanly_on("TERM");
}

#[test]
fn sigint_closes_feeds_and_exits_0() {
    stops_cleanly_on("INT");
}

#[test]
fn bad_settings_fail_with_a_message() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = listener.local_addr().unwrap().to_string();
    let cases: [(&[&str], &str); 3] = [
        (&["--listen", &taken], "cannot listen"),
        (&["--listen", "127.0.0.1:0", "--rate", "0"], "--rate"),
        (&["--listen", "127.0.0.1:0", "--burst", "0"], "--burst"),
    ];
    for (args, complaint) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_livestream-room"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(complaint), "{args:?}: {stderr}");
    }
}
