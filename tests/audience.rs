//! Audience events from a real `livestream-room` reach both demo games —
//! the hidden one too — exactly once, in order; a game started later gets
//! the stored backlog first, then new events.

use std::path::Path;
use std::time::Duration;

use livestream_e2e::{Host, binary, demo_game};
use livestream_testkit::{RoomServer, post_json, wait_for};

/// The audience events a demo game logged: (id, from the backlog), in order.
fn received(log: &Path) -> Vec<(String, bool)> {
    let text = strip_ansi(&std::fs::read_to_string(log).unwrap_or_default());
    text.lines()
        .filter(|line| line.contains("audience event"))
        .filter_map(|line| {
            let field = |name: &str| {
                let rest = &line[line.find(&format!("{name}="))? + name.len() + 1..];
                Some(rest.split_whitespace().next()?.to_owned())
            };
            Some((field("id")?, field("backlog")? == "true"))
        })
        .collect()
}

/// The text without terminal colour codes (Bevy's log colours even files).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters final-letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn room_events_reach_every_game_once_and_late_games_get_the_backlog_first() {
    let dir = tempfile::tempdir().unwrap();
    let room = RoomServer::start(&binary("livestream-room"), &[]);
    let (host, _recording) =
        Host::recording(dir.path(), "none", &["--interaction", &room.source("e2e")]);
    let args = ["--headless", "--size", "320x180", "--fps", "15"];
    let _dodge = demo_game(dir.path(), &host, "dodge", "dodge", &args);
    let _snake = demo_game(dir.path(), &host, "snake", "snake", &args);
    host.wait_games(2);
    host.ctl(&["go-live"]);
    host.ctl(&["show", "dodge"]);

    let post = |body: &str| {
        let (status, answer) = post_json(&room.http("/rooms/e2e/post"), body, None);
        assert_eq!(status, 200, "{answer}");
        answer["id"].as_str().expect("the room's id").to_owned()
    };
    let mut ids = vec![
        post(r#"{"type":"chat","user":"ann","text":"hello games"}"#),
        post(r#"{"type":"gift","user":"bob","gift":"rose","count":3}"#),
        post(r#"{"type":"chat","user":"cid","text":"left"}"#),
        post(r#"{"type":"follow","user":"dee"}"#),
    ];
    let live: Vec<(String, bool)> = ids.iter().map(|id| (id.clone(), false)).collect();
    for game in ["dodge", "snake"] {
        let log = dir.path().join(format!("{game}.log"));
        wait_for(
            &format!("{game} to get the events"),
            Duration::from_secs(30),
            || received(&log).len() >= ids.len(),
        );
    }
    // Exactly once each, in order, at the shown game and the hidden one alike.
    std::thread::sleep(Duration::from_millis(500));
    for game in ["dodge", "snake"] {
        assert_eq!(
            received(&dir.path().join(format!("{game}.log"))),
            live,
            "{game}"
        );
    }

    // A third game joins later: the backlog first, then what happens next.
    let late = dir.path().join("late.log");
    let _late = demo_game(
        dir.path(),
        &host,
        "snake",
        "late",
        &[&args[..], &["--name", "late-snake"]].concat(),
    );
    host.wait_games(3);
    wait_for("the backlog", Duration::from_secs(30), || {
        received(&late).len() >= ids.len()
    });
    ids.push(post(
        r#"{"type":"chat","user":"ann","text":"welcome, late game"}"#,
    ));
    wait_for("the newest event", Duration::from_secs(30), || {
        received(&late).len() > 4
    });
    let expected: Vec<(String, bool)> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (id.clone(), n < 4))
        .collect();
    assert_eq!(received(&late), expected, "backlog first, then live");
    let status = host.status();
    assert_eq!(status.audience.stats.accepted, 5, "{status:?}");
}
