//! A/V sync marks: a white flash and a click that start at the same instant,
//! every `period`, so a recording's audio/video offset can be measured (the
//! flash's first frame against the click's first loud sample).
//!
//! The instant is the capture timestamp of the first frame at or after each
//! period boundary; the click starts at the audio sample with that timestamp.

/// How long each flash lasts: several frames, so the host's latest-frame
/// hand-off cannot skip all of it.
pub const FLASH_NS: u64 = 100_000_000;
/// How long each click lasts.
pub const CLICK_NS: u64 = 20_000_000;
/// Click loudness (0..=1); between clicks the audio is silent.
pub const CLICK_AMPLITUDE: f32 = 0.8;
/// Click pitch in Hz (a short tone burst, not a step, so AAC keeps its edge).
pub const CLICK_HZ: f64 = 1_000.0;

/// Where the flashes and clicks fall, and which are still to be placed.
#[derive(Debug, Clone)]
pub struct SyncMarks {
    period_ns: u64,
    /// The period index of the last mark placed.
    last_period: Option<u64>,
    /// The current mark's instant (video timestamp of its first flash frame).
    mark_ns: Option<u64>,
}

impl SyncMarks {
    /// Marks every `period_ns` of the capture clock (at least one frame apart).
    pub fn new(period_ns: u64) -> Self {
        Self {
            period_ns: period_ns.max(1),
            last_period: None,
            mark_ns: None,
        }
    }

    /// Whether the frame captured at `timestamp_ns` is white. The first frame
    /// of each new period starts a mark at its own timestamp.
    pub fn flash(&mut self, timestamp_ns: u64) -> bool {
        let period = timestamp_ns / self.period_ns;
        if self.last_period.is_some_and(|last| last < period) {
            self.mark_ns = Some(timestamp_ns);
        }
        self.last_period = Some(period);
        self.mark_ns
            .is_some_and(|mark| timestamp_ns.saturating_sub(mark) < FLASH_NS)
    }

    /// Audio for `frames` sample frames starting at `start_ns` (interleaved
    /// little-endian `f32`, `channels` per frame): silence, with the current
    /// mark's click where its samples fall.
    pub fn audio(&self, start_ns: u64, frames: u32, rate: u32, channels: u16) -> Vec<u8> {
        let ns_per_frame = 1e9 / f64::from(rate);
        let mut out = Vec::with_capacity(frames as usize * usize::from(channels) * 4);
        for i in 0..frames {
            let t = start_ns + (f64::from(i) * ns_per_frame).round() as u64;
            let sample = match self.mark_ns {
                Some(mark) if t >= mark && t - mark < CLICK_NS => {
                    let s = (t - mark) as f64 / 1e9;
                    (s * CLICK_HZ * std::f64::consts::TAU).sin() as f32 * CLICK_AMPLITUDE
                }
                _ => 0.0,
            };
            for _ in 0..channels {
                out.extend_from_slice(&sample.to_le_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn samples(bytes: &[u8], channels: usize) -> Vec<f32> {
        bytes
            .chunks_exact(4 * channels)
            .map(|frame| f32::from_le_bytes(frame[..4].try_into().unwrap()))
            .collect()
    }

    #[test]
    fn the_first_frame_of_each_period_starts_a_flash_of_several_frames() {
        let mut marks = SyncMarks::new(1_000 * MS);
        // 30 fps frames starting mid-period: no mark until a boundary is crossed.
        let flashes: Vec<u64> = (0..100)
            .map(|i| 500 * MS + i * 33 * MS)
            .filter(|&t| marks.flash(t))
            .collect();
        // Boundary at 1000 ms: first frame at 1028 ms; flash lasts < 100 ms.
        assert_eq!(&flashes[..4], &[1028 * MS, 1061 * MS, 1094 * MS, 1127 * MS]);
        assert!(!flashes.contains(&(1160 * MS)));
        assert!(flashes.contains(&(2018 * MS)), "{flashes:?}");
    }

    #[test]
    fn the_click_starts_at_the_sample_of_the_flash_frame() {
        let mut marks = SyncMarks::new(1_000 * MS);
        marks.flash(990 * MS);
        assert!(marks.flash(1_010 * MS));
        // A chunk of 20 ms at 48 kHz starting at 1000 ms: silent for 10 ms (480 frames).
        let chunk = samples(&marks.audio(1_000 * MS, 960, 48_000, 2), 2);
        assert!(chunk[..480].iter().all(|s| *s == 0.0));
        let loud = chunk.iter().position(|s| s.abs() > 0.1).unwrap();
        assert!((480..486).contains(&loud), "click starts at sample {loud}");
        // After the click: silence again.
        let later = samples(&marks.audio(1_040 * MS, 480, 48_000, 2), 2);
        assert!(later.iter().all(|s| *s == 0.0));
    }
}
