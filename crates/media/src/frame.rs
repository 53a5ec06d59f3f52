//! Game frames wrapped for GStreamer without copying.

use gstreamer as gst;
use gstreamer_video as gst_video;
use livestream_protocol::{PixelFormat, VideoFrameHeader};

/// A frame ready for the pump: the game's pixels wrapped without copying.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    /// The game it came from.
    pub(crate) source: u64,
    /// Its size, layout and capture time.
    pub(crate) header: VideoFrameHeader,
    /// The pixels (padded rows described by a `VideoMeta`).
    pub(crate) buffer: gst::Buffer,
}

impl VideoFrame {
    /// Wraps a received frame. `source` identifies the game (a switch forces a keyframe).
    pub fn new(
        source: u64,
        header: VideoFrameHeader,
        pixels: impl AsRef<[u8]> + Send + 'static,
    ) -> Self {
        let mut buffer = gst::Buffer::from_slice(pixels);
        let packed = header.format.packed_strides(header.width);
        if header.strides != packed
            && let Some(buffer) = buffer.get_mut()
        {
            let offsets: Vec<usize> = header.plane_ranges().iter().map(|r| r.start).collect();
            let strides: Vec<i32> = header.strides[..header.format.planes()]
                .iter()
                .map(|&s| s as i32)
                .collect();
            let _ = gst_video::VideoMeta::add_full(
                buffer,
                gst_video::VideoFrameFlags::empty(),
                video_format(header.format),
                header.width,
                header.height,
                &offsets,
                &strides,
            );
        }
        Self {
            source,
            header,
            buffer,
        }
    }

    /// What the appsrc must announce for this frame: format and size.
    pub(crate) fn shape(&self) -> (PixelFormat, u32, u32) {
        (self.header.format, self.header.width, self.header.height)
    }
}

/// Raw video caps of `format` at `width`×`height`, `fps` frames per second.
pub(crate) fn video_caps(format: PixelFormat, width: u32, height: u32, fps: u32) -> gst::Caps {
    gst_video::VideoCapsBuilder::new()
        .format(video_format(format))
        .width(width as i32)
        .height(height as i32)
        .framerate(gst::Fraction::new(fps as i32, 1))
        .build()
}

fn video_format(format: PixelFormat) -> gst_video::VideoFormat {
    match format {
        PixelFormat::I420 => gst_video::VideoFormat::I420,
        PixelFormat::Rgba8 => gst_video::VideoFormat::Rgba,
    }
}
