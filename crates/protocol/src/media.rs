//! Headers of the two media messages (video frames, audio chunks) and the
//! size rules that tie each header to the exact length of its raw payload.

use serde::{Deserialize, Serialize};

use crate::DecodeError;

/// Largest frame side accepted on the wire (8K UHD width).
pub const MAX_DIMENSION: u32 = 7680;
/// Most padding bytes allowed at the end of a row (GPU copies align rows to 256 bytes).
pub const MAX_ROW_PADDING: u32 = 1024;
/// Largest number of audio channels accepted on the wire.
pub const MAX_CHANNELS: u16 = 8;
/// Highest audio sample rate accepted on the wire.
pub const MAX_SAMPLE_RATE: u32 = 192_000;
/// Longest audio chunk accepted on the wire, in frames (one second at the top rate).
pub const MAX_AUDIO_FRAMES: u32 = MAX_SAMPLE_RATE;

/// Parses a frame size written `WIDTHxHEIGHT` (e.g. `1280x720`), each side 1..=7680.
pub fn parse_frame_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once('x')
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got {text:?}"))?;
    let side = |v: &str| match v.parse::<u32>() {
        Ok(n) if (1..=MAX_DIMENSION).contains(&n) => Ok(n),
        Ok(n) => Err(format!("side {n} outside 1..={MAX_DIMENSION}")),
        Err(e) => Err(format!("{v:?}: {e}")),
    };
    Ok((side(w)?, side(h)?))
}

/// Pixel layout of a video frame's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PixelFormat {
    /// Planar YUV 4:2:0 (Y, then U, then V), BT.601 limited range: 1.5 bytes per pixel.
    I420,
    /// Packed 8-bit RGBA, sRGB: 4 bytes per pixel; the fallback when the GPU conversion is unavailable.
    Rgba8,
}

impl PixelFormat {
    /// Number of planes in the payload.
    pub fn planes(self) -> usize {
        match self {
            Self::I420 => 3,
            Self::Rgba8 => 1,
        }
    }

    /// Tightly packed strides (bytes per row of each plane) for a width; unused planes are 0.
    pub fn packed_strides(self, width: u32) -> [u32; 3] {
        match self {
            Self::I420 => [width, width.div_ceil(2), width.div_ceil(2)],
            Self::Rgba8 => [width * 4, 0, 0],
        }
    }
}

/// Header of one captured video frame; its payload holds the pixel planes back to back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoFrameHeader {
    /// Layout of the payload.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes per row of each plane (Y/U/V for I420, RGBA in the first for RGBA; unused are 0).
    pub strides: [u32; 3],
    /// When the frame was rendered: `CLOCK_MONOTONIC` nanoseconds.
    pub timestamp_ns: u64,
    /// Counter of captured frames in this game, starting at 0; gaps mean dropped frames.
    pub frame_number: u64,
}

impl VideoFrameHeader {
    /// A header with tightly packed strides.
    pub fn packed(format: PixelFormat, width: u32, height: u32) -> Self {
        Self {
            format,
            width,
            height,
            strides: format.packed_strides(width),
            timestamp_ns: 0,
            frame_number: 0,
        }
    }

    /// Byte offset and length of each plane inside the payload.
    pub fn plane_ranges(&self) -> Vec<core::ops::Range<usize>> {
        let rows = self.plane_rows();
        let mut start = 0usize;
        (0..self.format.planes())
            .map(|plane| {
                let len = self.strides[plane] as usize * rows[plane] as usize;
                let range = start..start + len;
                start += len;
                range
            })
            .collect()
    }

    fn plane_rows(&self) -> [u32; 3] {
        match self.format {
            PixelFormat::I420 => [
                self.height,
                self.height.div_ceil(2),
                self.height.div_ceil(2),
            ],
            PixelFormat::Rgba8 => [self.height, 0, 0],
        }
    }

    /// Checks the geometry and returns the exact payload length it implies.
    pub fn payload_len(&self) -> Result<usize, DecodeError> {
        let bad = |why: &'static str| DecodeError::InvalidVideo(why);
        if self.width == 0 || self.height == 0 {
            return Err(bad("zero width or height"));
        }
        if self.width > MAX_DIMENSION || self.height > MAX_DIMENSION {
            return Err(bad("width or height above 7680"));
        }
        if self.format == PixelFormat::I420
            && (!self.width.is_multiple_of(2) || !self.height.is_multiple_of(2))
        {
            return Err(bad("I420 needs even width and height"));
        }
        let minimum = self.format.packed_strides(self.width);
        let planes = self.format.planes();
        for (plane, (&stride, &minimum)) in self.strides.iter().zip(&minimum).enumerate() {
            if plane < planes {
                if stride < minimum || stride - minimum > MAX_ROW_PADDING {
                    return Err(bad(
                        "stride smaller than a row or padded by more than 1024 bytes",
                    ));
                }
            } else if stride != 0 {
                return Err(bad("stride given for a plane the format does not have"));
            }
        }
        let rows = self.plane_rows();
        Ok((0..planes)
            .map(|p| self.strides[p] as usize * rows[p] as usize)
            .sum())
    }
}

/// Header of a chunk of game audio; its payload is interleaved little-endian `f32` samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioChunkHeader {
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Sample frames in the chunk (one sample per channel each).
    pub frames: u32,
    /// When the first sample was produced: `CLOCK_MONOTONIC` nanoseconds.
    pub timestamp_ns: u64,
    /// Counter of chunks in this game, starting at 0; gaps mean dropped chunks.
    pub sequence: u64,
}

impl AudioChunkHeader {
    /// Checks the format and returns the exact payload length it implies.
    pub fn payload_len(&self) -> Result<usize, DecodeError> {
        let bad = |why: &'static str| DecodeError::InvalidAudio(why);
        if !(8_000..=MAX_SAMPLE_RATE).contains(&self.sample_rate) {
            return Err(bad("sample rate outside 8000..=192000"));
        }
        if !(1..=MAX_CHANNELS).contains(&self.channels) {
            return Err(bad("channels outside 1..=8"));
        }
        if self.frames == 0 || self.frames > MAX_AUDIO_FRAMES {
            return Err(bad("chunk empty or longer than one second"));
        }
        Ok(self.frames as usize * self.channels as usize * 4)
    }
}

/// Format of the game's audio, announced in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFormat {
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i420_is_one_and_a_half_bytes_per_pixel() {
        let h = VideoFrameHeader::packed(PixelFormat::I420, 1280, 720);
        assert_eq!(h.payload_len().unwrap(), 1280 * 720 * 3 / 2);
        let ranges = h.plane_ranges();
        assert_eq!(ranges[0], 0..1280 * 720);
        assert_eq!(ranges[2].end, 1280 * 720 * 3 / 2);
    }

    #[test]
    fn rgba_with_padded_rows() {
        let mut h = VideoFrameHeader::packed(PixelFormat::Rgba8, 100, 10);
        h.strides[0] = 512;
        assert_eq!(h.payload_len().unwrap(), 5120);
    }

    #[test]
    fn geometry_errors() {
        let mut h = VideoFrameHeader::packed(PixelFormat::I420, 321, 180);
        assert!(h.payload_len().is_err(), "odd I420 width");
        h = VideoFrameHeader::packed(PixelFormat::Rgba8, 10_000, 10);
        assert!(h.payload_len().is_err(), "too wide");
        h = VideoFrameHeader::packed(PixelFormat::Rgba8, 10, 10);
        h.strides[0] = 39;
        assert!(h.payload_len().is_err(), "stride below a row");
        h.strides[0] = 40 + MAX_ROW_PADDING + 1;
        assert!(h.payload_len().is_err(), "padding too large");
        h.strides = [40, 1, 0];
        assert!(h.payload_len().is_err(), "stride for a missing plane");
    }

    #[test]
    fn frame_sizes() {
        assert_eq!(parse_frame_size("320x180"), Ok((320, 180)));
        assert!(parse_frame_size("320").is_err());
        assert!(parse_frame_size("0x10").is_err());
        assert!(parse_frame_size("8000x10").is_err());
    }

    #[test]
    fn audio_limits() {
        let a = AudioChunkHeader {
            sample_rate: 48_000,
            channels: 2,
            frames: 480,
            timestamp_ns: 1,
            sequence: 0,
        };
        assert_eq!(a.payload_len().unwrap(), 480 * 2 * 4);
        assert!(AudioChunkHeader { channels: 0, ..a }.payload_len().is_err());
        assert!(AudioChunkHeader { frames: 0, ..a }.payload_len().is_err());
        assert!(
            AudioChunkHeader {
                sample_rate: 1,
                ..a
            }
            .payload_len()
            .is_err()
        );
    }
}
