//! Audience events from a real `livestream-room` and a real ngircd reach every
//! game connected to the real `livestream-host` (shown or hidden) exactly once
//! and in order; a game that joins later gets the backlog first; a deletion
//! reaches every game and leaves the history.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use livestream_interaction::{AudienceEvent, AudienceEventKind, SourceState};

use livestream_testkit::{
    AudienceLog, Ngircd, Reaped, RoomServer, post_json, private_user_dirs, sibling_binary,
};

const HOST: &str = env!("CARGO_BIN_EXE_livestream-host");
const MOD_TOKEN: &str = "test-moderator-token";

fn sibling(name: &str) -> PathBuf {
    sibling_binary(Path::new(HOST), name)
}

fn ctl(socket: &Path, args: &[&str]) -> serde_json::Value {
    livestream_testkit::ctl(Path::new(HOST), socket, args)
}

fn wait_for(what: &str, check: impl FnMut() -> bool) {
    livestream_testkit::wait_for(what, Duration::from_secs(30), check);
}

/// A game: `livestream-testsrc` logging every audience event it receives.
struct Game {
    _process: Reaped,
    log: AudienceLog,
}

impl Game {
    fn start(dir: &Path, socket: &Path, name: &str, shown: bool) -> Self {
        let log = dir.join(format!("{name}.jsonl"));
        let mut command = Command::new(sibling("livestream-testsrc"));
        command
            .args(["--name", name, "--tone", "0", "--duration", "120"])
            .arg("--socket")
            .arg(socket)
            .arg("--audience-log")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap());
        if shown {
            command.arg("--shown");
        }
        Self {
            _process: Reaped::spawn(&mut command),
            log: AudienceLog(log),
        }
    }
}

impl std::ops::Deref for Game {
    type Target = AudienceLog;

    fn deref(&self) -> &AudienceLog {
        &self.log
    }
}

fn chat_text(event: &AudienceEvent) -> Option<&str> {
    match &event.kind {
        AudienceEventKind::Chat { text } => Some(text),
        _ => None,
    }
}

/// An IRC viewer on the test server: registers, joins, talks.
struct IrcViewer {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl IrcViewer {
    fn join(port: u16, nick: &str, channel: &str) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut viewer = Self {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        };
        viewer.send(&format!(
            "NICK {nick}\r\nUSER {nick} 0 * :viewer\r\nJOIN {channel}"
        ));
        viewer.wait_for(
            &format!("JOIN :{channel}"),
            Some(&format!("JOIN {channel}")),
        );
        viewer
    }

    fn send(&mut self, lines: &str) {
        self.stream
            .write_all(format!("{lines}\r\n").as_bytes())
            .unwrap();
    }

    /// Reads until a line containing `needle` (or `alternative`), answering pings.
    fn wait_for(&mut self, needle: &str, alternative: Option<&str>) {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.reader.read_line(&mut line).unwrap() > 0,
                "IRC server closed"
            );
            if let Some(token) = line.strip_prefix("PING ") {
                self.send(&format!("PONG {}", token.trim()));
            }
            if line.contains(needle) || alternative.is_some_and(|a| line.contains(a)) {
                return;
            }
        }
    }
}

#[test]
fn audience_reaches_every_game_once_in_order_and_late_games_get_the_backlog_first() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("run").join("host.sock");
    let irc = Ngircd::start(dir.path());
    let room =
        RoomServer::start_moderated(&sibling("livestream-room"), MOD_TOKEN, &["--burst", "50"]);
    let _host = Reaped::spawn(
        private_user_dirs(&mut Command::new(HOST), dir.path())
            .args(["--headless", "--stay"])
            .arg("--output")
            .arg(format!("file:{}", dir.path().join("unused.mkv").display()))
            .arg("--socket")
            .arg(&socket)
            .args(["--interaction", &room.source("show")])
            .args(["--interaction", &irc.source("#test")])
            .stderr(std::fs::File::create(dir.path().join("host.log")).unwrap()),
    );
    let a = Game::start(dir.path(), &socket, "alpha", true);
    let b = Game::start(dir.path(), &socket, "beta", false);
    wait_for("two games and both sources connected", || {
        let Ok(status) = livestream_testkit::try_status(Path::new(HOST), &socket) else {
            return false;
        };
        let sources = &status.audience.sources;
        status.games.len() == 2
            && sources.len() == 2
            && sources.iter().all(|s| s.state == SourceState::Connected)
    });

    // Events from all three kinds of source.
    let mut room_ids = Vec::new();
    for n in 1..=3 {
        let (status, body) = post_json(
            &room.http("/rooms/show/post"),
            &format!(r#"{{"type":"chat","user":"ann","text":"room {n}"}}"#),
            None,
        );
        assert_eq!(status, 200, "{body}");
        room_ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let (status, body) = post_json(
        &room.http("/rooms/show/post"),
        r#"{"type":"gift","user":"ann","gift":"rose","count":2}"#,
        None,
    );
    assert_eq!(status, 200, "{body}");
    room_ids.push(body["id"].as_str().unwrap().to_owned());
    let mut viewer = IrcViewer::join(irc.port, "bob", "#test");
    for n in 1..=3 {
        viewer.send(&format!("PRIVMSG #test :irc {n}"));
    }
    let said = ctl(&socket, &["say", "--user", "sam", "from the desk"]);
    let ctl_id = said["id"].as_str().unwrap().to_owned();

    let expected = 3 + 1 + 3 + 1;
    wait_for("every event at both games", || {
        a.received().len() >= expected && b.received().len() >= expected
    });
    for game in [&a, &b] {
        let received = game.received();
        let ids = game.ids();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "duplicates in {ids:?}");
        assert_eq!(received.len(), expected, "{ids:?}");
        assert!(received.iter().all(|(backlog, _)| !backlog));
        // Each source's events in the order they were made.
        let from_room: Vec<_> = received
            .iter()
            .filter(|(_, e)| e.source == "room")
            .map(|(_, e)| e.id.clone())
            .collect();
        assert_eq!(from_room, room_ids);
        let from_irc: Vec<_> = received
            .iter()
            .filter(|(_, e)| e.source == "irc")
            .filter_map(|(_, e)| chat_text(e))
            .collect();
        assert_eq!(from_irc, ["irc 1", "irc 2", "irc 3"]);
        assert!(ids.contains(&ctl_id));
    }
    assert_eq!(
        a.ids(),
        b.ids(),
        "shown and hidden games got the same events"
    );

    // A moderator deletes "room 2": every game is told, and it leaves the history.
    let (status, body) = post_json(
        &room.http("/rooms/show/moderate"),
        &format!(r#"{{"type":"delete","id":"{}"}}"#, room_ids[1]),
        Some(MOD_TOKEN),
    );
    assert_eq!(status, 200, "{body}");
    for game in [&a, &b] {
        wait_for("the deletion", || !game.history().contains(&room_ids[1]));
    }

    // A third game joins: the stored backlog comes first, without the deleted event.
    let mut before = a.history();
    before.sort();
    let c = Game::start(dir.path(), &socket, "gamma", false);
    wait_for("the backlog at the late game", || !c.received().is_empty());
    let late = ctl(&socket, &["say", "--user", "sam", "after gamma joined"]);
    let late_id = late["id"].as_str().unwrap().to_owned();
    wait_for("the new event at the late game", || {
        c.ids().contains(&late_id)
    });
    let received = c.received();
    let first_live = received.iter().position(|(backlog, _)| !backlog).unwrap();
    assert!(
        received[first_live..].iter().all(|(backlog, _)| !backlog),
        "backlog after live events"
    );
    let backlog: Vec<_> = received[..first_live]
        .iter()
        .map(|(_, e)| e.id.clone())
        .collect();
    let mut backlog_sorted = backlog.clone();
    backlog_sorted.sort();
    assert_eq!(
        backlog_sorted, before,
        "backlog = the history without the deleted event"
    );
    assert!(!backlog.contains(&room_ids[1]));
    for game in [&a, &b] {
        wait_for("the new event at the earlier games", || {
            game.ids().contains(&late_id)
        });
    }

    // ctl status counts per game and per source.
    let status = livestream_testkit::status(Path::new(HOST), &socket);
    for game in &status.games {
        let audience = game.audience.expect("the game's delivery");
        let total = audience.backlog + audience.delivery.delivered;
        assert!(total >= 8, "{game:?}");
        assert_eq!(audience.delivery.dropped, 0, "{game:?}");
    }
    let sources = &status.audience.sources;
    assert_eq!(sources[0].events, 5, "4 posts and 1 deletion: {status:?}");
    assert_eq!(sources[1].events, 3, "{status:?}");
    assert_eq!(status.audience.history, 8, "{status:?}");
}
