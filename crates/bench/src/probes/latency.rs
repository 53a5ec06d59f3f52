//! Capture → ingest latency: a `livestream-testsrc` game burns a frame
//! counter into every frame and logs when it sent it (`CLOCK_MONOTONIC`);
//! the host encodes and pushes to a private nginx-rtmp; `ffmpeg` plays the
//! stream back from nginx and decodes it; each counter's first appearance is
//! timed on the same clock. The figure therefore includes nginx relaying the
//! stream and ffmpeg's RTMP play and H.264 decode (low-delay flags): an upper
//! bound on what reaches the ingest.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use livestream_e2e::log;
use livestream_ipc::monotonic_ns;
use livestream_testkit::{GRAY_FRAMES, NginxRtmp, Reaped, wait_for};
use livestream_testsrc::pattern;

use super::{streaming_host, testsrc};
use crate::report::Measured;

pub const WHAT: &str = "testsrc frame counter burned in → host (x264 veryfast, 30 fps) → nginx-rtmp → ffmpeg play + decode, each counter's first appearance on the same clock";

pub fn run(dir: &Path, size: &str, seconds: u64) -> Measured {
    let (width, height) = livestream_protocol::parse_frame_size(size).expect("size as WxH");
    let nginx = NginxRtmp::start(&dir.join("nginx"));
    let output = nginx.url("latency");
    let host = streaming_host(dir, &output, size, "none");
    let frame_log = dir.join("frames.txt");
    let frame_log_arg = frame_log.to_string_lossy();
    let _game = testsrc(
        &host,
        "latency",
        size,
        &["--shown", "--tone", "0", "--frame-log", &frame_log_arg],
    );
    wait_for("the game", Duration::from_secs(10), || frame_log.exists());
    host.ctl(&["go-live"]);
    std::thread::sleep(Duration::from_secs(2));

    let latencies = play_and_time(dir, &output, (width, height), seconds, &frame_log);
    let mut measured = Measured::default();
    set_latency_figures(&mut measured, "", &latencies);
    measured.samples.insert("latency_ms".into(), latencies);
    measured
}

/// Plays `url` back from the ingest with `ffmpeg` (low-delay flags), decodes
/// every frame's burned-in counter (`livestream_testsrc::pattern`) and times
/// each counter's first appearance on `CLOCK_MONOTONIC`, for `seconds` from
/// one second after the first decoded frame. Returns the latencies in ms
/// since each counter was sent (`sent_log`: lines `FRAME_NUMBER
/// TIMESTAMP_NS`), sorted; panics when none could be timed.
pub fn play_and_time(
    dir: &Path,
    url: &str,
    (width, height): (u32, u32),
    seconds: u64,
    sent_log: &Path,
) -> Vec<f64> {
    let mut player = player(dir, url);
    let mut stdout = player.take_stdout().expect("ffmpeg stdout");
    let mut frame = vec![0u8; (width * height) as usize];
    let mut seen: HashMap<u32, u64> = HashMap::new();
    // At a low bitrate ffmpeg probes the stream for a few seconds, then
    // decodes what it buffered meanwhile at once: the window starts one
    // second after the first decoded frame, when playback is live.
    let mut window: Option<(Instant, Instant)> = None;
    let mut decoded = 0u64;
    while window.is_none_or(|(_, end)| Instant::now() < end)
        && stdout.read_exact(&mut frame).is_ok()
    {
        let now = Instant::now();
        let (start, _) = *window.get_or_insert_with(|| {
            let start = now + Duration::from_secs(1);
            (start, start + Duration::from_secs(seconds))
        });
        let arrived = monotonic_ns();
        decoded += 1;
        if let Some(counter) = pattern::read_counter(&frame, width, height, width as usize) {
            if now >= start {
                seen.entry(counter).or_insert(arrived);
            } else {
                seen.insert(counter, 0); // on screen before the window: not timed
            }
        }
    }
    seen.retain(|_, arrived| *arrived > 0);
    drop(player);
    assert!(
        decoded > 0,
        "ffmpeg decoded nothing from the ingest (see player.log)"
    );
    let sent: HashMap<u32, u64> = std::fs::read_to_string(sent_log)
        .expect("the log of sent frames")
        .lines()
        .filter_map(|line| {
            let (frame, ns) = line.split_once(' ')?;
            let frame: u64 = frame.parse().ok()?;
            Some(((frame & 0xff_ffff) as u32, ns.parse().ok()?))
        })
        .collect();
    let mut latencies: Vec<f64> = seen
        .iter()
        .filter_map(|(counter, arrived)| {
            Some(arrived.saturating_sub(*sent.get(counter)?) as f64 / 1e6)
        })
        .collect();
    assert!(
        !latencies.is_empty(),
        "no counter was legible in the stream"
    );
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// A viewer's player: `ffmpeg` playing `url` from the ingest with
/// low-delay flags, every decoded frame on its stdout as 8-bit gray, its
/// errors in `dir/player.log`.
pub fn player(dir: &Path, url: &str) -> Reaped {
    Reaped::spawn(
        Command::new("ffmpeg")
            .args(["-v", "error", "-fflags", "nobuffer", "-flags", "low_delay"])
            .args(["-probesize", "5000000", "-analyzeduration", "3000000", "-i"])
            .arg(url)
            .args(GRAY_FRAMES)
            .arg("-")
            .stdout(Stdio::piped())
            .stderr(log(dir, "player")),
    )
}

/// Sets `{prefix}p50_ms`, `p95_ms`, `p99_ms`, `max_ms` and `frames_timed`
/// from sorted latencies.
pub fn set_latency_figures(measured: &mut Measured, prefix: &str, latencies: &[f64]) {
    for (name, q) in [("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)] {
        measured.set(&format!("{prefix}{name}"), percentile(latencies, q));
    }
    measured.set(&format!("{prefix}max_ms"), latencies[latencies.len() - 1]);
    measured.set(&format!("{prefix}frames_timed"), latencies.len() as f64);
}

/// The `q` quantile of sorted values (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}
