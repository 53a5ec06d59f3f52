//! The messages the host's systems talk through. Each system does one job:
//! [`crate::games`] turns what games send into these, and the stream, the
//! display status, the counters and the dashboard each read what they need.

use bevy::prelude::*;
use livestream_protocol::{
    AudioChunkHeader, DisplayReport, MicChoice, StreamDestination, VideoFrameHeader,
};

use crate::media_backend::SharedPayload;

/// A request to change the stream (from a game, `ctl`, the dashboard or start-up).
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCommand {
    /// Go live (no effect when already live).
    GoLive {
        /// Mix the configured microphone in.
        mic: MicChoice,
    },
    /// Stop streaming.
    Stop,
}

/// A change of what is shown, made by the host (`ctl show`/`hide-all`, the dashboard).
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayCommand {
    /// Show this game and hide every other.
    Show {
        /// The game's connection id.
        game_id: u64,
    },
    /// Hide every game (the stream keeps the last frame).
    HideAll,
}

/// A player picked where to stream in a game's Go-live pop-up.
#[derive(Message, Debug, Clone)]
pub struct DestinationChosen {
    /// Where to (its `Debug` never shows the key).
    pub destination: StreamDestination,
    /// Save it in the user's `host.ron` for the next sessions.
    pub remember: bool,
}

/// A game reported a change of its display status (focus, visibility, …).
#[derive(Message, Debug, Clone, Copy)]
pub struct DisplayReported {
    /// The game's entity.
    pub game: Entity,
    /// What it reported.
    pub report: DisplayReport,
}

/// A video frame arrived from a game.
#[derive(Message, Debug, Clone)]
pub struct FrameArrived {
    /// The game's entity.
    pub game: Entity,
    /// The game's connection id.
    pub game_id: u64,
    /// Geometry, format, frame number and capture time.
    pub header: VideoFrameHeader,
    /// The pixels.
    pub pixels: SharedPayload,
}

/// A chunk of audio arrived from a game.
#[derive(Message, Debug, Clone)]
pub struct AudioArrived {
    /// The game's entity.
    pub game: Entity,
    /// The game's connection id.
    pub game_id: u64,
    /// Format and capture time.
    pub header: AudioChunkHeader,
    /// Interleaved little-endian f32 samples.
    pub samples: SharedPayload,
}
