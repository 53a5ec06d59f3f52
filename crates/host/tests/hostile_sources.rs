//! Hostile audience sources: an IRC server and a room feed that send garbage,
//! 100 KB lines, invalid UTF-8 and a flood of 10,000 events. The host logs and
//! counts every refusal, keeps streaming, and the good events still arrive.
//!
//! Real servers never send such input, so the servers here are a few lines of
//! test code on loopback that speak just enough IRC / WebSocket to be joined.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use livestream_control::{HostStatus, StreamPhase};
use livestream_interaction::AudienceEventKind;
use livestream_interaction::room_api::FeedFrame;
use livestream_testkit::{
    AudienceLog, Reaped, private_user_dirs, sibling_binary, try_status, wait_for,
};

const HOST: &str = env!("CARGO_BIN_EXE_livestream-host");
const FLOOD: usize = 10_000;
const FPS: u64 = 15;

fn status(socket: &Path) -> Option<HostStatus> {
    try_status(Path::new(HOST), socket).ok()
}

/// An IRC server that registers one client, then, on `go`, sends `lines` as fast as it can.
fn hostile_irc(listener: TcpListener, lines: Vec<Vec<u8>>, go: Receiver<()>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut nick = String::new();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(n) = line.strip_prefix("NICK ") {
                nick = n.trim().to_owned();
                write!(writer, ":irc.hostile 001 {nick} :Welcome\r\n").unwrap();
            }
            if line.starts_with("JOIN #flood") {
                write!(writer, ":{nick}!u@h JOIN #flood\r\n").unwrap();
                break;
            }
            line.clear();
        }
        go.recv().unwrap();
        let mut out = std::io::BufWriter::new(writer);
        for line in lines {
            out.write_all(&line).unwrap();
            out.write_all(b"\r\n").unwrap();
        }
        out.flush().unwrap();
        // Hold the connection until the host goes.
        let _ = reader.read_line(&mut String::new());
    })
}

/// A room feed that, on `go`, sends malformed frames, then a valid event; after
/// the host reconnects (an oversize message ends the first connection) another valid one.
fn hostile_room(listener: TcpListener, go: Receiver<()>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        // Gifts, so the game's queue keeps them through the flood.
        let gift = |id: &str| {
            serde_json::to_string(&FeedFrame::Event(livestream_interaction::AudienceEvent {
                id: id.into(),
                source: "room".into(),
                user: livestream_interaction::AudienceUser {
                    id: "room:eve".into(),
                    display_name: "eve".into(),
                    color: None,
                    badges: vec![],
                },
                timestamp_ms: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64,
                kind: AudienceEventKind::Gift {
                    gift_id: "rose".into(),
                    name: "Rose".into(),
                    count: 1,
                    value: 1,
                },
            }))
            .unwrap()
        };
        let (stream, _) = listener.accept().unwrap();
        let mut socket = tungstenite::accept(stream).unwrap();
        go.recv().unwrap();
        socket.send("{not json".into()).unwrap();
        socket
            .send(tungstenite::Message::Binary(vec![0xff; 16].into()))
            .unwrap();
        socket.send(r#"{"event":{"id":""}}"#.into()).unwrap();
        socket.send(gift("ws-1").into()).unwrap();
        socket.send("x".repeat(100_000).into()).unwrap();
        let _ = socket.flush();
        let (stream, _) = listener.accept().unwrap();
        #[expect(
            clippy::result_large_err,
            reason = "tungstenite's handshake callback type"
        )]
        let mut socket = tungstenite::accept_hdr(
            stream,
            |request: &tungstenite::handshake::server::Request, response| {
                assert!(
                    request.uri().query().unwrap_or("").contains("after=ws-1"),
                    "resumes after the last event"
                );
                Ok(response)
            },
        )
        .unwrap();
        socket.send(gift("ws-2").into()).unwrap();
        let _ = socket.flush();
        while socket.read().is_ok() {}
    })
}

#[test]
fn garbage_and_floods_are_counted_and_never_stall_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("run").join("host.sock");
    let irc = TcpListener::bind("127.0.0.1:0").unwrap();
    let room = TcpListener::bind("127.0.0.1:0").unwrap();
    let irc_spec = format!("irc://{}/#flood", irc.local_addr().unwrap());
    let room_spec = format!("ws://{}/rooms/x/ws", room.local_addr().unwrap());

    let mut lines = vec![
        vec![b'x'; 100_000],
        b":eve!e@h PRIVMSG #flood :\xff\xfe not utf-8".to_vec(),
        b":only-a-prefix".to_vec(),
    ];
    lines.extend(
        (0..FLOOD).map(|n| format!("@id=f{n} :bot!b@h PRIVMSG #flood :flood {n}").into_bytes()),
    );
    lines.push(b"@id=gift;bits=500 :ann!a@h PRIVMSG #flood :cheer500".to_vec());
    lines.push(b"@id=last :ann!a@h PRIVMSG #flood :last".to_vec());
    let (irc_go, irc_wait) = std::sync::mpsc::channel();
    let (room_go, room_wait) = std::sync::mpsc::channel();
    let irc_server = hostile_irc(irc, lines, irc_wait);
    let room_server = hostile_room(room, room_wait);

    let host_log = dir.path().join("host.log");
    let mut host = Reaped::spawn(
        private_user_dirs(&mut Command::new(HOST), dir.path())
            .args([
                "--headless",
                "--stay",
                "--size",
                "320x180",
                "--fps",
                &FPS.to_string(),
            ])
            .args(["--preset", "ultrafast", "--bitrate", "400", "--mic", "none"])
            .arg("--output")
            .arg(format!("file:{}", dir.path().join("out.mkv").display()))
            .arg("--socket")
            .arg(&socket)
            .args(["--interaction", &irc_spec, "--interaction", &room_spec])
            .stderr(std::fs::File::create(&host_log).unwrap()),
    );
    let log = AudienceLog(dir.path().join("game.jsonl"));
    let _game = Reaped::spawn(
        Command::new(sibling_binary(Path::new(HOST), "livestream-testsrc"))
            .args([
                "--name",
                "victim",
                "--shown",
                "--tone",
                "0",
                "--duration",
                "120",
            ])
            .arg("--socket")
            .arg(&socket)
            .arg("--audience-log")
            .arg(&log.0)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("game.log")).unwrap()),
    );
    wait_for("the game", Duration::from_secs(30), || {
        status(&socket).is_some_and(|s| s.games.len() == 1)
    });
    livestream_testkit::ctl(Path::new(HOST), &socket, &["go-live"]);
    let pushed = |s: &HostStatus| s.frames_pushed + s.frames_repeated;
    let started = Instant::now();
    let before = status(&socket).map_or(0, |s| pushed(&s));
    irc_go.send(()).unwrap();
    room_go.send(()).unwrap();

    wait_for(
        "the last IRC line and both good feed events",
        Duration::from_secs(60),
        || {
            let ids = log.ids();
            ["irc:last", "irc:gift", "ws-1", "ws-2"]
                .iter()
                .all(|id| ids.iter().any(|i| i == id))
        },
    );
    let flood_seconds = started.elapsed().as_secs_f64();
    // Measure the frame pump over a window of at least 3 s that holds the flood.
    while started.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let after_status = livestream_testkit::status(Path::new(HOST), &socket);
    let elapsed = started.elapsed().as_secs_f64();
    let frames = pushed(&after_status) - before;
    // The frame pump ran at its rate through the flood (a ratio, not a time),
    // and the host loop took every frame the game sent.
    let ratio = frames as f64 / (elapsed * FPS as f64);
    eprintln!(
        "flood handled in {flood_seconds:.2} s; {frames} frames pushed in {elapsed:.2} s: {ratio:.2} of {FPS} fps"
    );
    assert!(
        ratio > 0.8,
        "frame pump stalled: {frames} frames in {elapsed:.2} s"
    );
    let victim = &after_status.games[0];
    assert_eq!(victim.frames_lost, 0, "{victim:?}");
    assert_eq!(victim.frames, victim.frames_streamed, "{victim:?}");
    assert_eq!(after_status.phase, StreamPhase::Live, "{after_status:?}");

    let sources = &after_status.audience.sources;
    assert!(
        sources[0].bad_input >= 3,
        "IRC refusals counted: {after_status:?}"
    );
    assert!(
        sources[1].bad_input >= 3,
        "feed refusals counted: {after_status:?}"
    );
    assert!(sources[1].disconnects >= 1, "{after_status:?}");
    // Every event is accounted for: delivered to the game, or dropped (oldest
    // chat first) or coalesced by its queue, with counters.
    let game = after_status.games[0]
        .audience
        .expect("the game's delivery")
        .delivery;
    let irc_events = sources[0].events + sources[0].dropped;
    assert_eq!(irc_events, FLOOD as u64 + 2, "{after_status:?}");
    let accounted = game.delivered + game.dropped + game.coalesced;
    assert_eq!(
        accounted, after_status.audience.stats.accepted,
        "{after_status:?}"
    );
    let received = log.received();
    let gift = received.iter().find(|(_, e)| e.id == "irc:gift").unwrap();
    assert!(matches!(
        gift.1.kind,
        AudienceEventKind::Gift { value: 500, .. }
    ));
    assert_eq!(
        received.len() as u64,
        game.delivered,
        "every delivered event arrived: {game:?}"
    );
    eprintln!(
        "flood at the game: {} delivered, {} dropped, {} coalesced",
        game.delivered, game.dropped, game.coalesced
    );
    let text = std::fs::read_to_string(&host_log).unwrap();
    assert!(text.contains("refused input"), "refusals are logged");

    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(20)), Some(0));
    irc_server.join().unwrap();
    room_server.join().unwrap();
}
