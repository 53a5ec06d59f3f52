//! The host's media pipeline (GStreamer; never linked by games).
//!
//! [`Streamer`] encodes what the host gives it — the shown game's frames and
//! audio — into one H.264/AAC stream and pushes it to every [`Output`]
//! (RTMP, SRT, files) at once. It keeps a constant frame rate: when no new
//! frame arrives (no game shown, a game paused) the last frame is repeated,
//! and a switch between games forces one keyframe without restarting the
//! encoder or any output.

mod audio;
mod config;
mod output;
mod pipeline;
mod pump;

pub use audio::{AudioTimeline, PlacedChunk, SWITCH_FADE_NS};
pub use config::{AUDIO_CHANNELS, AUDIO_RATE, MediaConfig, MicSource, X264_PRESETS};
pub use output::{Container, Destination, Output, OutputError, redact_url};
pub use pipeline::{MediaError, MediaEvent, MediaStats, Streamer, VideoFrame, reconnect_delay};
pub use pump::{
    FrameSchedule, MAX_PLAYOUT_DELAY_NS, PumpState, PumpStep, SLOT_TOLERANCE, TickAction,
};
