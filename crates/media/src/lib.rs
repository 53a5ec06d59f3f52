//! The host's media pipeline (GStreamer; never linked by games).
//!
//! [`Streamer`] encodes what the host gives it — the shown game's frames and
//! audio — into one H.264/AAC stream and pushes it to every [`Output`]
//! (RTMP, SRT, files) at once. It keeps a constant frame rate: when no new
//! frame arrives (no game shown, a game paused) the last frame is repeated,
//! and a switch between games forces one keyframe without restarting the
//! encoder or any output.
//!
//! One concern per module: the encode graph (`graph`), the outputs and
//! their branches (`outputs`), when a failed output is rebuilt
//! (`reconnect`, pure), the bus thread (`bus`), the frame pump's
//! decisions (`pump`, pure) and its thread (`frame_pump`), stopping
//! (`shutdown`), and the [`Streamer`] API tying them together.

mod audio;
mod bus;
mod clock;
mod config;
mod element;
mod error;
mod events;
mod frame;
mod frame_pump;
mod graph;
mod mic;
mod outputs;
mod pump;
mod reconnect;
mod shutdown;
mod stats;
mod streamer;

pub use audio::{AudioTimeline, PlacedChunk, SWITCH_FADE_NS};
pub use config::{AUDIO_CHANNELS, AUDIO_RATE, MediaConfig, MicSource, TlsTrust, X264_PRESETS};
pub use error::{ElementError, MediaError};
pub use events::MediaEvent;
pub use frame::VideoFrame;
pub use outputs::{Container, Destination, Output, OutputError, redact_url};
pub use pump::{
    FrameSchedule, MAX_PLAYOUT_DELAY_NS, PumpState, PumpStep, SLOT_TOLERANCE, TickAction,
};
pub use stats::MediaStats;
pub use streamer::Streamer;
