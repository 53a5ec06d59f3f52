//! Audience events from a real `livestream-room` and a real ngircd reach every
//! game connected to the real `livestream-host` (shown or hidden) exactly once
//! and in order; a game that joins later gets the backlog first; a deletion
//! reaches every game and leaves the history. The same over TLS (the room
//! behind nginx terminating TLS, ngircd's TLS port), and a server whose
//! certificate is not trusted is refused. A room served by two clustered
//! nodes reaches the games through either, and one node's death loses and
//! repeats nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use livestream_interaction::{AudienceEvent, AudienceEventKind, SourceState};

use livestream_testkit::{
    AudienceLog, NatsServer, Ngircd, Reaped, RoomServer, TlsProxy, post_json, private_user_dirs,
    sibling_binary,
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

/// A headless host named `name` (its socket and log in `dir`) reading the
/// audience `sources`, trusting the authorities in `ca` besides the system's.
fn start_host(dir: &Path, name: &str, sources: &[String], ca: Option<&Path>) -> (Reaped, PathBuf) {
    let socket = dir.join(name).join("host.sock");
    let mut command = Command::new(HOST);
    private_user_dirs(&mut command, &dir.join(name))
        .args(["--headless", "--stay"])
        .arg("--output")
        .arg(format!(
            "file:{}",
            dir.join(format!("{name}.mkv")).display()
        ))
        .arg("--socket")
        .arg(&socket)
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap());
    for source in sources {
        command.args(["--interaction", source]);
    }
    if let Some(ca) = ca {
        command.arg("--interaction-ca").arg(ca);
    }
    (Reaped::spawn(&mut command), socket)
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

/// Viewers post chats "room 1" to "room 3" in `room`'s room "show"; their ids.
fn post_room_chats(room: &RoomServer) -> Vec<String> {
    (1..=3)
        .map(|n| {
            let (status, body) = post_json(
                &room.http("/rooms/show/post"),
                &format!(r#"{{"type":"chat","user":"ann","text":"room {n}"}}"#),
                None,
            );
            assert_eq!(status, 200, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// A viewer joins `#test` on the IRC server at `port` and says "irc 1" to "irc 3".
fn say_on_irc(port: u16) -> IrcViewer {
    let mut viewer = IrcViewer::join(port, "bob", "#test");
    for n in 1..=3 {
        viewer.send(&format!("PRIVMSG #test :irc {n}"));
    }
    viewer
}

/// `game` got `expected` events live, each once: the room's in the order of
/// `room_ids`, the IRC ones in the order they were said.
fn assert_once_in_order(game: &Game, expected: usize, room_ids: &[String]) {
    let received = game.received();
    let ids = game.ids();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicates in {ids:?}");
    assert_eq!(received.len(), expected, "{ids:?}");
    assert!(received.iter().all(|(backlog, _)| !backlog));
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
}

#[test]
fn audience_reaches_every_game_once_in_order_and_late_games_get_the_backlog_first() {
    let dir = tempfile::tempdir().unwrap();
    let irc = Ngircd::start(dir.path());
    let room =
        RoomServer::start_moderated(&sibling("livestream-room"), MOD_TOKEN, &["--burst", "50"]);
    let (_host, socket) = start_host(
        dir.path(),
        "host",
        &[room.source("show"), irc.source("#test")],
        None,
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
    let mut room_ids = post_room_chats(&room);
    let (status, body) = post_json(
        &room.http("/rooms/show/post"),
        r#"{"type":"gift","user":"ann","gift":"rose","count":2}"#,
        None,
    );
    assert_eq!(status, 200, "{body}");
    room_ids.push(body["id"].as_str().unwrap().to_owned());
    let _viewer = say_on_irc(irc.port);
    let said = ctl(&socket, &["say", "--user", "sam", "from the desk"]);
    let ctl_id = said["id"].as_str().unwrap().to_owned();

    let expected = 3 + 1 + 3 + 1;
    wait_for("every event at both games", || {
        a.received().len() >= expected && b.received().len() >= expected
    });
    for game in [&a, &b] {
        assert_once_in_order(game, expected, &room_ids);
        assert!(game.ids().contains(&ctl_id));
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

#[test]
fn tls_sources_deliver_once_in_order_and_an_untrusted_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let irc = Ngircd::start_with_tls(dir.path());
    let room = RoomServer::start(&sibling("livestream-room"), &["--burst", "50"]);
    let proxy = TlsProxy::start(&dir.path().join("proxy"), &room.address);
    // Both servers' authorities in one file, as a CA bundle is.
    let (_, irc_ca) = irc.tls.as_ref().unwrap();
    let bundle = dir.path().join("authorities.pem");
    let read = |path: &Path| std::fs::read(path).unwrap();
    std::fs::write(&bundle, [read(irc_ca), read(&proxy.ca)].concat()).unwrap();
    let sources = [proxy.wss_url("/rooms/show/ws"), irc.tls_source("#test")];
    let (_trusting, socket) = start_host(dir.path(), "trusting", &sources, Some(&bundle));
    let (_untrusting, untrusting) = start_host(dir.path(), "untrusting", &sources, None);
    let game = Game::start(dir.path(), &socket, "alpha", true);
    wait_for("the game and both TLS sources connected", || {
        livestream_testkit::try_status(Path::new(HOST), &socket).is_ok_and(|status| {
            status.games.len() == 1
                && status.audience.sources.len() == 2
                && status
                    .audience
                    .sources
                    .iter()
                    .all(|s| s.state == SourceState::Connected && s.warning.is_none())
        })
    });

    let room_ids = post_room_chats(&room);
    let _viewer = say_on_irc(irc.port);
    wait_for("every event at the game", || game.received().len() >= 6);
    assert_once_in_order(&game, 6, &room_ids);

    // The host not told the authority refuses both servers, and says why.
    wait_for("both sources refused for their certificates", || {
        livestream_testkit::try_status(Path::new(HOST), &untrusting).is_ok_and(|status| {
            status.audience.sources.len() == 2
                && status.audience.sources.iter().all(|s| {
                    s.events == 0
                        && matches!(&s.state, SourceState::Reconnecting { reason, .. }
                        if reason.contains("is not from a trusted authority"))
                })
        })
    });
}

/// A viewer reading a room's feed over WebSocket.
struct RoomViewer(tungstenite::WebSocket<TcpStream>);

impl RoomViewer {
    fn open(room: &RoomServer, name: &str) -> Self {
        let stream = TcpStream::connect(&room.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let url = room.ws_url(&format!("/rooms/{name}/ws"));
        Self(tungstenite::client(url, stream).unwrap().0)
    }

    /// The next event on the feed.
    fn event(&mut self) -> AudienceEvent {
        loop {
            if let tungstenite::Message::Text(text) = self.0.read().unwrap() {
                match serde_json::from_str(&text).unwrap() {
                    livestream_interaction::room_api::FeedFrame::Event(event) => return event,
                    other => panic!("expected an event, got {other:?}"),
                }
            }
        }
    }
}

#[test]
fn a_room_on_two_clustered_nodes_reaches_games_once_in_order_when_a_node_dies() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats"));
    let args = ["--cluster", &nats.url(), "--burst", "50"];
    let room = sibling("livestream-room");
    let node_a = RoomServer::start_moderated(&room, MOD_TOKEN, &args);
    let mut node_b = RoomServer::start_moderated(&room, MOD_TOKEN, &args);
    // The host reads node B, and node A when B fails.
    let feeds = format!("{},{}", node_b.source("show"), node_a.source("show"));
    let (_host, socket) = start_host(dir.path(), "host", &[feeds], None);
    let game = Game::start(dir.path(), &socket, "alpha", true);
    wait_for("the game and the room connected", || {
        livestream_testkit::try_status(Path::new(HOST), &socket).is_ok_and(|status| {
            status.games.len() == 1 && status.audience.sources[0].state == SourceState::Connected
        })
    });
    let mut viewer_on_b = RoomViewer::open(&node_b, "show");

    // Posts on node A reach node B's viewer and, through node B, the game.
    let mut expected = post_room_chats(&node_a);
    for id in &expected {
        assert_eq!(&viewer_on_b.event().id, id);
    }
    // A moderator deletes on node A: B's viewer and the game are told.
    let (status, body) = post_json(
        &node_a.http("/rooms/show/moderate"),
        &format!(r#"{{"type":"delete","id":"{}"}}"#, expected[1]),
        Some(MOD_TOKEN),
    );
    assert_eq!(status, 200, "{body}");
    let deletion = body["id"].as_str().unwrap().to_owned();
    assert_eq!(viewer_on_b.event().id, deletion);
    expected.push(deletion);
    wait_for("the deletion at the game", || {
        !game.history().contains(&expected[1])
    });

    // Node B dies; posts go on at node A. The host moves to node A and the
    // game gets each post once, in order.
    node_b.process().signal("KILL");
    expected.extend(post_room_chats(&node_a));
    wait_for("every event at the game", || {
        game.received().len() >= expected.len()
    });
    assert_eq!(game.ids(), expected, "each event once, in order");
    let status = livestream_testkit::status(Path::new(HOST), &socket);
    let source = &status.audience.sources[0];
    assert!(source.disconnects >= 1, "{source:?}");
    assert_eq!(source.events, 7, "{source:?}");
}
