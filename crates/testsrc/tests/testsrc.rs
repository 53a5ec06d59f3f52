//! Runs the real `livestream-testsrc` binary against an in-process host socket.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use livestream_ipc::{LinkEvent, LinkToGame, Server, ServerConfig, ServerEvent};
use livestream_protocol::{
    DisplayReason, GameMessage, HostMessage, MediaRequest, PixelFormat, Visibility,
};
use livestream_testsrc::pattern;

const BIN: &str = env!("CARGO_BIN_EXE_livestream-testsrc");

/// Kills the child if a test fails before waiting for it.
struct Reaped(Option<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn host(dir: &std::path::Path) -> Server {
    Server::bind(ServerConfig::new(dir.join("s/host.sock"))).unwrap()
}

fn connected(server: &Server) -> Box<livestream_ipc::Connected> {
    match server
        .events()
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
    {
        ServerEvent::Connected(c) => c,
        ServerEvent::Refused { reason, .. } => panic!("refused: {reason}"),
    }
}

fn next(link: &LinkToGame) -> GameMessage {
    match link.recv_timeout(Duration::from_secs(5)) {
        Some(LinkEvent::Message(envelope)) => envelope.message,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn sends_counted_frames_and_tone_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = host(dir.path());
    let child = Command::new(BIN)
        .args([
            "--name",
            "bars",
            "--size",
            "320x180",
            "--fps",
            "30",
            "--duration",
            "3",
        ])
        .arg("--socket")
        .arg(server.socket())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reaped(Some(child));
    let game = connected(&server);
    assert_eq!(game.hello.game_name, "bars");
    assert_eq!(
        game.hello.capabilities.video_formats,
        vec![PixelFormat::I420]
    );

    // Nothing is sent before the host asks; the startup status arrives first.
    match next(&game.link) {
        GameMessage::Display(report) => {
            assert_eq!(report.visibility, Visibility::Hidden);
            assert_eq!(report.reason, DisplayReason::Startup);
        }
        other => panic!("expected display report, got {other:?}"),
    }
    assert!(game.link.recv_timeout(Duration::from_millis(300)).is_none());

    game.link
        .outbox()
        .send(HostMessage::Media(MediaRequest {
            video: true,
            audio: true,
            fps: 30,
        }))
        .unwrap();
    game.link
        .outbox()
        .send(HostMessage::SetVisibility(Visibility::Shown))
        .unwrap();

    let mut frames = Vec::new();
    let mut audio = Vec::new();
    let mut shown = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while (frames.len() < 20 || !shown) && Instant::now() < deadline {
        let Some(LinkEvent::Message(envelope)) = game.link.recv_timeout(Duration::from_secs(1))
        else {
            continue;
        };
        match envelope.message {
            GameMessage::VideoFrame(header) => {
                assert_eq!((header.width, header.height), (320, 180));
                assert_eq!(envelope.payload.len(), 320 * 180 * 3 / 2);
                let counter = pattern::read_counter(&envelope.payload, 320, 180, 320);
                assert_eq!(counter, Some(header.frame_number as u32));
                frames.push(header);
            }
            GameMessage::AudioChunk(header) => audio.push(header),
            GameMessage::Display(report) => {
                assert_eq!(report.visibility, Visibility::Shown);
                assert_eq!(report.reason, DisplayReason::HostCommand);
                shown = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(shown, "the host's show command is reported back");
    assert!(frames.len() >= 20, "got {} frames", frames.len());
    assert!(frames.windows(2).all(|w| w[1].frame_number > w[0].frame_number
        && w[1].timestamp_ns > w[0].timestamp_ns));
    assert!(!audio.is_empty());
    // Audio timestamps follow sample counts: each chunk starts where the last ended.
    for pair in audio.windows(2) {
        let duration = u64::from(pair[0].frames) * 1_000_000_000 / u64::from(pair[0].sample_rate);
        assert_eq!(pair[1].timestamp_ns, pair[0].timestamp_ns + duration);
    }
    // Frames and audio share the clock: within 100 ms of each other.
    let first_frame = frames[0].timestamp_ns;
    assert!(audio[0].timestamp_ns.abs_diff(first_frame) < 100_000_000);

    // At the end of --duration the game says goodbye and exits 0.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut goodbye = false;
    while !goodbye && Instant::now() < deadline {
        match game.link.recv_timeout(Duration::from_millis(500)) {
            Some(LinkEvent::Message(e)) => {
                goodbye = matches!(e.message, GameMessage::Goodbye { .. });
            }
            Some(LinkEvent::Closed(_)) => break,
            None => {}
        }
    }
    assert!(goodbye);
    let output = child.0.take().unwrap().wait_with_output().unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["frames_sent"].as_u64().unwrap() >= 20);
}

#[test]
fn no_host_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["--connect-timeout", "0.2", "--socket"])
        .arg(dir.path().join("nobody-home.sock"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no host at"), "{stderr}");
}
