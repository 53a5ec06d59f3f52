//! Frame-in → ingest-out latency of the host, printed as JSON.
//!
//! A `livestream-testsrc` game burns a frame counter into every frame and logs
//! when it sent it (`CLOCK_MONOTONIC`); the host encodes and pushes to a
//! private nginx-rtmp; `ffmpeg` plays the stream back from nginx and decodes
//! it; each counter's first appearance is timed on the same clock. The figure
//! therefore includes nginx relaying the stream and ffmpeg's RTMP play and
//! H.264 decode (with its low-delay flags): an upper bound on what the host adds.
//!
//! `scripts/bench-latency.sh [WxH] [SECONDS] [PRESET]` (builds the binaries,
//! then runs `cargo run -p livestream-host --example latency -- …`).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use livestream_ipc::monotonic_ns;
use livestream_testkit::{GRAY_FRAMES, NginxRtmp, Reaped, ctl, sibling_binary, wait_for};
use livestream_testsrc::pattern;

const FPS: u32 = 30;

/// The host binary in the target directory this example was built into.
fn host_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("built under target/<profile>/examples");
    let host = target.join("livestream-host");
    assert!(
        host.exists(),
        "{} missing: run scripts/bench-latency.sh, which builds the binaries first",
        host.display()
    );
    host
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (width, height) =
        livestream_protocol::parse_frame_size(args.first().map_or("640x360", String::as_str))
            .expect("size as WxH");
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let preset = args.get(2).cloned().unwrap_or_else(|| "veryfast".into());
    let size = format!("{width}x{height}");

    let dir = tempfile::tempdir().expect("temp dir");
    let nginx = NginxRtmp::start(&dir.path().join("nginx"));
    let socket = dir.path().join("sock/host.sock");
    let host_path = host_binary();
    let host = host_path.as_path();
    let _host = Reaped::spawn(
        Command::new(host)
            .args(["--headless", "--stay", "--mic", "none", "--size", &size])
            .args(["--fps", &FPS.to_string(), "--preset", &preset])
            .arg("--output")
            .arg(nginx.url("latency"))
            .arg("--socket")
            .arg(&socket)
            .stderr(std::fs::File::create(dir.path().join("host.log")).expect("log")),
    );
    wait_for("the host", Duration::from_secs(20), || socket.exists());
    let frame_log = dir.path().join("frames.txt");
    let _game = Reaped::spawn(
        Command::new(sibling_binary(host, "livestream-testsrc"))
            .args([
                "--name", "latency", "--shown", "--tone", "0", "--size", &size,
            ])
            .args(["--fps", &FPS.to_string()])
            .arg("--socket")
            .arg(&socket)
            .arg("--frame-log")
            .arg(&frame_log)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for("the game", Duration::from_secs(10), || frame_log.exists());
    ctl(host, &socket, &["go-live"]);
    std::thread::sleep(Duration::from_secs(2));

    let mut player = Reaped::spawn(
        Command::new("ffmpeg")
            .args(["-v", "error", "-fflags", "nobuffer", "-flags", "low_delay"])
            .args(["-probesize", "5000000", "-analyzeduration", "3000000", "-i"])
            .arg(nginx.url("latency"))
            .args(GRAY_FRAMES)
            .arg("-")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("ffmpeg.log")).expect("log")),
    );
    let mut stdout = player.take_stdout().expect("ffmpeg stdout");
    let frame_len = (width * height) as usize;
    let mut frame = vec![0u8; frame_len];
    let mut seen: HashMap<u32, u64> = HashMap::new();
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut decoded = 0u64;
    while Instant::now() < end && stdout.read_exact(&mut frame).is_ok() {
        let arrived = monotonic_ns();
        decoded += 1;
        if let Some(counter) = pattern::read_counter(&frame, width, height, width as usize) {
            seen.entry(counter).or_insert(arrived);
        }
    }
    drop(player);
    if decoded == 0 {
        let log = std::fs::read_to_string(dir.path().join("ffmpeg.log")).unwrap_or_default();
        panic!("ffmpeg decoded nothing from nginx: {log}");
    }

    let sent: HashMap<u32, u64> = std::fs::read_to_string(&frame_log)
        .expect("frame log")
        .lines()
        .filter_map(|line| {
            let (frame, ns) = line.split_once(' ')?;
            Some((frame.parse().ok()?, ns.parse().ok()?))
        })
        .collect();
    let mut latencies: Vec<f64> = seen
        .iter()
        .filter_map(|(counter, arrived)| {
            let sent = sent.get(counter)?;
            Some(arrived.saturating_sub(*sent) as f64 / 1e6)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let status = ctl(host, &socket, &["status"]);
    println!(
        "{}",
        serde_json::json!({
            "latency_ms": {
                "min": pick(0.0), "p50": pick(0.5), "p95": pick(0.95),
                "p99": pick(0.99), "max": pick(1.0),
            },
            "frames_timed": latencies.len(),
            "frames_decoded": decoded,
            "size": size, "fps": FPS, "preset": preset, "seconds": seconds,
            "frames_repeated": status["frames_repeated"],
            "includes": "host capture-to-encode, RTMP to nginx, nginx relay, ffmpeg play + decode (low-delay flags)",
            "build": "dev profile (dependencies opt-level 3)",
        })
    );
}
