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

use livestream_control::HostStatus;
use livestream_e2e::demo_game;
use livestream_testkit::{NginxRtmp, video_frame_times};

use super::{frames_missing, status_number, streaming_host};
use crate::report::Measured;

pub const WHAT: &str = "demo-snake 640x360@30 live through the host to nginx-rtmp for --long seconds: frames lost in the game, on the socket, in the host and in the output";

/// Most the game may take to start; it exits by itself after the stream.
const START_UP: Duration = Duration::from_secs(20);

/// Time after the game is shown before counting: start-up (first captures,
/// encoder and RTMP session) is not the steady state the budget is about.
const SETTLE: Duration = Duration::from_secs(5);

pub fn run(dir: &Path, seconds: u64) -> Measured {
    let nginx = NginxRtmp::start(&dir.join("nginx"));
    let output = nginx.url("bench");
    let host = streaming_host(dir, &output, "640x360", "none");
    let frame_log = dir.join("frames.txt");
    let spawned = Instant::now();
    let lifetime = Duration::from_secs(seconds) + SETTLE + START_UP;
    let duration = lifetime.as_secs().to_string();
    let frame_log_arg = frame_log.to_string_lossy();
    let game_args = ["--headless", "--size", "640x360", "--fps", "30"];
    let game_args = [
        &game_args[..],
        &["--duration", &duration, "--frame-log", &frame_log_arg],
    ]
    .concat();
    let mut game = demo_game(dir, &host, "snake", "game", &game_args);
    host.wait_games(1);
    host.ctl(&["go-live"]);
    host.ctl(&["show", "snake"]);
    std::thread::sleep(SETTLE);
    let steady = host.status();
    std::thread::sleep(Duration::from_secs(seconds));
    let at_hide = host.status();
    host.ctl(&["hide-all"]);
    std::thread::sleep(Duration::from_millis(1500)); // frames in flight arrive
    let after = host.status();
    assert!(
        spawned.elapsed() < lifetime,
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
    let capture = steady_capture(&log, SETTLE.as_secs_f64());
    let received = |status: &HostStatus| status.games[0].frames as f64;
    let delta = |counter: fn(&HostStatus) -> u64| (counter(&at_hide) - counter(&steady)) as f64;
    let counts = Counts {
        attempts: capture.attempts,
        lost_in_game: capture.lost,
        sent: status_number(&stats, "frames_sent"),
        received: received(&after),
        lost_in_sequence: after.games[0].frames_lost as f64,
        superseded: delta(|s| s.frames_superseded),
    };
    let recorded = video_frame_times(&nginx.recording("bench"));
    let mut measured = counts.figures();
    measured.set("seconds", seconds as f64);
    measured.set(
        "game_frames_lost_whole_run",
        status_number(&stats, "frames_skipped") + status_number(&stats, "frames_dropped"),
    );
    measured.set(
        "host_frames_received",
        received(&at_hide) - received(&steady),
    );
    measured.set("host_video_delay_ms", at_hide.video_delay_ms.unwrap_or(0.0));
    let (pushed, repeated) = (delta(|s| s.frames_pushed), delta(|s| s.frames_repeated));
    measured.set("output_frames_pushed", pushed);
    measured.set("output_frames_repeated", repeated);
    measured.set(
        "output_repeated_percent",
        100.0 * repeated / pushed.max(1.0),
    );
    measured.set(
        "output_frames_missing",
        frames_missing(&recorded, 30) as f64,
    );
    measured
}

/// Capture attempts and frames lost in the game during the steady state:
/// from `settle` seconds after its first capturing frame to its last, read
/// from `--frame-log` lines (`SECONDS FRAME_MS CAPTURING SKIPPED DROPPED`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct SteadyCapture {
    attempts: f64,
    lost: f64,
}

fn steady_capture(frame_log: &str, settle: f64) -> SteadyCapture {
    let capturing: Vec<(f64, f64)> = frame_log
        .lines()
        .filter_map(|line| {
            let fields: Vec<f64> = line
                .split_whitespace()
                .map(|f| f.parse().unwrap_or(f64::NAN))
                .collect();
            (fields.len() == 5 && fields[2] == 1.0).then(|| (fields[0], fields[3] + fields[4]))
        })
        .collect();
    let Some(&(first, _)) = capturing.first() else {
        return SteadyCapture {
            attempts: 0.0,
            lost: 0.0,
        };
    };
    let steady: Vec<&(f64, f64)> = capturing
        .iter()
        .filter(|(t, _)| *t >= first + settle)
        .collect();
    match (steady.first(), steady.last()) {
        (Some(start), Some(end)) => SteadyCapture {
            attempts: steady.len() as f64,
            lost: end.1 - start.1,
        },
        _ => SteadyCapture {
            attempts: 0.0,
            lost: 0.0,
        },
    }
}

/// Where frames went in the steady state, from the game's and the host's counters.
#[derive(Debug, Clone, Copy)]
struct Counts {
    /// Frames the game tried to capture (one per frame at 30 fps).
    attempts: f64,
    /// Not captured (GPU busy) or read back but not sent (socket behind).
    lost_in_game: f64,
    /// Handed to the socket (whole run).
    sent: f64,
    /// Received by the host (whole run).
    received: f64,
    /// Gaps in the frame numbers the host received (whole run).
    lost_in_sequence: f64,
    /// Received but pushed out of the pump's queue unstreamed.
    superseded: f64,
}

impl Counts {
    fn figures(self) -> Measured {
        let attempts = self.attempts.max(1.0);
        let game = self.lost_in_game;
        let socket = (self.sent - self.received)
            .max(self.lost_in_sequence)
            .max(0.0);
        let host = self.superseded;
        let mut measured = Measured::default();
        measured.set("game_capture_attempts", self.attempts);
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
            attempts: 1000.0,
            lost_in_game: 12.0,
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

    #[test]
    fn the_steady_state_starts_after_the_first_captures_settle() {
        let log = "0.1 33 0 0 0\n1.0 33 1 0 0\n2.0 33 1 3 1\n6.0 33 1 4 1\n7.0 33 1 4 2\n8.0 33 0 4 2\n# stats {}\n";
        let steady = steady_capture(log, 5.0);
        assert_eq!(
            steady,
            SteadyCapture {
                attempts: 2.0,
                lost: 1.0
            }
        );
        assert_eq!(steady_capture("", 5.0).attempts, 0.0);
    }
}
