//! A/V offset: a game turns its picture white and starts a click at the
//! same instant once a second, and the host records to a file (H.264 + AAC
//! in Matroska, the same pipeline as every output). In the recording, each
//! flash's first white frame is paired with the click's first loud sample:
//! offset = audio − video (positive: the sound comes late). Two games make
//! the marks: `livestream-testsrc --flash-every 1` (stamps its own audio,
//! no engine), and `demo-metronome`, a Bevy game whose tick is a
//! `bevy_audio` sound (its drone paused from chat so the ticks stand alone).

use std::path::Path;
use std::time::Duration;

use livestream_e2e::demo_game;
use livestream_testkit::{AUDIO_RATE, audio_samples, audio_start, rgb_frames, video_frame_times};

use super::{streaming_host, testsrc};
use crate::report::Measured;

pub const WHAT_TESTSRC: &str = "testsrc flashes white and clicks at the same capture instant every second; host records H.264/AAC at 30 fps; offset of each click onset from its flash's first frame";
pub const WHAT_BEVY_AUDIO: &str = "demo-metronome (headless, 30 fps) flashes white and spawns a bevy_audio tick in the same frame every second; host records H.264/AAC at 30 fps; offset of each tick onset from its flash's first frame";

const SIZE: &str = "640x360";

/// The game that makes the marks.
#[derive(Debug, Clone, Copy)]
pub enum Marker {
    /// `livestream-testsrc --flash-every 1`.
    Testsrc,
    /// `demo-metronome`: a Bevy game with a `bevy_audio` tick.
    Metronome,
}

pub fn run(dir: &Path, seconds: u64, marker: Marker) -> Measured {
    let output = format!("file:{}", dir.join("out-{n}.mkv").display());
    let recording = dir.join("out-1.mkv");
    let host = streaming_host(dir, &output, SIZE, "none");
    let _game = match marker {
        Marker::Testsrc => testsrc(&host, "sync", SIZE, &["--shown", "--flash-every", "1"]),
        Marker::Metronome => demo_game(
            dir,
            &host,
            "metronome",
            "metronome",
            &["--headless", "--size", SIZE, "--fps", "30"],
        ),
    };
    host.wait_games(1);
    if let Marker::Metronome = marker {
        host.ctl(&["say", "pause"]);
        host.ctl(&["show", "metronome"]);
    }
    host.ctl(&["go-live"]);
    std::thread::sleep(Duration::from_secs(seconds + 1));
    drop(host); // a clean stop finalises the file

    let video: Vec<f64> = {
        let times = video_frame_times(&recording);
        let luma = rgb_frames(&recording, 32, 18)
            .iter()
            .map(|rgb| rgb.iter().map(|&v| f64::from(v)).sum::<f64>() / rgb.len() as f64)
            .collect::<Vec<_>>();
        flash_onsets(&times, &luma)
    };
    let audio = click_onsets(&audio_samples(&recording), audio_start(&recording));
    let offsets = pair_offsets_ms(&video, &audio);
    assert!(
        offsets.len() >= 3,
        "too few flash/click pairs: {} flashes, {} clicks",
        video.len(),
        audio.len()
    );
    let mean = offsets.iter().sum::<f64>() / offsets.len() as f64;
    let mut measured = Measured::default();
    measured.set("offset_ms_mean", mean);
    measured.set(
        "offset_ms_min",
        offsets.iter().copied().fold(f64::INFINITY, f64::min),
    );
    measured.set(
        "offset_ms_max",
        offsets.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    measured.set(
        "worst_abs_offset_ms",
        offsets.iter().map(|o| o.abs()).fold(0.0, f64::max),
    );
    measured.set("marks", offsets.len() as f64);
    measured
}

/// Times of frames that turn white (mean level ≥ 235 after one below 200).
fn flash_onsets(times: &[f64], levels: &[f64]) -> Vec<f64> {
    (1..times.len().min(levels.len()))
        .filter(|&i| levels[i - 1] < 200.0 && levels[i] >= 235.0)
        .map(|i| times[i])
        .collect()
}

/// Times of clicks: the first sample above 0.2 after 100 ms without one
/// (AAC's pre-echo before an onset stays far below that).
fn click_onsets(samples: &[f64], start: f64) -> Vec<f64> {
    let gap = (AUDIO_RATE * 0.1) as usize;
    let mut last_loud: Option<usize> = None;
    let mut onsets = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if s.abs() > 0.2 {
            if last_loud.is_none_or(|last| i - last > gap) {
                onsets.push(start + i as f64 / AUDIO_RATE);
            }
            last_loud = Some(i);
        }
    }
    onsets
}

/// For each flash, the nearest click within half a second: audio − video, ms.
fn pair_offsets_ms(flashes: &[f64], clicks: &[f64]) -> Vec<f64> {
    flashes
        .iter()
        .filter_map(|&flash| {
            let click = clicks
                .iter()
                .copied()
                .min_by(|a, b| (a - flash).abs().total_cmp(&(b - flash).abs()))?;
            ((click - flash).abs() < 0.5).then_some((click - flash) * 1000.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flashes_start_where_a_dark_frame_turns_white() {
        let times = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5];
        let levels = [90.0, 250.0, 250.0, 90.0, 90.0, 240.0];
        assert_eq!(flash_onsets(&times, &levels), vec![0.1, 0.5]);
    }

    #[test]
    fn clicks_start_after_silence_and_pair_with_the_nearest_flash() {
        let rate = AUDIO_RATE as usize;
        let mut samples = vec![0.0; rate * 2];
        samples[rate / 2 - 40..rate / 2].fill(0.1); // pre-echo: not an onset
        for i in 0..960 {
            samples[rate / 2 + i] = if i % 2 == 0 { 0.8 } else { -0.8 };
            samples[rate + rate / 2 + i] = if i % 2 == 0 { 0.8 } else { -0.8 };
        }
        let clicks = click_onsets(&samples, 1.0);
        assert_eq!(clicks, vec![1.5, 2.5]);
        let offsets = pair_offsets_ms(&[1.49, 2.52, 9.0], &clicks);
        assert_eq!(offsets.len(), 2, "the flash at 9 s has no click near it");
        assert!((offsets[0] - 10.0).abs() < 1e-6 && (offsets[1] + 20.0).abs() < 1e-6);
    }
}
