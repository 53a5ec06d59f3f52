//! A continuous sine tone, generated chunk by chunk without phase jumps.

/// Sine generator with a running phase.
#[derive(Debug, Clone)]
pub struct Tone {
    frequency: f32,
    sample_rate: u32,
    channels: u16,
    amplitude: f32,
    phase: f64,
}

impl Tone {
    /// A tone at `frequency` Hz and `amplitude` (0..=1).
    pub fn new(frequency: f32, sample_rate: u32, channels: u16, amplitude: f32) -> Self {
        Self {
            frequency,
            sample_rate,
            channels,
            amplitude,
            phase: 0.0,
        }
    }

    /// The next `frames` sample frames, interleaved, as little-endian `f32` bytes.
    pub fn next_chunk(&mut self, frames: u32) -> Vec<u8> {
        let step = f64::from(self.frequency) / f64::from(self.sample_rate);
        let mut out = Vec::with_capacity(frames as usize * self.channels as usize * 4);
        for _ in 0..frames {
            let sample = (self.phase * core::f64::consts::TAU).sin() as f32 * self.amplitude;
            self.phase = (self.phase + step).fract();
            for _ in 0..self.channels {
                out.extend_from_slice(&sample.to_le_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_join_without_a_jump() {
        let mut tone = Tone::new(440.0, 48_000, 2, 0.5);
        let a = tone.next_chunk(100);
        let b = tone.next_chunk(100);
        let sample = |bytes: &[u8], i: usize| {
            f32::from_le_bytes(bytes[i * 8..i * 8 + 4].try_into().unwrap())
        };
        let step = sample(&a, 99) - sample(&a, 98);
        let joint = sample(&b, 0) - sample(&a, 99);
        assert!((joint - step).abs() < 0.01, "step {step} joint {joint}");
        assert_eq!(a.len(), 100 * 2 * 4);
    }
}
