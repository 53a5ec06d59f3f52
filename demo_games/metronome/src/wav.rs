//! Sine tones as WAV files in memory (16-bit mono PCM), so the demo plays
//! real `AudioSource` assets without shipping any.

/// `seconds` of a sine at `frequency` Hz and `amplitude` (0..1), sampled at `rate`.
pub fn sine(rate: u32, frequency: f32, amplitude: f32, seconds: f32) -> Vec<u8> {
    let frames = (rate as f32 * seconds) as u32;
    let data_len = frames * 2;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes()); // bytes per second
    wav.extend_from_slice(&2u16.to_le_bytes()); // bytes per frame
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    let step = core::f32::consts::TAU * frequency / rate as f32;
    for i in 0..frames {
        let sample = (i as f32 * step).sin() * amplitude * f32::from(i16::MAX);
        wav.extend_from_slice(&(sample as i16).to_le_bytes());
    }
    wav
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wav_header_then_the_samples() {
        let wav = sine(44_100, 441.0, 0.5, 0.01);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(u32::from_le_bytes(wav[24..28].try_into().unwrap()), 44_100);
        assert_eq!(wav.len(), 44 + 441 * 2);
        // A quarter period in (25 samples): the peak, half of full scale.
        let peak = i16::from_le_bytes(wav[44 + 50..44 + 52].try_into().unwrap());
        assert!((16_000..=16_400).contains(&peak), "{peak}");
    }
}
