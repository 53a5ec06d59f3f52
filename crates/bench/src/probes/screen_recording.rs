//! Our capture vs screen recording, same game, same ingest. Under a private
//! Xvfb, `demo-snake` plays in a real 640×360 window with its audience
//! overlay up (30 chat lines) and is streamed to a private nginx-rtmp at
//! 30 fps, x264 `veryfast`, 2500 kbit/s, two ways one after the other:
//! (a) `bevy_livestream` — the game captures its camera, `livestream-host`
//! encodes (with the game's audio); (b) screen recording — the game alone,
//! `ffmpeg -f x11grab` encodes the screen (no audio: nothing to loop back
//! from without a sound server). The game runs uncapped (Xvfb has no vsync),
//! so its frame rate shows what each way leaves it. Then another window
//! (`ffplay`, magenta) covers the game: what do viewers get?

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use livestream_e2e::{Colour, colour_of, demo_game_with, log};
use livestream_testkit::{NginxRtmp, Reaped, Xvfb, rgb_frames};

use super::{cpu_seconds, streaming_host};
use crate::report::Measured;

pub const WHAT: &str = "demo-snake in a 640x360 window under Xvfb, overlay up, streamed at 30 fps veryfast 2500k by bevy_livestream vs ffmpeg x11grab; then a window covers the game";

const SIZE: &str = "640x360";
/// The overlay's chat panel in window coordinates (as `tests/overlay.rs`).
const OVERLAY: (usize, usize, usize, usize) = (20, 60, 280, 300);
/// Time for the window and the encoder to settle before measuring.
const SETTLE: Duration = Duration::from_secs(4);
/// How long the covering window stays before the run ends.
const COVERED: Duration = Duration::from_secs(3);
/// Frames at the end of the recording judged as "covered" (the last second).
const COVERED_FRAMES: usize = 30;

#[derive(Clone, Copy, PartialEq)]
enum Way {
    Ours,
    ScreenRecording,
}

pub fn run(dir: &Path, seconds: u64) -> Measured {
    let xvfb = Xvfb::start(640, 360);
    let mut measured = Measured::default();
    for (way, prefix) in [(Way::Ours, "ours"), (Way::ScreenRecording, "screen")] {
        let work = dir.join(prefix);
        std::fs::create_dir_all(&work).expect("work dir");
        for (name, value) in run_one(&work, &xvfb, way, seconds) {
            measured.set(&format!("{prefix}_{name}"), value);
        }
    }
    measured
}

fn run_one(dir: &Path, xvfb: &Xvfb, way: Way, seconds: u64) -> Vec<(&'static str, f64)> {
    let display = xvfb.display();
    let nginx = NginxRtmp::start(&dir.join("nginx"));
    let url = nginx.url("bench");
    // For the screen recording the host socket stays unused: the game runs alone.
    let host = streaming_host(dir, &url, SIZE, "none");
    let frame_log = dir.join("frames.txt");
    let lifetime = (SETTLE + Duration::from_secs(seconds) + COVERED).as_secs() + 30;
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
        ],
        &[
            ("DISPLAY", display.as_str()),
            // Screen recording: the game must not find (or start) a host.
            (
                "LIVESTREAM_SOCKET",
                match way {
                    Way::Ours => host.socket.to_str().unwrap_or_default(),
                    Way::ScreenRecording => game_socket.to_str().unwrap_or_default(),
                },
            ),
        ],
    );
    let ffmpeg = match way {
        Way::Ours => {
            host.wait_games(1);
            host.ctl(&["go-live"]);
            host.ctl(&["show", "snake"]);
            for n in 0..30 {
                host.ctl(&["say", "--user", "viewer", &format!("chat line {n}")]);
            }
            None
        }
        Way::ScreenRecording => {
            std::thread::sleep(Duration::from_secs(3)); // the window is up
            let ffmpeg = Reaped::spawn(
                Command::new("ffmpeg")
                    .args(["-v", "error", "-f", "x11grab", "-framerate", "30"])
                    .args(["-video_size", SIZE, "-i", &display])
                    .args(["-c:v", "libx264", "-preset", "veryfast", "-b:v", "2500k"])
                    .args(["-g", "60", "-pix_fmt", "yuv420p", "-f", "flv", &url])
                    .stdin(Stdio::null())
                    .stderr(log(dir, "ffmpeg")),
            );
            Some(ffmpeg)
        }
    };
    let encoder = ffmpeg.as_ref().map_or(host.process.pid(), Reaped::pid);
    std::thread::sleep(SETTLE);
    let window_start = started.elapsed().as_secs_f64();
    let (g0, e0, t0) = (
        cpu_seconds(game.pid()),
        cpu_seconds(encoder),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(seconds));
    let (g1, e1) = (cpu_seconds(game.pid()), cpu_seconds(encoder));
    let span = t0.elapsed().as_secs_f64();
    let window_end = started.elapsed().as_secs_f64();
    let _cover = Reaped::spawn(
        Command::new("ffplay")
            .args(["-v", "error", "-an", "-noborder", "-f", "lavfi"])
            .arg(format!("color=c=0xC000C0:s={SIZE}"))
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(log(dir, "cover")),
    );
    std::thread::sleep(COVERED);
    drop(ffmpeg);
    drop(host);
    drop(game);
    let frames = rgb_frames(&nginx.recording("bench"), 160, 90);
    assert!(
        frames.len() > COVERED_FRAMES * 2,
        "nginx recorded {} frames",
        frames.len()
    );
    let (before, covered) = frames.split_at(frames.len() - COVERED_FRAMES);
    let game_visible = covered
        .iter()
        .filter(|rgb| colour_of(rgb) == Colour::Green)
        .count() as f64
        / covered.len() as f64;
    vec![
        ("game_fps", frame_rate(&frame_log, window_start, window_end)),
        ("game_cores", (g1 - g0) / span),
        ("encoder_cores", (e1 - e0) / span),
        ("overlay_area_in_stream", overlay_share(before, 160, 90)),
        ("game_in_stream_while_covered", game_visible),
        ("stream_frames", frames.len() as f64),
    ]
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
/// (frames scaled to `width`×`height`, a quarter of the window).
fn overlay_share(frames: &[Vec<u8>], width: usize, height: usize) -> f64 {
    let (x0, y0, x1, y1) = (OVERLAY.0 / 4, OVERLAY.1 / 4, OVERLAY.2 / 4, OVERLAY.3 / 4);
    let y1 = y1.min(height);
    frames
        .iter()
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
    fn the_overlay_share_is_the_worst_frame() {
        let (w, h) = (160, 90);
        let green = vec![[30u8, 140, 50]; w * h].concat();
        let mut panel = green.clone();
        for y in 15..75 {
            for x in 5..70 {
                panel[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&[20, 20, 25]);
            }
        }
        assert_eq!(overlay_share(std::slice::from_ref(&green), w, h), 0.0);
        assert_eq!(overlay_share(&[green, panel], w, h), 1.0);
    }
}
