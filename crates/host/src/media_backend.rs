//! The host's seam to the media pipeline: two small traits, so the host's
//! logic runs in tests with a recording stand-in (`tests/stepper.rs`) and in
//! the product with GStreamer ([`GStreamerBackend`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bevy::prelude::*;
use livestream_ipc::Payload;
use livestream_media::{MediaConfig, MediaError, MediaEvent, Streamer, VideoFrame};
use livestream_protocol::{AudioChunkHeader, VideoFrameHeader};

/// A received payload shared between the host's systems (stream, dashboard)
/// without copying; its buffer returns to the connection's pool when the
/// last holder (possibly the encoder) lets go.
#[derive(Debug, Clone)]
pub struct SharedPayload(pub Arc<Payload>);

impl AsRef<[u8]> for SharedPayload {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The pipeline's counters, read once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Frames pushed to the encoder, repeats included.
    pub frames_pushed: u64,
    /// Of those, repeats of the previous frame.
    pub frames_repeated: u64,
    /// Frames handed to the pipeline that never reached the encoder.
    pub frames_superseded: u64,
    /// How late the latest output slot was emitted after its presentation time (ns).
    pub playout_delay_ns: u64,
    /// Encoded bytes so far (video and audio).
    pub bytes_encoded: u64,
}

/// A running stream, as the host drives it.
pub trait StreamSink: Send + Sync {
    /// Hands a frame of the shown game to the stream.
    fn submit_frame(&self, game_id: u64, header: VideoFrameHeader, pixels: SharedPayload);
    /// Hands a chunk of the shown game's audio to the stream.
    fn submit_audio(&self, game_id: u64, header: &AudioChunkHeader, samples: &[u8]);
    /// What happened in the pipeline since the last call (never waits).
    fn take_events(&self) -> Vec<MediaEvent>;
    /// The pipeline's counters now.
    fn counters(&self) -> StreamCounters;
    /// Each output, its URL redacted (never a stream key).
    fn outputs(&self) -> Vec<String>;
    /// Ends the stream: end-of-stream through every output, files finalised.
    fn stop(self: Box<Self>, timeout: Duration) -> Result<(), MediaError>;
}

/// Starts streams.
pub trait MediaBackend: Send + Sync {
    /// Starts a stream with `config`.
    fn start(&self, config: MediaConfig) -> Result<Box<dyn StreamSink>, MediaError>;
}

/// The media back-end the host uses, as a resource.
#[derive(Resource)]
pub struct Media(pub Box<dyn MediaBackend>);

impl core::fmt::Debug for Media {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Media")
    }
}

/// The product's back-end: a GStreamer [`Streamer`].
#[derive(Debug, Default, Clone, Copy)]
pub struct GStreamerBackend;

impl MediaBackend for GStreamerBackend {
    fn start(&self, config: MediaConfig) -> Result<Box<dyn StreamSink>, MediaError> {
        Ok(Box::new(Streamer::start(config)?))
    }
}

impl StreamSink for Streamer {
    fn submit_frame(&self, game_id: u64, header: VideoFrameHeader, pixels: SharedPayload) {
        Streamer::submit_frame(self, VideoFrame::new(game_id, header, pixels));
    }

    fn submit_audio(&self, game_id: u64, header: &AudioChunkHeader, samples: &[u8]) {
        Streamer::submit_audio(self, game_id, header, samples);
    }

    fn take_events(&self) -> Vec<MediaEvent> {
        self.events().try_iter().collect()
    }

    fn counters(&self) -> StreamCounters {
        let stats = self.stats();
        StreamCounters {
            frames_pushed: stats.frames_pushed.load(Ordering::Relaxed),
            frames_repeated: stats.frames_repeated.load(Ordering::Relaxed),
            frames_superseded: stats.frames_superseded.load(Ordering::Relaxed),
            playout_delay_ns: stats.playout_delay_ns.load(Ordering::Relaxed),
            bytes_encoded: stats.bytes_encoded.load(Ordering::Relaxed),
        }
    }

    fn outputs(&self) -> Vec<String> {
        Streamer::outputs(self)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn stop(self: Box<Self>, timeout: Duration) -> Result<(), MediaError> {
        Streamer::stop(*self, timeout)
    }
}
