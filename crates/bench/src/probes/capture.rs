//! Capture cost: `demo-dodge` (3D) runs headless and uncapped; this probe is
//! its host on the real socket, but only drains what arrives (no encoder on
//! the shared cores), and turns streaming off and on in alternating phases.
//! The game logs every frame's time and whether it was capturing
//! (`--frame-log`); each on-phase's median frame time is divided by the mean
//! of its two neighbouring off-phases (a ratio within one run, so machine
//! noise hits both sides). Bytes per pixel come from the payloads received.
//! The game's log says which render adapter drew and where captured frames
//! were converted (CPU or GPU); both go into the report as notes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use livestream_e2e::{binary, log};
use livestream_ipc::{LinkEvent, Server, ServerConfig, ServerEvent};
use livestream_protocol::{GameMessage, HostMessage, MediaRequest};
use livestream_testkit::Reaped;

use crate::report::Measured;

pub const WHAT: &str = "demo-dodge headless, uncapped: median frame time with capture on / off (alternating 3 s phases, a drain-only host), and bytes per pixel on the socket";

/// Streaming-off and -on phases after the warm-up: off, on, off, on, off, on, off.
const PHASES: usize = 7;
const PHASE: Duration = Duration::from_secs(3);
/// Streaming on while shaders and pipelines compile.
const WARM_UP: Duration = Duration::from_secs(4);
/// Frames at the start of each phase left out (the switch itself).
const SETTLE_FRAMES: usize = 10;

pub fn run(dir: &Path, size: &str) -> Measured {
    let socket = dir.join("bench.sock");
    let server = Server::bind(ServerConfig::new(&socket)).expect("bind the bench's socket");
    let frame_log = dir.join("frames.txt");
    // 240 fps (the game's highest) is above what it reaches here: uncapped.
    let mut game = Reaped::spawn(
        Command::new(binary("demo-dodge"))
            .env("LIVESTREAM_SOCKET", &socket)
            .args(["--headless", "--size", size, "--fps", "240", "--frame-log"])
            .arg(&frame_log)
            .stdout(Stdio::null())
            .stderr(log(dir, "game")),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let link = loop {
        if let Ok(ServerEvent::Connected(connected)) =
            server.events().recv_timeout(Duration::from_millis(200))
        {
            break connected.link;
        }
        if let Some(code) = game.wait_timeout(Duration::ZERO) {
            panic!("demo-dodge exited ({code}) before connecting; see game.log");
        }
        assert!(Instant::now() < deadline, "demo-dodge never connected");
    };
    let outbox = link.outbox().clone();
    let done = Arc::new(AtomicBool::new(false));
    let drain = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut frames, mut bytes, mut pixels) = (0u64, 0u64, 0u64);
            while !done.load(Ordering::Relaxed) {
                match link.recv_timeout(Duration::from_millis(100)) {
                    Some(LinkEvent::Message(envelope)) => {
                        if let GameMessage::VideoFrame(header) = envelope.message {
                            frames += 1;
                            bytes += envelope.payload.len() as u64;
                            pixels += u64::from(header.width * header.height);
                        }
                    }
                    Some(LinkEvent::Closed(_)) => break,
                    None => {}
                }
            }
            (frames, bytes, pixels)
        })
    };
    let media = |on: bool| {
        HostMessage::Media(MediaRequest {
            video: on,
            audio: on,
            fps: 30,
        })
    };
    outbox.send(media(true)).expect("queue");
    std::thread::sleep(WARM_UP);
    for phase in 0..PHASES {
        outbox.send(media(phase % 2 == 1)).expect("queue");
        std::thread::sleep(PHASE);
    }
    done.store(true, Ordering::Relaxed);
    let (frames, bytes, pixels) = drain.join().expect("drain thread");
    let log = std::fs::read_to_string(&frame_log).expect("the game's frame log");
    let frame_times = parse_frame_log(&log);
    let ratios = phase_ratios(&frame_times);
    assert!(
        !ratios.is_empty(),
        "no complete off/on/off phases in the frame log"
    );
    let mut measured = Measured::default();
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    measured.set("ratio_on_off", sorted[sorted.len() / 2]);
    measured.set("frames_received", frames as f64);
    measured.set("bytes_per_pixel", bytes as f64 / pixels.max(1) as f64);
    let (off, on) = phase_medians(&frame_times);
    measured.set("frame_ms_off", off);
    measured.set("frame_ms_on", on);
    drop(game);
    let game_log = std::fs::read_to_string(dir.join("game.log")).unwrap_or_default();
    if let Some(adapter) = render_adapter(&game_log) {
        measured.note("render_adapter", adapter);
    }
    if let Some(site) = conversion_site(&game_log) {
        measured.note("conversion", site);
    }
    measured
}

/// The render adapter in a Bevy log (its `AdapterInfo` line): name, device
/// type and driver, e.g. `llvmpipe (LLVM 15.0.6, 256 bits), Cpu, Mesa 22.3.6`.
fn render_adapter(log: &str) -> Option<String> {
    let info = log
        .lines()
        .find_map(|line| line.split_once("AdapterInfo {"))?
        .1;
    let quoted = |key: &str| {
        let rest = info.split_once(&format!("{key}: \""))?.1;
        Some(rest.split_once('"')?.0.to_owned())
    };
    let device_type = info
        .split_once("device_type: ")?
        .1
        .split([',', ' '])
        .next()?
        .to_owned();
    Some(format!(
        "{}, {device_type}, {}",
        quoted("name")?,
        quoted("driver_info").unwrap_or_default()
    ))
}

/// Where the plugin last said it converts captured frames: `CPU` or `GPU`.
fn conversion_site(log: &str) -> Option<&str> {
    log.lines()
        .filter_map(|line| line.split_once("captured frames are converted to "))
        .filter_map(|(_, rest)| rest.rsplit_once(" on the "))
        .map(|(_, site)| site.trim())
        .next_back()
}

/// `(frame_ms, capturing)` per frame from `--frame-log` lines (`SECONDS FRAME_MS 0|1`).
fn parse_frame_log(text: &str) -> Vec<(f64, bool)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let ms = fields.next()?.parse().ok()?;
            Some((ms, fields.next()? == "1"))
        })
        .collect()
}

/// Median frame time of each phase (a run of frames with the same capture
/// state), without its first frames; phases before the first off-phase
/// (start-up, warm-up) are left out. `(capturing, median_ms)`.
fn phases(frames: &[(f64, bool)]) -> Vec<(bool, f64)> {
    let mut phases: Vec<(bool, Vec<f64>)> = Vec::new();
    for &(ms, on) in frames {
        match phases.last_mut() {
            Some((state, times)) if *state == on => times.push(ms),
            _ => phases.push((on, vec![ms])),
        }
    }
    let first_off = phases
        .iter()
        .position(|(on, _)| *on)
        .and_then(|warm_up| {
            phases[warm_up..]
                .iter()
                .position(|(on, _)| !on)
                .map(|i| i + warm_up)
        })
        .unwrap_or(phases.len());
    phases
        .into_iter()
        .skip(first_off)
        .filter(|(_, times)| times.len() > SETTLE_FRAMES * 2)
        .map(|(on, mut times)| {
            let mut settled = times.split_off(SETTLE_FRAMES);
            settled.sort_by(f64::total_cmp);
            (on, settled[settled.len() / 2])
        })
        .collect()
}

/// For each on-phase between two off-phases: its median frame time over the
/// mean of theirs.
fn phase_ratios(frames: &[(f64, bool)]) -> Vec<f64> {
    phases(frames)
        .windows(3)
        .filter(|w| !w[0].0 && w[1].0 && !w[2].0)
        .map(|w| w[1].1 / ((w[0].1 + w[2].1) / 2.0))
        .collect()
}

/// Median over the phases of the off- and on-phase frame times (ms).
fn phase_medians(frames: &[(f64, bool)]) -> (f64, f64) {
    let all = phases(frames);
    let median = |on: bool| {
        let mut v: Vec<f64> = all.iter().filter(|p| p.0 == on).map(|p| p.1).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    (median(false), median(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(phases: &[(bool, f64)]) -> Vec<(f64, bool)> {
        phases
            .iter()
            .flat_map(|&(on, ms)| {
                // The first frames of a phase are slow (the switch): left out.
                (0..40).map(move |i| (if i < 3 { ms * 5.0 } else { ms }, on))
            })
            .collect()
    }

    #[test]
    fn ratios_compare_each_on_phase_with_its_neighbours() {
        let log = frames(&[
            (false, 50.0), // start-up, before the warm-up: left out
            (true, 30.0),  // warm-up: left out
            (false, 10.0),
            (true, 11.0),
            (false, 12.0),
            (true, 13.2),
            (false, 12.0),
        ]);
        let ratios = phase_ratios(&log);
        assert_eq!(ratios.len(), 2);
        assert!((ratios[0] - 1.0).abs() < 1e-9, "{ratios:?}");
        assert!((ratios[1] - 1.1).abs() < 1e-9, "{ratios:?}");
        assert_eq!(phase_medians(&log), (12.0, 13.2));
    }

    #[test]
    fn the_adapter_and_conversion_site_are_read_from_the_game_log() {
        let log = "\x1b[2m2026-11-24T10:41:01Z\x1b[0m \x1b[32m INFO\x1b[0m bevy_render::renderer: AdapterInfo { name: \"llvmpipe (LLVM 15.0.6, 256 bits)\", vendor: 65541, device: 0, device_type: Cpu, device_pci_bus_id: \"\", driver: \"llvmpipe\", driver_info: \"Mesa 22.3.6 (LLVM 15.0.6)\", backend: Vulkan }
INFO bevy_livestream::capture::render: captured frames are converted to I420 on the GPU
INFO bevy_livestream::capture::render: captured frames are converted to I420 on the CPU
";
        assert_eq!(
            render_adapter(log).as_deref(),
            Some("llvmpipe (LLVM 15.0.6, 256 bits), Cpu, Mesa 22.3.6 (LLVM 15.0.6)")
        );
        assert_eq!(conversion_site(log), Some("CPU"));
        assert_eq!(render_adapter("no adapter yet"), None);
        assert_eq!(conversion_site(""), None);
    }

    #[test]
    fn the_frame_log_is_read_without_its_stats_line() {
        let text = "0.0100 10.000 0\n0.0210 11.000 1\n# stats {\"frames\":2}\n";
        assert_eq!(parse_frame_log(text), vec![(10.0, false), (11.0, true)]);
    }
}
