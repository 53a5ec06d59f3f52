//! Small RGBA pictures of the games' frames for the dashboard: a game's
//! latest frame and the stream's latest picture, converted on the CPU with
//! nearest sampling, at most twice a second per game.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use livestream_protocol::{PixelFormat, VideoFrameHeader};

use crate::messages::FrameArrived;
use crate::stream::Streaming;

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX_SIDE: u32 = 192;
/// Shortest time between two thumbnails of one game.
pub const THUMBNAIL_INTERVAL: Duration = Duration::from_millis(500);

/// A small sRGB RGBA picture (4 bytes a pixel, rows packed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels, unpremultiplied, alpha 255.
    pub rgba: Vec<u8>,
    /// Different for every thumbnail made: tells the drawing when to upload a new texture.
    pub serial: u64,
}

/// The size of a thumbnail of a `width`×`height` frame: aspect kept, the
/// longest side at most `max_side`, never enlarged, at least one pixel.
pub fn thumbnail_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let longest = width.max(height).max(1);
    if longest <= max_side {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| {
        ((u64::from(side) * u64::from(max_side) + u64::from(longest) / 2) / u64::from(longest))
            .max(1) as u32
    };
    (scale(width), scale(height))
}

/// Converts a frame (I420 BT.601 limited range, or RGBA) into RGBA pixels of
/// at most `max_side` on the longest side, picking the nearest source pixel.
/// `None` when the payload does not match the header.
pub fn frame_to_rgba(
    header: &VideoFrameHeader,
    pixels: &[u8],
    max_side: u32,
) -> Option<(u32, u32, Vec<u8>)> {
    if header.payload_len().ok()? != pixels.len() {
        return None;
    }
    let (width, height) = thumbnail_size(header.width, header.height, max_side);
    let planes = header.plane_ranges();
    let strides = header.strides.map(|s| s as usize);
    let mut rgba = Vec::with_capacity(width as usize * height as usize * 4);
    for y in 0..height {
        let sy = (u64::from(y) * u64::from(header.height) / u64::from(height)) as usize;
        for x in 0..width {
            let sx = (u64::from(x) * u64::from(header.width) / u64::from(width)) as usize;
            let pixel = match header.format {
                PixelFormat::I420 => {
                    let luma = pixels[planes[0].start + sy * strides[0] + sx];
                    let chroma = (sy / 2, sx / 2);
                    let u = pixels[planes[1].start + chroma.0 * strides[1] + chroma.1];
                    let v = pixels[planes[2].start + chroma.0 * strides[2] + chroma.1];
                    yuv_to_rgb(luma, u, v)
                }
                PixelFormat::Rgba8 => {
                    let at = planes[0].start + sy * strides[0] + sx * 4;
                    [pixels[at], pixels[at + 1], pixels[at + 2]]
                }
            };
            rgba.extend_from_slice(&pixel);
            rgba.push(u8::MAX);
        }
    }
    Some((width, height, rgba))
}

/// One BT.601 limited-range YUV pixel as sRGB (8-bit fixed point).
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = 298 * (i32::from(y) - 16);
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clamp = |value: i32| ((value + 128) >> 8).clamp(0, 255) as u8;
    [
        clamp(c + 409 * e),
        clamp(c - 100 * d - 208 * e),
        clamp(c + 516 * d),
    ]
}

/// The thumbnails the dashboard shows, made from the frames the host
/// receives (fed by [`tap_frames`]; only present with a dashboard).
#[derive(Resource, Debug, Default)]
pub struct FrameTap {
    games: HashMap<u64, TapEntry>,
    /// The picture the stream carried last.
    preview: Option<Arc<Thumbnail>>,
    serial: u64,
}

#[derive(Debug)]
struct TapEntry {
    made_at: Instant,
    thumbnail: Arc<Thumbnail>,
}

impl FrameTap {
    /// Offers a frame of game `game_id`; `streamed` says whether it went to
    /// the stream. Converted only when that game's thumbnail is older than
    /// [`THUMBNAIL_INTERVAL`].
    pub fn offer(
        &mut self,
        game_id: u64,
        header: &VideoFrameHeader,
        pixels: &[u8],
        streamed: bool,
    ) {
        self.offer_at(Instant::now(), game_id, header, pixels, streamed);
    }

    fn offer_at(
        &mut self,
        now: Instant,
        game_id: u64,
        header: &VideoFrameHeader,
        pixels: &[u8],
        streamed: bool,
    ) {
        let due = self
            .games
            .get(&game_id)
            .is_none_or(|entry| now.duration_since(entry.made_at) >= THUMBNAIL_INTERVAL);
        if !due {
            return;
        }
        let Some((width, height, rgba)) = frame_to_rgba(header, pixels, THUMBNAIL_MAX_SIDE) else {
            return;
        };
        self.serial += 1;
        let thumbnail = Arc::new(Thumbnail {
            width,
            height,
            rgba,
            serial: self.serial,
        });
        if streamed {
            self.preview = Some(thumbnail.clone());
        }
        self.games.insert(
            game_id,
            TapEntry {
                made_at: now,
                thumbnail,
            },
        );
    }

    /// The latest thumbnail of a game.
    pub fn game(&self, game_id: u64) -> Option<&Arc<Thumbnail>> {
        self.games.get(&game_id).map(|entry| &entry.thumbnail)
    }

    /// The latest picture the stream carried (kept after its game has gone:
    /// the stream repeats it).
    pub fn preview(&self) -> Option<&Arc<Thumbnail>> {
        self.preview.as_ref()
    }

    /// Forgets the thumbnails of games that are no longer connected.
    pub fn retain_games(&mut self, connected: impl Fn(u64) -> bool) {
        self.games.retain(|&game_id, _| connected(game_id));
    }
}

/// Offers every frame the games send to the [`FrameTap`]; the frames that
/// go to the stream also make its preview.
pub fn tap_frames(
    mut frames: MessageReader<FrameArrived>,
    streaming: Res<Streaming>,
    mut tap: ResMut<FrameTap>,
) {
    let on_air = streaming.on_air();
    for frame in frames.read() {
        let streamed = on_air == Some(frame.game_id);
        tap.offer(
            frame.game_id,
            &frame.header,
            frame.pixels.as_ref(),
            streamed,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livestream_testsrc::pattern::{rgb_to_yuv, rgba_to_i420};

    /// A packed I420 frame: left half `left`, right half `right` (sRGB).
    fn i420(width: u32, height: u32, left: [u8; 3], right: [u8; 3]) -> Vec<u8> {
        let rgba: Vec<u8> = (0..height)
            .flat_map(|_| 0..width)
            .flat_map(|x| {
                let [r, g, b] = if x < width / 2 { left } else { right };
                [r, g, b, 255]
            })
            .collect();
        rgba_to_i420(&rgba, width, height)
    }

    fn close(actual: &[u8], expected: [u8; 3]) -> bool {
        actual
            .iter()
            .zip(expected)
            .all(|(&a, e)| a.abs_diff(e) <= 3)
    }

    #[test]
    fn sizes_keep_the_aspect_and_never_enlarge() {
        assert_eq!(thumbnail_size(1280, 720, 192), (192, 108));
        assert_eq!(thumbnail_size(720, 1280, 192), (108, 192));
        assert_eq!(thumbnail_size(160, 90, 192), (160, 90));
        assert_eq!(thumbnail_size(7680, 2, 192), (192, 1));
    }

    #[test]
    fn i420_frame_becomes_rgba_at_known_colours() {
        let red = [255, 0, 0];
        let blue = [0, 0, 255];
        let header = VideoFrameHeader::packed(PixelFormat::I420, 640, 360);
        let (width, height, rgba) =
            frame_to_rgba(&header, &i420(640, 360, red, blue), 192).unwrap();
        assert_eq!((width, height), (192, 108));
        assert_eq!(rgba.len(), 192 * 108 * 4);
        let pixel = |x: usize, y: usize| &rgba[(y * 192 + x) * 4..][..4];
        assert!(close(pixel(10, 50), red), "{:?}", pixel(10, 50));
        assert!(close(pixel(180, 50), blue), "{:?}", pixel(180, 50));
        assert_eq!(pixel(0, 0)[3], 255);
        assert_eq!(yuv_to_rgb(235, 128, 128), [255, 255, 255]);
        assert_eq!(yuv_to_rgb(16, 128, 128), [0, 0, 0]);
    }

    #[test]
    fn padded_rows_and_rgba_frames_are_read() {
        let mut header = VideoFrameHeader::packed(PixelFormat::I420, 4, 2);
        header.strides = [8, 4, 4];
        let mut data = vec![0u8; header.payload_len().unwrap()];
        let grey = rgb_to_yuv([128, 128, 128]);
        data[..4].fill(grey[0]);
        data[8..12].fill(grey[0]);
        data[16..18].fill(grey[1]);
        data[20..22].fill(grey[2]);
        let (_, _, rgba) = frame_to_rgba(&header, &data, 192).unwrap();
        assert!(close(&rgba[..3], [128, 128, 128]), "{:?}", &rgba[..4]);

        let header = VideoFrameHeader::packed(PixelFormat::Rgba8, 2, 1);
        let (_, _, rgba) = frame_to_rgba(&header, &[1, 2, 3, 0, 4, 5, 6, 0], 192).unwrap();
        assert_eq!(rgba, [1, 2, 3, 255, 4, 5, 6, 255]);
        assert_eq!(
            frame_to_rgba(&header, &[0; 7], 192),
            None,
            "short payload refused"
        );
    }

    #[test]
    fn at_most_two_thumbnails_a_second_and_the_streamed_one_is_the_preview() {
        let header = VideoFrameHeader::packed(PixelFormat::I420, 64, 36);
        let frame = i420(64, 36, [0, 255, 0], [0, 255, 0]);
        let start = Instant::now();
        let mut tap = FrameTap::default();
        tap.offer_at(start, 1, &header, &frame, false);
        let first = tap.game(1).unwrap().serial;
        tap.offer_at(start + Duration::from_millis(300), 1, &header, &frame, true);
        assert_eq!(
            tap.game(1).unwrap().serial,
            first,
            "too soon: not converted"
        );
        assert!(tap.preview().is_none());
        tap.offer_at(start + Duration::from_millis(500), 1, &header, &frame, true);
        assert!(tap.game(1).unwrap().serial > first);
        assert_eq!(tap.preview().unwrap().serial, tap.game(1).unwrap().serial);
        tap.offer_at(start, 2, &header, &frame, false);
        tap.retain_games(|id| id == 2);
        assert!(tap.game(1).is_none() && tap.game(2).is_some());
        assert!(
            tap.preview().is_some(),
            "the stream's picture outlives its game"
        );
    }
}
