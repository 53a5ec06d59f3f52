//! Our capture vs OBS Studio vs screen recording, same game, same ingest.
//! On a private desktop (Xvfb + openbox) with a private PulseAudio,
//! `demo-snake` plays in a real 640×360 window filling the screen, with its
//! audience overlay up (30 chat lines), its sound going to the sound
//! server's `game_sound` sink, and its frame number drawn along the bottom
//! (`--frame-code`). It is streamed to a private nginx-rtmp at 30 fps, x264
//! `veryfast` `zerolatency`, 2500 kbit/s, keyframes every 2 s, AAC
//! 128 kbit/s, three ways one after the other: (a) `bevy_livestream` — the
//! game captures its camera and its mixer, `livestream-host` encodes; (b)
//! OBS Studio — the game alone, OBS (configured from files, started from the
//! command line, iconified) captures the screen and the `game_sound`
//! monitor and encodes, its own stats read over obs-websocket; (c) screen
//! recording — the game alone, `ffmpeg -f x11grab -f pulse` encodes.
//! The game runs uncapped (Xvfb has no vsync), so its frame rate shows what
//! each way leaves it. Phases: settle, CPU window, latency window (the frame
//! code played back from nginx, as the `latency` probe), then another window
//! (`ffplay`, magenta) covers the game, then the player minimises the game.
//! For each, what the stream shows: the game (its green), live (its frame
//! code advancing) or frozen, or the other window (magenta). Our plugin
//! reports the game hidden in both cases and the host holds its last frame.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use livestream_e2e::{Colour, colour_of, demo_game_with, log, mean_rgb};
use livestream_testkit::{NginxRtmp, PulseMic, Reaped, audio_samples, frame_counters, rgb_frames};
use serde_json::Value;

use super::desktop::Desktop;
use super::latency::{play_and_time, set_latency_figures};
use super::obs::{ObsSettings, ObsStudio};
use super::{cpu_seconds, streaming_host};
use crate::report::Measured;

pub const WHAT: &str = "demo-snake in a 640x360 window on Xvfb + openbox, overlay up, sound to PulseAudio, streamed at 30 fps x264 veryfast zerolatency 2500k, keyframes 2 s, AAC 128k by bevy_livestream vs OBS Studio 29 (screen capture + pulse) vs ffmpeg x11grab + pulse; then a window covers the game, then it is minimised";

const SIZE: &str = "640x360";
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
/// The overlay's chat panel in window coordinates (as `tests/overlay.rs`).
const OVERLAY: (usize, usize, usize, usize) = (20, 60, 280, 300);
/// Time for the window and the encoder to settle before measuring.
const SETTLE: Duration = Duration::from_secs(4);
/// How long the game stays covered, then minimised.
const PHASE: Duration = Duration::from_secs(4);
/// Output frames in a phase, and the frames judged in it: the middle two
/// seconds, so a second of timing slack either side never mixes phases.
const PHASE_FRAMES: usize = 120;
const JUDGED: std::ops::Range<usize> = 30..90;
/// Size the recording is scaled to for colour checks (a quarter of the window).
const SMALL: (u32, u32) = (160, 90);
/// The null sink the game plays into; OBS and screen recording record its monitor.
const GAME_SINK: &str = "game_sound";
/// The demo game's window title.
const TITLE: &str = "Snake";

#[derive(Clone, Copy, PartialEq)]
enum Way {
    Ours,
    Obs,
    ScreenRecording,
}

impl Way {
    /// The figures' prefix (and work dir) for this way.
    fn prefix(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Obs => "obs",
            Self::ScreenRecording => "screen",
        }
    }
}

/// What encodes the game's picture and sound for one way.
enum Encoder {
    /// `livestream-host`, already streaming.
    Host,
    Obs(Box<ObsStudio>),
    Ffmpeg(Reaped),
}

pub fn run(dir: &Path, seconds: u64) -> Measured {
    assert!(
        super::obs::installed(),
        "OBS Studio is not installed (scripts/setup.sh --bench installs it)"
    );
    let desktop = Desktop::start(dir, WIDTH, HEIGHT);
    // A sound server as on a desktop (the script's tone plays into a sink of
    // its own that no way records).
    let pulse = PulseMic::start(dir, 1000.0);
    for args in [
        &[
            "load-module",
            "module-null-sink",
            &format!("sink_name={GAME_SINK}"),
        ][..],
        &["set-default-sink", GAME_SINK],
    ] {
        let status = pulse
            .client("pactl")
            .args(args)
            .stdout(Stdio::null())
            .status()
            .expect("pactl");
        assert!(status.success(), "pactl {args:?} failed");
    }
    let mut measured = Measured::default();
    for way in [Way::Ours, Way::Obs, Way::ScreenRecording] {
        let work = dir.join(way.prefix());
        std::fs::create_dir_all(&work).expect("work dir");
        run_one(&work, &desktop, &pulse, way, seconds, &mut measured);
    }
    measured
}

fn run_one(
    dir: &Path,
    desktop: &Desktop,
    pulse: &PulseMic,
    way: Way,
    seconds: u64,
    measured: &mut Measured,
) {
    let display = desktop.display();
    let nginx = NginxRtmp::start(&dir.join("nginx"));
    let url = nginx.url("bench");
    // For OBS and screen recording the host socket stays unused: the game runs alone.
    let host = streaming_host(dir, &url, SIZE, "none");
    let frame_log = dir.join("frames.txt");
    let codes = dir.join("codes.txt");
    let lifetime = SETTLE.as_secs() + 3 * seconds + 2 * PHASE.as_secs() + 120;
    let game_socket = dir.join("no-host.sock");
    let started = Instant::now();
    let game = demo_game_with(
        dir,
        &host,
        "snake",
        "game",
        &[
            "--size",
            SIZE,
            "--duration",
            &lifetime.to_string(),
            "--frame-log",
            &frame_log.to_string_lossy(),
            "--frame-code",
            &codes.to_string_lossy(),
        ],
        &[
            ("DISPLAY", display.as_str()),
            ("PULSE_SERVER", pulse.server.as_str()),
            // OBS and screen recording: the game must not find (or start) a host.
            (
                "LIVESTREAM_SOCKET",
                match way {
                    Way::Ours => host.socket.to_str().unwrap_or_default(),
                    Way::Obs | Way::ScreenRecording => game_socket.to_str().unwrap_or_default(),
                },
            ),
        ],
    );
    desktop.wait_window(TITLE);
    let monitor = format!("{GAME_SINK}.monitor");
    let mut encoder = match way {
        Way::Ours => {
            host.wait_games(1);
            host.ctl(&["go-live"]);
            host.ctl(&["show", "snake"]);
            Encoder::Host
        }
        Way::Obs => Encoder::Obs(Box::new(ObsStudio::start(
            &dir.join("obs"),
            &display,
            pulse,
            &ObsSettings {
                width: WIDTH,
                height: HEIGHT,
                fps: 30,
                preset: "veryfast",
                video_kbps: 2500,
                audio_kbps: 128,
                keyframe_seconds: 2,
                rtmp_url: &url,
                audio_source: &monitor,
            },
        ))),
        Way::ScreenRecording => Encoder::Ffmpeg(Reaped::spawn(
            pulse
                .client("ffmpeg")
                .args(["-v", "error", "-f", "x11grab", "-framerate", "30"])
                .args(["-video_size", SIZE, "-i", &display])
                .args(["-f", "pulse", "-i", &monitor])
                .args([
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-tune",
                    "zerolatency",
                ])
                .args(["-b:v", "2500k", "-g", "60", "-pix_fmt", "yuv420p"])
                .args(["-c:a", "aac", "-b:a", "128k", "-f", "flv", &url])
                .stdin(Stdio::null())
                .stderr(log(dir, "ffmpeg")),
        )),
    };
    if way == Way::Ours {
        // The audience overlay up, as a streamer playing would have it.
        for n in 0..30 {
            host.ctl(&["say", "--user", "viewer", &format!("chat line {n}")]);
        }
    }
    let encoder_pid = match &encoder {
        Encoder::Host => host.process.pid(),
        Encoder::Obs(obs) => obs.pid(),
        Encoder::Ffmpeg(ffmpeg) => ffmpeg.pid(),
    };
    std::thread::sleep(SETTLE);
    let window_start = started.elapsed().as_secs_f64();
    let obs_before = match &mut encoder {
        Encoder::Obs(obs) => Some(obs.stats()),
        _ => None,
    };
    let (g0, e0, t0) = (
        cpu_seconds(game.pid()),
        cpu_seconds(encoder_pid),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(seconds));
    let (g1, e1) = (cpu_seconds(game.pid()), cpu_seconds(encoder_pid));
    let span = t0.elapsed().as_secs_f64();
    let window_end = started.elapsed().as_secs_f64();
    if let (Encoder::Obs(obs), Some(before)) = (&mut encoder, obs_before) {
        set_obs_figures(measured, &before, &obs.stats(), &obs.stream_status());
    }
    let latencies = play_and_time(dir, &url, (WIDTH, HEIGHT), seconds, &codes);

    let cover = Reaped::spawn(
        std::process::Command::new("ffplay")
            .args(["-v", "error", "-an", "-noborder", "-f", "lavfi"])
            .arg(format!("color=c=0xC000C0:s={SIZE}"))
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(log(dir, "cover")),
    );
    std::thread::sleep(PHASE);
    drop(cover);
    desktop.minimise(TITLE);
    std::thread::sleep(PHASE);
    drop(encoder);
    drop(host);
    drop(game);

    let recording = nginx.recording("bench");
    let frames = rgb_frames(&recording, SMALL.0, SMALL.1);
    let counters = frame_counters(&recording, WIDTH, HEIGHT);
    assert!(
        frames.len() > 2 * PHASE_FRAMES + 30 && counters.len() == frames.len(),
        "nginx recorded {} frames ({} decoded for counters)",
        frames.len(),
        counters.len()
    );
    let phase = |from_end: usize| {
        let start = frames.len() - from_end * PHASE_FRAMES;
        (start + JUDGED.start)..(start + JUDGED.end)
    };
    let (covered, minimised) = (phase(2), phase(1));
    let samples = audio_samples(&recording);
    let rms = (samples.iter().map(|s| s * s).sum::<f64>() / samples.len().max(1) as f64).sqrt();
    let prefix = way.prefix();
    let mut set = |name: &str, value: f64| measured.set(&format!("{prefix}_{name}"), value);
    set("game_fps", frame_rate(&frame_log, window_start, window_end));
    set("game_cores", (g1 - g0) / span);
    set("encoder_cores", (e1 - e0) / span);
    set(
        "overlay_area_in_stream",
        overlay_share(&frames[..covered.start], SMALL.0 as usize, SMALL.1 as usize),
    );
    set("audio_dbfs", 20.0 * rms.max(1e-9).log10());
    set("stream_frames", frames.len() as f64);
    for (state, range) in [("covered", covered), ("minimised", minimised)] {
        set(
            &format!("game_in_stream_while_{state}"),
            share_green(&frames[range.clone()]),
        );
        set(
            &format!("other_window_in_stream_while_{state}"),
            share_cover(&frames[range.clone()]),
        );
        set(
            &format!("game_live_while_{state}"),
            share_advancing(&counters[range.start - 1..range.end]),
        );
    }
    set_latency_figures(measured, &format!("{prefix}_latency_"), &latencies);
}

/// OBS's own view of the CPU window, from obs-websocket: its frame rate,
/// the share of frames its renderer and its encoder skipped (lagged or
/// overloaded), and its own CPU use.
fn set_obs_figures(measured: &mut Measured, before: &Value, after: &Value, stream: &Value) {
    let delta =
        |key: &str| after[key].as_f64().unwrap_or(0.0) - before[key].as_f64().unwrap_or(0.0);
    let share = |skipped: &str, total: &str| delta(skipped) / delta(total).max(1.0);
    measured.set(
        "obs_own_active_fps",
        after["activeFps"].as_f64().unwrap_or(f64::NAN),
    );
    measured.set(
        "obs_own_render_skipped_share",
        share("renderSkippedFrames", "renderTotalFrames"),
    );
    measured.set(
        "obs_own_output_skipped_share",
        share("outputSkippedFrames", "outputTotalFrames"),
    );
    measured.set(
        "obs_own_cpu_percent",
        after["cpuUsage"].as_f64().unwrap_or(f64::NAN),
    );
    let stream_total = stream["outputTotalFrames"].as_f64().unwrap_or(0.0);
    measured.set(
        "obs_own_stream_skipped_share",
        stream["outputSkippedFrames"].as_f64().unwrap_or(0.0) / stream_total.max(1.0),
    );
}

/// Share of frames that show the game (its green).
fn share_green(frames: &[Vec<u8>]) -> f64 {
    frames
        .iter()
        .filter(|rgb| colour_of(rgb) == Colour::Green)
        .count() as f64
        / frames.len().max(1) as f64
}

/// Share of frames that show the covering window (its magenta): another
/// program's picture on the stream.
fn share_cover(frames: &[Vec<u8>]) -> f64 {
    let magenta = |rgb: &&Vec<u8>| {
        let [r, g, b] = mean_rgb(rgb);
        r > 150.0 && b > 150.0 && g < 80.0
    };
    frames.iter().filter(|rgb| magenta(rgb)).count() as f64 / frames.len().max(1) as f64
}

/// Share of frames (after the first) showing a new legible frame code: the
/// game live on the stream, rather than frozen, covered or gone.
fn share_advancing(counters: &[Option<u32>]) -> f64 {
    let fresh = counters
        .windows(2)
        .filter(|pair| pair[1].is_some() && pair[1] != pair[0])
        .count();
    fresh as f64 / counters.len().saturating_sub(1).max(1) as f64
}

/// The game's frames per second between two times since it started (seconds),
/// from its `--frame-log` (its own clock starts a little after the spawn).
fn frame_rate(frame_log: &Path, from: f64, to: f64) -> f64 {
    let text = std::fs::read_to_string(frame_log).unwrap_or_default();
    let times: Vec<f64> = text
        .lines()
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .filter(|t| (from..to).contains(t))
        .collect();
    match (times.first(), times.last()) {
        (Some(first), Some(last)) if last > first => (times.len() - 1) as f64 / (last - first),
        _ => f64::NAN,
    }
}

/// The largest share of the overlay's area that is dark panel in any frame
/// showing the game (frames scaled to `width`×`height`, a quarter of the
/// window); the black frames a stream may open with are not the game's.
fn overlay_share(frames: &[Vec<u8>], width: usize, height: usize) -> f64 {
    let (x0, y0, x1, y1) = (OVERLAY.0 / 4, OVERLAY.1 / 4, OVERLAY.2 / 4, OVERLAY.3 / 4);
    let y1 = y1.min(height);
    frames
        .iter()
        .filter(|rgb| colour_of(rgb) == Colour::Green)
        .map(|rgb| {
            let mut dark = 0usize;
            for y in y0..y1 {
                for x in x0..x1.min(width) {
                    let i = (y * width + x) * 3;
                    dark += usize::from(rgb[i..i + 3].iter().all(|&v| v < 60));
                }
            }
            dark as f64 / ((y1 - y0) * (x1.min(width) - x0)) as f64
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_covering_window_is_told_by_its_magenta() {
        let magenta = [[192u8, 0, 192]; 16].concat();
        let green = [[30u8, 140, 50]; 16].concat();
        assert_eq!(share_cover(&[magenta, green]), 0.5);
    }

    #[test]
    fn frozen_or_missing_codes_are_not_live() {
        assert_eq!(share_advancing(&[Some(1), Some(2), Some(3)]), 1.0);
        assert_eq!(
            share_advancing(&[Some(1), Some(1), None, None, Some(4)]),
            0.25
        );
        assert_eq!(share_advancing(&[None, None]), 0.0);
    }

    #[test]
    fn the_overlay_share_is_the_worst_frame() {
        let (w, h) = (160, 90);
        let green = vec![[30u8, 140, 50]; w * h].concat();
        let mut panel = green.clone();
        for y in 15..75 {
            for x in 5..70 {
                panel[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&[20, 20, 25]);
            }
        }
        let black = vec![0u8; w * h * 3];
        assert_eq!(overlay_share(&[green.clone(), black], w, h), 0.0);
        assert_eq!(overlay_share(&[green, panel], w, h), 1.0);
    }
}
