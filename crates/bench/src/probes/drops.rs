//! Drops over a long stream: `demo-snake` headless at 640×360 and 30 fps,
//! shown and live through the host (x264 `veryfast`, the game's audio) to a
//! private nginx-rtmp, for `--long` seconds. Frames lost are counted where
//! they can be lost: in the game (capture skipped while the GPU was busy,
//! or read back but not sent because the socket was behind), on the socket
//! (sent but never received), in the host (received but superseded by a
//! newer one before the encoder took it), and in the output (gaps in what
//! nginx recorded). Repeated output frames (the host's clock ticked with no
//! new game frame) are reported beside them: nothing is lost, but viewers
//! see a frame twice.

use std::path::Path;
use std::time::{Duration, Instant};

use livestream_e2e::demo_game;
use livestream_testkit::{NginxRtmp, video_frame_times};

use super::{frames_missing, status_number, streaming_host};
use crate::report::Measured;

pub const WHAT: &str = "demo-snake 640x360@30 live through the host to nginx-rtmp for --long seconds: frames lost in the game, on the socket, in the host and in the output";

/// Most the game may take to start; it exits by itself after the stream.
const START_UP: Duration = Duration::from_secs(20);

pub fn run(dir: &Path, seconds: u64) -> Measured {
    let nginx = NginxRtmp::start(&dir.join("nginx"));
    let output = nginx.url("bench");
    let host = streaming_host(dir, &output, "640x360", "none");
    let frame_log = dir.join("frames.txt");
    let spawned = Instant::now();
    let duration = (Duration::from_secs(seconds) + START_UP)
        .as_secs()
        .to_string();
    let mut game = demo_game(
        dir,
        &host,
        "snake",
        "game",
        &[
            "--headless",
            "--size",
            "640x360",
            "--fps",
            "30",
            "--duration",
            &duration,
            "--frame-log",
            &frame_log.to_string_lossy(),
        ],
    );
    host.wait_games(1);
    host.ctl(&["go-live"]);
    host.ctl(&["show", "snake"]);
    std::thread::sleep(Duration::from_secs(seconds));
    let at_hide = host.ctl(&["status"]);
    host.ctl(&["hide-all"]);
    std::thread::sleep(Duration::from_millis(1500)); // frames in flight arrive
    let after = host.ctl(&["status"]);
    assert!(
        spawned.elapsed() < Duration::from_secs(seconds) + START_UP,
        "the game started too slowly to be measured whole"
    );
    let exit = game.wait_timeout(START_UP + Duration::from_secs(10));
    assert_eq!(exit, Some(0), "demo-snake did not end by itself");
    drop(host);
    let log = std::fs::read_to_string(&frame_log).expect("the game's frame log");
    let stats: serde_json::Value = log
        .lines()
        .find_map(|line| line.strip_prefix("# stats "))
        .and_then(|json| serde_json::from_str(json).ok())
        .expect("the game's counters at exit");
    let game_stats = &after["games"][0];
    let counts = Counts {
        captured: status_number(&stats, "frames_captured"),
        skipped: status_number(&stats, "frames_skipped"),
        not_sent: status_number(&stats, "frames_dropped"),
        sent: status_number(&stats, "frames_sent"),
        received: status_number(game_stats, "frames"),
        lost_in_sequence: status_number(game_stats, "frames_lost"),
        superseded: status_number(&at_hide, "frames_superseded"),
    };
    let recorded = video_frame_times(&nginx.recording("bench"));
    let mut measured = counts.figures();
    measured.set("seconds", seconds as f64);
    measured.set(
        "output_frames_pushed",
        status_number(&at_hide, "frames_pushed"),
    );
    let repeated = status_number(&at_hide, "frames_repeated");
    measured.set("output_frames_repeated", repeated);
    measured.set(
        "output_repeated_percent",
        100.0 * repeated / status_number(&at_hide, "frames_pushed").max(1.0),
    );
    measured.set(
        "output_frames_missing",
        frames_missing(&recorded, 30) as f64,
    );
    measured
}

/// Where frames went, from the game's and the host's counters.
#[derive(Debug, Clone, Copy)]
struct Counts {
    /// Read back from the GPU.
    captured: f64,
    /// Not captured: the GPU was still busy with earlier frames.
    skipped: f64,
    /// Read back but not sent (the socket was behind).
    not_sent: f64,
    /// Handed to the socket.
    sent: f64,
    /// Received by the host.
    received: f64,
    /// Gaps in the frame numbers the host received.
    lost_in_sequence: f64,
    /// Received but replaced by a newer frame before the encoder took it.
    superseded: f64,
}

impl Counts {
    fn figures(self) -> Measured {
        let attempts = (self.captured + self.skipped).max(1.0);
        let game = self.skipped + self.not_sent;
        let socket = (self.sent - self.received)
            .max(self.lost_in_sequence)
            .max(0.0);
        let host = self.superseded;
        let mut measured = Measured::default();
        measured.set("game_frames_captured", self.captured);
        measured.set("game_frames_dropped", game);
        measured.set("socket_frames_lost", socket);
        measured.set("host_frames_superseded", host);
        measured.set("game_dropped_percent", 100.0 * game / attempts);
        measured.set("socket_lost_percent", 100.0 * socket / attempts);
        measured.set("host_dropped_percent", 100.0 * host / attempts);
        measured.set("dropped_percent", 100.0 * (game + socket + host) / attempts);
        measured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_are_shares_of_the_capture_attempts() {
        let counts = Counts {
            captured: 990.0,
            skipped: 10.0,
            not_sent: 2.0,
            sent: 988.0,
            received: 987.0,
            lost_in_sequence: 0.0,
            superseded: 3.0,
        };
        let m = counts.figures();
        assert_eq!(m.figures["game_dropped_percent"], 1.2);
        assert_eq!(m.figures["socket_frames_lost"], 1.0);
        assert_eq!(m.figures["host_dropped_percent"], 0.3);
        assert!((m.figures["dropped_percent"] - 1.6).abs() < 1e-9);
    }
}
