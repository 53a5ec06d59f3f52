//! Moving colour bars with a frame counter burned into the bottom rows.
//!
//! The counter is the protocol's frame code (24 bits plus an 8-bit check,
//! 32 black/white blocks across the bottom eighth of the picture), so a test
//! can read back which captured frame each output frame shows.

use livestream_protocol::frame_code::{CODE_BITS, code_for, frame_for};

/// The eight bars, as RGB (white, yellow, cyan, green, magenta, red, blue, black).
pub const BARS: [[u8; 3]; 8] = [
    [235, 235, 235],
    [235, 235, 16],
    [16, 235, 235],
    [16, 235, 16],
    [235, 16, 235],
    [235, 16, 16],
    [16, 16, 235],
    [16, 16, 16],
];

/// Top row of the counter band for a height.
fn band_top(height: u32) -> u32 {
    height - (height / 8).max(2)
}

/// Renders frame `frame_number` as packed RGBA (`width * 4` bytes per row).
pub fn render_rgba(width: u32, height: u32, frame_number: u64) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut out = vec![0u8; w * h * 4];
    let shift = (frame_number as usize * 2) % w.max(1);
    let code = code_for(frame_number);
    let top = band_top(height) as usize;
    for y in 0..h {
        let row = &mut out[y * w * 4..(y + 1) * w * 4];
        for x in 0..w {
            let rgb = if y >= top {
                let bit = x * CODE_BITS as usize / w;
                if code >> bit & 1 == 1 {
                    [235, 235, 235]
                } else {
                    [16, 16, 16]
                }
            } else {
                BARS[((x + shift) % w) * BARS.len() / w]
            };
            row[x * 4..x * 4 + 4].copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
        }
    }
    out
}

/// BT.601 limited-range luma and chroma of an RGB pixel.
pub fn rgb_to_yuv([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
    let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
    let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    [y, u, v].map(|c| c.clamp(0, 255) as u8)
}

/// Converts packed RGBA (even width and height) to packed I420.
pub fn rgba_to_i420(rgba: &[u8], width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w / 2, h / 2);
    let mut out = vec![0u8; w * h + 2 * cw * ch];
    let (luma, chroma) = out.split_at_mut(w * h);
    let (u_plane, v_plane) = chroma.split_at_mut(cw * ch);
    let pixel = |x: usize, y: usize| {
        let i = (y * w + x) * 4;
        [rgba[i], rgba[i + 1], rgba[i + 2]]
    };
    for y in 0..h {
        for x in 0..w {
            luma[y * w + x] = rgb_to_yuv(pixel(x, y))[0];
        }
    }
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut u, mut v) = (0u32, 0u32);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let [_, pu, pv] = rgb_to_yuv(pixel(cx * 2 + dx, cy * 2 + dy));
                u += u32::from(pu);
                v += u32::from(pv);
            }
            u_plane[cy * cw + cx] = ((u + 2) / 4) as u8;
            v_plane[cy * cw + cx] = ((v + 2) / 4) as u8;
        }
    }
    out
}

/// Reads the burned-in frame number from a luma plane, if it is legible.
pub fn read_counter(luma: &[u8], width: u32, height: u32, stride: usize) -> Option<u32> {
    let (w, h) = (width as usize, height as usize);
    if luma.len() < stride * h || w < CODE_BITS as usize {
        return None;
    }
    let y = (band_top(height) as usize + h) / 2;
    let mut code = 0u32;
    for bit in 0..CODE_BITS as usize {
        let x = (2 * bit + 1) * w / (2 * CODE_BITS as usize);
        if luma[y * stride + x] > 128 {
            code |= 1 << bit;
        }
    }
    frame_for(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_round_trips_through_i420() {
        for frame in [0u64, 1, 2, 255, 4096, 0xff_fffe] {
            let rgba = render_rgba(320, 180, frame);
            let i420 = rgba_to_i420(&rgba, 320, 180);
            assert_eq!(read_counter(&i420, 320, 180, 320), Some(frame as u32));
        }
    }

    #[test]
    fn bars_move_between_frames() {
        assert_ne!(
            render_rgba(64, 32, 0)[..64 * 4],
            render_rgba(64, 32, 5)[..64 * 4]
        );
    }

    #[test]
    fn i420_colours_are_bt601() {
        assert_eq!(rgb_to_yuv([255, 255, 255]), [235, 128, 128]);
        assert_eq!(rgb_to_yuv([0, 0, 0]), [16, 128, 128]);
        let [_, u, v] = rgb_to_yuv([255, 0, 0]);
        assert!(u < 128 && v > 200, "red has low U, high V");
        let i420 = rgba_to_i420(&render_rgba(16, 16, 0), 16, 16);
        assert_eq!(i420.len(), 16 * 16 * 3 / 2);
    }
}
