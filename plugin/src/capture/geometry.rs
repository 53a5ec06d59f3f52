//! Geometry of a captured frame: how a view is scaled to fit the capture
//! size and how the GPU lays out the planes it writes. Pure, so the layout the
//! shader writes and the header the host reads are checked against each other.

use livestream_protocol::{PixelFormat, VideoFrameHeader};

/// Bytes per I420 luma row are a multiple of this: the shader packs 8 pixels
/// of two rows per invocation (two `u32` luma words per row, one chroma word each).
const I420_ROW_ALIGN: u32 = 8;

/// Where a frame comes from and what it becomes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CaptureGeometry {
    /// Format written by the GPU.
    pub format: PixelFormat,
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// Bytes per row of each plane (see [`VideoFrameHeader::strides`]).
    pub strides: [u32; 3],
}

impl CaptureGeometry {
    /// The output for a source of `source` pixels, scaled down (aspect kept) to fit `max`.
    ///
    /// Sides are even (I420 needs it) and at least 2; `None` for an empty source.
    pub fn fit(source: (u32, u32), max: (u32, u32), format: PixelFormat) -> Option<Self> {
        let (sw, sh) = source;
        if sw < 2 || sh < 2 {
            return None;
        }
        let scale = (f64::from(max.0) / f64::from(sw))
            .min(f64::from(max.1) / f64::from(sh))
            .min(1.0);
        let even = |v: f64| ((v.floor() as u32) & !1).max(2);
        let (width, height) = (even(f64::from(sw) * scale), even(f64::from(sh) * scale));
        let strides = match format {
            PixelFormat::I420 => {
                let luma = width.next_multiple_of(I420_ROW_ALIGN);
                [luma, luma / 2, luma / 2]
            }
            PixelFormat::Rgba8 => [width * 4, 0, 0],
        };
        Some(Self {
            format,
            width,
            height,
            strides,
        })
    }

    /// Bytes the GPU writes (and the payload carries).
    pub fn len(&self) -> u64 {
        let (rows, chroma_rows) = (u64::from(self.height), u64::from(self.height / 2));
        u64::from(self.strides[0]) * rows
            + u64::from(self.strides[1] + self.strides[2]) * chroma_rows
    }

    /// Compute workgroups to dispatch (the shader's workgroup is 8×8 invocations).
    pub fn workgroups(&self) -> (u32, u32) {
        let (columns, rows) = match self.format {
            // One invocation per 8×2 pixel block.
            PixelFormat::I420 => (self.strides[0] / I420_ROW_ALIGN, self.height / 2),
            PixelFormat::Rgba8 => (self.width, self.height),
        };
        (columns.div_ceil(8), rows.div_ceil(8))
    }

    /// The wire header for one captured frame.
    pub fn header(&self, timestamp_ns: u64, frame_number: u64) -> VideoFrameHeader {
        VideoFrameHeader {
            format: self.format,
            width: self.width,
            height: self.height,
            strides: self.strides,
            timestamp_ns,
            frame_number,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaller_views_are_not_scaled_up() {
        let g = CaptureGeometry::fit((320, 180), (1280, 720), PixelFormat::I420).unwrap();
        assert_eq!((g.width, g.height), (320, 180));
        assert_eq!(g.strides, [320, 160, 160]);
        assert_eq!(g.len(), 320 * 180 * 3 / 2);
    }

    #[test]
    fn bigger_views_fit_with_their_aspect() {
        let g = CaptureGeometry::fit((3840, 2160), (1280, 720), PixelFormat::I420).unwrap();
        assert_eq!((g.width, g.height), (1280, 720));
        let tall = CaptureGeometry::fit((1000, 2000), (1280, 720), PixelFormat::Rgba8).unwrap();
        assert_eq!((tall.width, tall.height), (360, 720));
        assert_eq!(tall.len(), 360 * 720 * 4);
    }

    #[test]
    fn odd_sizes_become_even_with_aligned_rows() {
        let g = CaptureGeometry::fit((333, 201), (1280, 720), PixelFormat::I420).unwrap();
        assert_eq!((g.width, g.height), (332, 200));
        assert_eq!(g.strides, [336, 168, 168]);
        assert_eq!(g.workgroups(), (42_u32.div_ceil(8), 100_u32.div_ceil(8)));
    }

    #[test]
    fn empty_views_are_not_captured() {
        assert_eq!(
            CaptureGeometry::fit((0, 720), (1280, 720), PixelFormat::I420),
            None
        );
        assert_eq!(
            CaptureGeometry::fit((1, 1), (1280, 720), PixelFormat::I420),
            None
        );
    }

    #[test]
    fn header_length_matches_the_protocol() {
        for source in [(320, 180), (333, 201), (1920, 1080), (7, 5), (641, 359)] {
            for format in [PixelFormat::I420, PixelFormat::Rgba8] {
                let g = CaptureGeometry::fit(source, (1280, 720), format).unwrap();
                let header = g.header(1, 0);
                assert_eq!(
                    header.payload_len().unwrap() as u64,
                    g.len(),
                    "{source:?} {format:?}"
                );
            }
        }
    }
}
