//! Faults around a live stream of the demo games: a game killed while shown,
//! the ingest server restarted, bad input on the host's socket. The stream
//! and the other games carry on; the host exits 0 when the last game quits.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

use livestream_control::StreamPhase;
use livestream_e2e::{Colour, Host, assert_no_missing_frames, colour_of, demo_game};
use livestream_testkit::{NginxRtmp, probe, rgb_frames, video_frame_times, wait_for};

const GAME_ARGS: [&str; 5] = ["--headless", "--size", "320x180", "--fps", "15"];

fn frames_pushed(host: &Host) -> u64 {
    host.status().frames_pushed
}

/// Waits until the stream has pushed `more` frames beyond now.
fn stream_advances(host: &Host, more: u64) {
    let from = frames_pushed(host);
    wait_for("the stream to go on", Duration::from_secs(20), || {
        frames_pushed(host) >= from + more
    });
}

#[test]
fn a_game_killed_while_shown_leaves_the_stream_running_and_the_last_one_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut host, recording) = Host::recording(dir.path(), "test-tone", &[]);
    let dodge = demo_game(dir.path(), &host, "dodge", "dodge", &GAME_ARGS);
    let snake = demo_game(dir.path(), &host, "snake", "snake", &GAME_ARGS);
    host.wait_games(2);
    host.ctl(&["go-live", "--mic"]);
    host.ctl(&["show", "snake"]);
    stream_advances(&host, 30);

    snake.signal("KILL");
    wait_for("the killed game to go", Duration::from_secs(10), || {
        host.games() == ["dodge"]
    });
    stream_advances(&host, 30);
    let status = host.status();
    assert_eq!(status.phase, StreamPhase::Live, "{status:?}");

    // The last game quits: the host finishes the stream and exits 0.
    dodge.signal("INT");
    assert_eq!(host.process.wait_timeout(Duration::from_secs(30)), Some(0));
    let streams = probe(&recording);
    let video = streams.iter().find(|s| s.codec == "h264").expect("video");
    assert!(video.frames >= 60, "{streams:?}");
    assert!(streams.iter().any(|s| s.codec == "aac"), "{streams:?}");
    assert_no_missing_frames(&video_frame_times(&recording));
}

#[test]
fn the_stream_resumes_when_the_ingest_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let nginx_dir = dir.path().join("nginx");
    let nginx = NginxRtmp::start(&nginx_dir);
    let port = nginx.port;
    let mut host = Host::start(
        dir.path(),
        &["--mic", "none", "--output", &nginx.url("resume")],
        &[],
    );
    let dodge = demo_game(dir.path(), &host, "dodge", "dodge", &GAME_ARGS);
    host.wait_games(1);
    host.ctl(&["go-live"]);
    host.ctl(&["show", "dodge"]);
    stream_advances(&host, 30);

    drop(nginx); // the ingest goes away
    wait_for("reconnecting", Duration::from_secs(10), || {
        matches!(host.status().phase, StreamPhase::Reconnecting { .. })
    });
    let nginx = NginxRtmp::start_on(&nginx_dir, port);
    wait_for("live again", Duration::from_secs(30), || {
        host.status().phase == StreamPhase::Live
    });
    assert_eq!(host.games(), ["dodge"], "the game stayed connected");
    // Six seconds more: the restarted ingest records from the reconnection's
    // first keyframe on.
    stream_advances(&host, 90);
    dodge.signal("INT");
    assert_eq!(host.process.wait_timeout(Duration::from_secs(30)), Some(0));

    // What the restarted server recorded: the game's picture again.
    let frames = rgb_frames(&nginx.recording("resume"), 32, 18);
    let blue = frames
        .iter()
        .filter(|f| colour_of(f) == Colour::Blue)
        .count();
    assert!(
        blue >= 30,
        "{blue} of {} frames after the restart",
        frames.len()
    );
}

#[test]
fn bad_input_on_the_host_socket_is_refused_and_the_stream_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut host, recording) = Host::recording(dir.path(), "none", &[]);
    let dodge = demo_game(dir.path(), &host, "dodge", "dodge", &GAME_ARGS);
    host.wait_games(1);
    host.ctl(&["go-live"]);
    host.ctl(&["show", "dodge"]);
    stream_advances(&host, 15);

    let prefix = |version: u16, header_len: u32| {
        let mut bytes = b"BLSP".to_vec();
        bytes.extend(version.to_le_bytes());
        bytes.extend([0, 0]);
        bytes.extend(header_len.to_le_bytes());
        bytes.extend(0u32.to_le_bytes());
        bytes
    };
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let attempts: [(&str, Vec<u8>); 3] = [
        ("garbage", garbage),
        ("an oversize header", prefix(1, u32::MAX)),
        ("another protocol version", prefix(99, 8)),
    ];
    for (what, bytes) in attempts {
        let mut stream = UnixStream::connect(&host.socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = stream.write_all(&bytes);
        // The host answers (a refusal) or just closes; it never hangs the peer.
        let mut answer = Vec::new();
        let read = stream.read_to_end(&mut answer);
        let closed = match &read {
            Ok(_) => true,
            Err(err) => err.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(
            closed,
            "{what}: the host kept the connection open: {read:?}"
        );
        if what == "another protocol version" {
            assert!(
                answer.starts_with(b"BLSP"),
                "{what}: a refusal frame, got {answer:?}"
            );
        }
    }
    // A process of another user cannot even reach the socket.
    let other_user = Command::new("runuser")
        .args(["-u", "nobody", "--", "python3", "-c"])
        .arg("import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])")
        .arg(&host.socket)
        .output()
        .expect("runuser");
    assert!(!other_user.status.success(), "another user connected");
    assert!(
        String::from_utf8_lossy(&other_user.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&other_user.stderr)
    );

    // The stream and the game carry on; every refusal was logged.
    stream_advances(&host, 30);
    assert_eq!(host.games(), ["dodge"]);
    let log = std::fs::read_to_string(dir.path().join("host.log")).unwrap();
    let refused = log.matches("connection refused").count();
    assert!(refused >= 3, "{refused} refusals logged:\n{log}");
    dodge.signal("INT");
    assert_eq!(host.process.wait_timeout(Duration::from_secs(30)), Some(0));
    assert_no_missing_frames(&video_frame_times(&recording));
}
