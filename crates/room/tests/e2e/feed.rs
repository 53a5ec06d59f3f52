//! The WebSocket feed: replay, live events, resuming, and posting over it.

use livestream_interaction::AudienceEventKind;
use livestream_interaction::room_api::FeedFrame;
use nix::sys::socket::setsockopt;
use nix::sys::socket::sockopt::RcvBuf;
use serde_json::json;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::{Bytes, Message};

use crate::support::{Room, UNLIMITED, chat_text};

fn chat(user: &str, text: &str) -> serde_json::Value {
    json!({"type": "chat", "user": user, "text": text})
}

#[test]
fn replays_history_then_streams_live_events_in_order() {
    let room = Room::start(&UNLIMITED);
    let before: Vec<String> = (0..3)
        .map(|n| room.post_ok("lobby", chat("Ann", &format!("before {n}"))))
        .collect();
    let mut feed = room.feed("lobby", "");
    let replayed: Vec<String> = (0..3).map(|_| feed.event().id).collect();
    assert_eq!(replayed, before);

    let live: Vec<String> = (0..5)
        .map(|n| room.post_ok("lobby", chat("Bob", &format!("live {n}"))))
        .collect();
    for (n, id) in live.iter().enumerate() {
        let event = feed.event();
        assert_eq!(&event.id, id);
        assert_eq!(chat_text(&event), format!("live {n}"));
    }
    // Other rooms' events do not leak in.
    room.post_ok("elsewhere", chat("Eve", "not for lobby"));
    let last = room.post_ok("lobby", chat("Ann", "last"));
    assert_eq!(feed.event().id, last);
}

#[test]
fn resuming_gets_only_later_events() {
    let room = Room::start(&UNLIMITED);
    let ids: Vec<String> = ["one", "two", "three"]
        .iter()
        .map(|text| room.post_ok("lobby", chat("Ann", text)))
        .collect();
    let mut resumed = room.feed("lobby", &format!("?after={}", ids[1]));
    assert_eq!(resumed.event().id, ids[2]);
    let next = room.post_ok("lobby", chat("Ann", "four"));
    assert_eq!(resumed.event().id, next);

    // An id the server does not know (say, from before a restart) replays everything.
    let mut fresh = room.feed("lobby", "?after=0-0");
    let all: Vec<String> = (0..4).map(|_| fresh.event().id).collect();
    assert_eq!(all, [&ids[..], &[next]].concat());
}

#[test]
fn posts_over_the_socket_and_refusals_that_keep_it_open() {
    let room = Room::start(&UNLIMITED);
    let mut feed = room.feed("lobby", "");
    feed.send(chat("Ann", "over the socket").to_string());
    let first = feed.event();
    assert_eq!(chat_text(&first), "over the socket");
    assert_eq!(first.user.id, "room:ann");

    feed.send("{not json");
    assert!(feed.error().contains("malformed"));
    let oversize = chat("Ann", &"x".repeat(10_000)).to_string();
    feed.send(oversize);
    assert!(feed.error().contains("4096"));
    feed.0
        .send(Message::Binary(Bytes::from_static(b"\x01\x02")))
        .unwrap();
    assert!(feed.error().contains("binary"));
    feed.send(json!({"type": "gift", "user": "Ann", "gift": "yacht"}).to_string());
    assert!(feed.error().contains("yacht"));

    feed.send(json!({"type": "gift", "user": "Ann", "gift": "star", "count": 2}).to_string());
    let gift = feed.event();
    assert!(
        matches!(gift.kind, AudienceEventKind::Gift { count: 2, .. }),
        "{gift:?}"
    );
    let stored: Vec<String> = room
        .events("lobby")
        .into_iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(stored, [first.id, gift.id]);
}

#[test]
fn socket_posts_are_rate_limited_too() {
    let room = Room::start(&["--rate", "0.01", "--burst", "1"]);
    let mut feed = room.feed("lobby", "");
    feed.send(chat("Ann", "first").to_string());
    assert_eq!(chat_text(&feed.event()), "first");
    feed.send(chat("Ann", "second").to_string());
    assert!(feed.error().contains("too many posts"));
    assert_eq!(room.events("lobby").len(), 1);
}

#[test]
fn invalid_utf8_gets_an_error_then_a_protocol_close() {
    let room = Room::start(&UNLIMITED);
    let mut feed = room.feed("lobby", "");
    let broken = Frame::message(
        Bytes::from_static(b"{\"type\":\xff}"),
        OpCode::Data(Data::Text),
        true,
    );
    feed.0.send(Message::Frame(broken)).unwrap();
    assert!(feed.error().contains("unreadable"));
    let (_, close) = feed.until_close();
    assert_eq!(
        close.map(|CloseFrame { code, .. }| code),
        Some(CloseCode::Protocol)
    );
}

#[test]
fn bad_room_names_are_not_found() {
    let room = Room::start(&UNLIMITED);
    let error = tungstenite::connect(room.ws_url("/rooms/no%20such/ws")).unwrap_err();
    match error {
        tungstenite::Error::Http(response) => assert_eq!(response.status(), 404),
        other => panic!("expected a 404, got {other}"),
    }
}

#[test]
fn a_feed_that_falls_behind_is_closed_and_resumes_without_gaps() {
    // Enough 500-character chats to overflow the server's largest socket
    // send buffer (tcp_wmem) plus the feed's queue, while the client reads nothing.
    let send_buffer_max: usize = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|sizes| sizes.split_whitespace().last()?.parse().ok())
        .unwrap_or(4 << 20);
    let total = send_buffer_max / 500 + 2000;
    let room = Room::start(&[
        "--rate",
        "1000000",
        "--burst",
        "1000000",
        "--history",
        &total.to_string(),
    ]);
    let mut slow = room.feed("lobby", "");
    // A fixed receive buffer keeps the kernel from growing it for the idle reader.
    setsockopt(slow.0.get_ref(), RcvBuf, &(64 << 10)).unwrap();
    let text = "x".repeat(500);
    // Quickly: the feed is blocked on its full socket meanwhile, and gives
    // up on a client that takes nothing for 30 s before it can fall behind.
    let posted = room.post_all("lobby", (0..total).map(|_| chat("Ann", &text)));

    let (frames, close) = slow.until_close();
    assert_eq!(close.map(|frame| frame.code), Some(CloseCode::Again));
    let seen: Vec<String> = frames
        .into_iter()
        .map(|frame| match frame {
            FeedFrame::Event(event) => event.id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert!(
        !seen.is_empty() && seen.len() < total,
        "{} of {total}",
        seen.len()
    );
    assert_eq!(seen, posted[..seen.len()]);
    assert!(room.log().contains("feed fell behind"));

    let mut resumed = room.feed("lobby", &format!("?after={}", seen[seen.len() - 1]));
    for id in &posted[seen.len()..] {
        assert_eq!(&resumed.event().id, id);
    }
}
