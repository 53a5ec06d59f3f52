//! The messages the host's systems talk through. Each system does one job:
//! [`crate::games`] turns what games send into these, and the stream, the
//! display status, the counters and the dashboard each read what they need.

use bevy::prelude::*;
use livestream_protocol::{
    AudioChunkHeader, DisplayReport, MicChoice, StreamDestination, VideoFrameHeader,
};

use livestream_forms::Quality;

use crate::media_backend::SharedPayload;
use crate::settings::HostSettings;

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

/// A streamer chose settings: where to stream in a game's Go-live pop-up,
/// or that and the picture's quality in the dashboard.
#[derive(Message, Debug, Clone)]
pub struct SettingsChosen {
    /// Where to (its `Debug` never shows the key), if chosen.
    pub destination: Option<StreamDestination>,
    /// The picture's quality, if chosen.
    pub quality: Option<Quality>,
    /// Save them in the user's `host.ron` for the next sessions.
    pub remember: bool,
}

impl SettingsChosen {
    /// Writes the choices into `settings` (the running host's, or the saved file's).
    pub fn apply_to(&self, settings: &mut HostSettings) {
        if let Some(destination) = &self.destination {
            settings.destinations = vec![destination.clone()];
        }
        if let Some(quality) = self.quality {
            settings.width = quality.width;
            settings.height = quality.height;
            settings.fps = quality.fps;
            settings.bitrate_kbps = quality.bitrate_kbps;
        }
    }
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
