//! RGBA → I420 on the CPU, for render adapters that are themselves a CPU
//! (Mesa's llvmpipe, Google's `SwiftShader`). There the compute pass of
//! `capture.wgsl` runs on the cores the game renders on, far slower than
//! native code (llvmpipe, 2 cores, 720p: the pass cost the game 5.5 ms a
//! frame; this conversion on the readback thread and the copy, 1.6 ms), so
//! the view is copied out as it is and converted here. Same arithmetic as
//! the shader (BT.601 limited range), in integers: the two agree to within
//! one step (the shader's float round trip of each texel).

use bevy::render::render_resource::TextureFormat;
use livestream_protocol::VideoFrameHeader;
use wgpu_types::COPY_BYTES_PER_ROW_ALIGNMENT;

/// Where the red and blue bytes of a copied texel are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TexelOrder {
    /// R, G, B, A in memory.
    Rgba,
    /// B, G, R, A in memory.
    Bgra,
}

impl TexelOrder {
    /// The order of a view texture's texels when its bytes are sRGB-encoded
    /// colour as the stream wants it: an 8-bit texture that either stores
    /// sRGB-composited values as they are (`Unorm`) or encodes linear ones
    /// on write (`UnormSrgb`). `None` for anything else (HDR, Oklab), which
    /// only the shader converts.
    pub fn of_srgb_bytes(format: TextureFormat, srgb_composited: bool) -> Option<Self> {
        match (format, srgb_composited) {
            (TextureFormat::Rgba8Unorm, true) | (TextureFormat::Rgba8UnormSrgb, false) => {
                Some(Self::Rgba)
            }
            (TextureFormat::Bgra8Unorm, true) | (TextureFormat::Bgra8UnormSrgb, false) => {
                Some(Self::Bgra)
            }
            _ => None,
        }
    }
}

/// How a view's texels were copied into a staging buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RgbaCopy {
    /// Bytes from one row to the next (the GPU pads rows to 256 bytes).
    pub row_bytes: u32,
    /// Byte order of each texel.
    pub order: TexelOrder,
}

impl RgbaCopy {
    /// The layout of a copy `width` texels wide.
    pub fn new(width: u32, order: TexelOrder) -> Self {
        Self {
            row_bytes: (width * 4).next_multiple_of(COPY_BYTES_PER_ROW_ALIGNMENT),
            order,
        }
    }

    /// Bytes of a copy `height` rows high.
    pub fn len(&self, height: u32) -> u64 {
        u64::from(self.row_bytes) * u64::from(height)
    }
}

/// Converts `texels` (laid out as `copy` says, `header.width` × `header.height`)
/// into `out`, I420 planes with `header.strides`. Columns past the width (row
/// padding) repeat the last pixel's value.
///
/// # Panics
/// If `texels` or `out` is shorter than the layouts say (a logic error: both
/// are sized from the same header).
pub(crate) fn rgba_to_i420(
    texels: &[u8],
    copy: RgbaCopy,
    header: &VideoFrameHeader,
    out: &mut [u8],
) {
    match copy.order {
        TexelOrder::Rgba => convert::<false>(texels, copy.row_bytes as usize, header, out),
        TexelOrder::Bgra => convert::<true>(texels, copy.row_bytes as usize, header, out),
    }
}

#[inline(always)]
fn convert<const BGRA: bool>(
    texels: &[u8],
    row_bytes: usize,
    header: &VideoFrameHeader,
    out: &mut [u8],
) {
    let (width, height) = (header.width as usize, header.height as usize);
    let [luma_stride, chroma_stride, _] = header.strides.map(|s| s as usize);
    let (luma, chroma) = out.split_at_mut(luma_stride * height);
    let (u_plane, v_plane) = chroma.split_at_mut(chroma_stride * (height / 2));
    let row = |y: usize| &texels[y * row_bytes..y * row_bytes + width * 4];
    let luma_pairs = luma.chunks_exact_mut(2 * luma_stride);
    let chroma_rows = u_plane
        .chunks_exact_mut(chroma_stride)
        .zip(v_plane.chunks_exact_mut(chroma_stride));
    for (pair, (luma_pair, (u_row, v_row))) in luma_pairs.zip(chroma_rows).enumerate() {
        let (top, bottom) = (row(2 * pair), row(2 * pair + 1));
        let (luma_top, luma_bottom) = luma_pair.split_at_mut(luma_stride);
        luma_row::<BGRA>(top, luma_top, width);
        luma_row::<BGRA>(bottom, luma_bottom, width);
        chroma_row::<BGRA>(top, bottom, u_row, v_row, width / 2);
    }
}

/// One texel as a little-endian word: its first byte in the low bits.
#[inline(always)]
fn word(texel: &[u8]) -> u32 {
    u32::from_le_bytes([texel[0], texel[1], texel[2], texel[3]])
}

/// The bytes of a texel word at 0 and 2 (and, shifted, 1 and 3) as two
/// 16-bit lanes, so one addition sums two channels.
const LANES: u32 = 0x00FF_00FF;

#[inline(always)]
fn luma_row<const BGRA: bool>(texels: &[u8], out: &mut [u8], width: usize) {
    let (pixels, padding) = out.split_at_mut(width);
    for (y, texel) in pixels.iter_mut().zip(texels.chunks_exact(4)) {
        let word = word(texel);
        let [first, g, third] = [word, word >> 8, word >> 16].map(|c| (c & 0xFF) as u16);
        let (r, b) = if BGRA { (third, first) } else { (first, third) };
        // (66 R + 129 G + 25 B + 128) / 256 + 16: at most 56 228 before the
        // shift, so 16-bit lanes hold it (twice as many per vector).
        *y = ((66 * r + 129 * g + 25 * b + 128) >> 8) as u8 + 16;
    }
    padding.fill(pixels[width - 1]);
}

#[inline(always)]
fn chroma_row<const BGRA: bool>(
    top: &[u8],
    bottom: &[u8],
    u_out: &mut [u8],
    v_out: &mut [u8],
    columns: usize,
) {
    let blocks = top.chunks_exact(8).zip(bottom.chunks_exact(8));
    for ((u, v), (top, bottom)) in u_out.iter_mut().zip(v_out.iter_mut()).zip(blocks) {
        let texels = [
            word(&top[..4]),
            word(&top[4..]),
            word(&bottom[..4]),
            word(&bottom[4..]),
        ];
        // Sums of the four pixels (at most 1020 each) in 16-bit lanes.
        let outer = texels.iter().map(|w| w & LANES).sum::<u32>();
        let g = texels.iter().map(|w| (w >> 8) & LANES).sum::<u32>() & 0xFFFF;
        let (first, third) = (outer & 0xFFFF, outer >> 16);
        let (r, b) = if BGRA { (third, first) } else { (first, third) };
        // The shader's (-38 R - 74 G + 112 B + 128) / 256 + 128 on the mean
        // of four pixels, as (sums + 4 * 128 + 1024 * 128) / 1024; the
        // numerator stays positive, so the shift floors as the shader's
        // truncation does.
        *u = ((112 * b + 131_584 - 38 * r - 74 * g) >> 10) as u8;
        *v = ((112 * r + 131_584 - 94 * g - 18 * b) >> 10) as u8;
    }
    let (last_u, last_v) = (u_out[columns - 1], v_out[columns - 1]);
    u_out[columns..].fill(last_u);
    v_out[columns..].fill(last_v);
}

#[cfg(test)]
mod tests {
    use livestream_protocol::PixelFormat;

    use super::*;
    use crate::capture::geometry::CaptureGeometry;

    /// BT.601 limited range in floating point, the formula the shader evaluates.
    fn reference(rgb: [f64; 3]) -> [f64; 3] {
        let [r, g, b] = rgb;
        [
            (66.0 * r + 129.0 * g + 25.0 * b + 128.0) / 256.0 + 16.0,
            (-38.0 * r - 74.0 * g + 112.0 * b + 128.0) / 256.0 + 128.0,
            (112.0 * r - 94.0 * g - 18.0 * b + 128.0) / 256.0 + 128.0,
        ]
    }

    /// A deterministic pseudo-random picture (xorshift), as RGBA rows padded for the GPU.
    fn picture(width: u32, height: u32, order: TexelOrder) -> (RgbaCopy, Vec<u8>, Vec<[u8; 3]>) {
        let copy = RgbaCopy::new(width, order);
        let mut texels = vec![0xEE; copy.len(height) as usize];
        let mut colours = Vec::new();
        let mut state = 0x9E37_79B9_u32;
        for y in 0..height as usize {
            for x in 0..width as usize {
                let mut next = || {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                };
                let rgb = [next(), next(), next()];
                let at = y * copy.row_bytes as usize + x * 4;
                let bytes = match order {
                    TexelOrder::Rgba => [rgb[0], rgb[1], rgb[2], 255],
                    TexelOrder::Bgra => [rgb[2], rgb[1], rgb[0], 255],
                };
                texels[at..at + 4].copy_from_slice(&bytes);
                colours.push(rgb);
            }
        }
        (copy, texels, colours)
    }

    fn converted(
        width: u32,
        height: u32,
        order: TexelOrder,
    ) -> (VideoFrameHeader, Vec<u8>, Vec<[u8; 3]>) {
        let geometry =
            CaptureGeometry::fit((width, height), (width, height), PixelFormat::I420).unwrap();
        let header = geometry.header(0, 0);
        let (copy, texels, colours) = picture(width, height, order);
        let mut out = vec![0; geometry.len() as usize];
        rgba_to_i420(&texels, copy, &header, &mut out);
        (header, out, colours)
    }

    #[test]
    fn every_sample_is_the_formula_floored() {
        for order in [TexelOrder::Rgba, TexelOrder::Bgra] {
            let (width, height) = (38, 6);
            let (header, out, colours) = converted(width, height, order);
            let [ys, cs, _] = header.strides.map(|s| s as usize);
            let (w, h) = (width as usize, height as usize);
            let colour = |x: usize, y: usize| colours[y * w + x].map(f64::from);
            for y in 0..h {
                for x in 0..w {
                    let want = reference(colour(x, y))[0].floor();
                    assert_eq!(
                        f64::from(out[y * ys + x]),
                        want,
                        "luma ({x}, {y}) {order:?}"
                    );
                }
            }
            let (u_plane, v_plane) = (ys * h, ys * h + cs * h / 2);
            for cy in 0..h / 2 {
                for cx in 0..w / 2 {
                    let mut mean = [0.0; 3];
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let c = colour(2 * cx + dx, 2 * cy + dy);
                        for i in 0..3 {
                            mean[i] += c[i] / 4.0;
                        }
                    }
                    let [_, u, v] = reference(mean).map(f64::floor);
                    assert_eq!(f64::from(out[u_plane + cy * cs + cx]), u, "u ({cx}, {cy})");
                    assert_eq!(f64::from(out[v_plane + cy * cs + cx]), v, "v ({cx}, {cy})");
                }
            }
        }
    }

    #[test]
    fn row_padding_repeats_the_edge() {
        // 38 pixels wide: luma rows of 40 bytes, chroma rows of 20 for 19 columns.
        let (header, out, _) = converted(38, 4, TexelOrder::Rgba);
        assert_eq!(header.strides, [40, 20, 20]);
        for y in 0..4 {
            let row = &out[y * 40..(y + 1) * 40];
            assert_eq!(row[38], row[37]);
            assert_eq!(row[39], row[37]);
        }
        let chroma = &out[40 * 4..];
        for row in chroma.chunks_exact(20) {
            assert_eq!(row[19], row[18]);
        }
    }

    #[test]
    fn extremes_stay_in_limited_range() {
        for (rgb, want) in [
            ([0, 0, 0], [16, 128, 128]),
            ([255, 255, 255], [235, 128, 128]),
            ([0, 0, 255], [41, 240, 110]),
            ([255, 0, 0], [82, 90, 240]),
        ] {
            let copy = RgbaCopy::new(2, TexelOrder::Rgba);
            let mut texels = vec![0; copy.len(2) as usize];
            for y in 0..2 {
                for x in 0..2 {
                    let at = y * copy.row_bytes as usize + x * 4;
                    texels[at..at + 3].copy_from_slice(&rgb);
                }
            }
            let header = CaptureGeometry::fit((2, 2), (2, 2), PixelFormat::I420)
                .unwrap()
                .header(0, 0);
            let mut out = vec![0; header.payload_len().unwrap()];
            rgba_to_i420(&texels, copy, &header, &mut out);
            let stride = header.strides[0] as usize;
            assert_eq!(
                [out[0], out[2 * stride], out[2 * stride + stride / 2]],
                want,
                "{rgb:?}"
            );
        }
    }

    #[test]
    fn only_textures_holding_srgb_bytes_are_copied() {
        use TextureFormat as F;
        assert_eq!(
            TexelOrder::of_srgb_bytes(F::Rgba8UnormSrgb, false),
            Some(TexelOrder::Rgba)
        );
        assert_eq!(
            TexelOrder::of_srgb_bytes(F::Rgba8Unorm, true),
            Some(TexelOrder::Rgba)
        );
        assert_eq!(
            TexelOrder::of_srgb_bytes(F::Bgra8UnormSrgb, false),
            Some(TexelOrder::Bgra)
        );
        assert_eq!(TexelOrder::of_srgb_bytes(F::Rgba8Unorm, false), None);
        assert_eq!(TexelOrder::of_srgb_bytes(F::Rgba8UnormSrgb, true), None);
        assert_eq!(TexelOrder::of_srgb_bytes(F::Rgba16Float, false), None);
    }
}
