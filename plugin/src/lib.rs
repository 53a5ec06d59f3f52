//! `bevy_livestream`: go live from inside a Bevy game.
//!
//! Add [`LiveStreamPlugin`] to the app and tag the cameras viewers should see
//! with [`Streamable`]. The plugin connects to `livestream-host` (starting one
//! when the player goes live and none runs), captures the tagged camera on
//! the GPU and the game's kira audio while the host asks for them, reports
//! whether the game is on screen, and delivers audience events and stream
//! state as Messages. It never links GStreamer: encoding and pushing happen
//! in the host process.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_livestream::prelude::*;
//!
//! App::new()
//!     .add_plugins((DefaultPlugins, LiveStreamPlugin::default()))
//!     .add_systems(Startup, |mut commands: Commands| {
//!         commands.spawn((Camera2d, Streamable));
//!     })
//!     .run();
//! ```

mod audio;
mod capture;
mod config;
mod connection;
mod display;
pub mod headless;
mod host_config;
mod host_process;
mod plugin;
mod route;
mod state;
mod ui;

pub use audio::{GameAudio, GameAudioBackend, GameAudioError};
pub use config::{
    AudioOutput, ConfigError, Conversion, LiveStreamPlugin, LiveStreamSettings, SOCKET_ENV,
};
/// Now, in `CLOCK_MONOTONIC` nanoseconds: the clock that stamps captured
/// frames and audio, shared by the game, the host and GStreamer, so a game
/// can log events on the stream's timeline.
pub use livestream_ipc::monotonic_ns;
/// Whether a game is shown or hidden, as the host sees it (named apart from
/// Bevy's `Visibility`, which decides what a camera draws).
pub use livestream_protocol::Visibility as GameVisibility;
pub use livestream_protocol::frame_code;
pub use livestream_protocol::{
    AudienceEvent, AudienceEventKind, AudienceUser, DisplayReason, MediaRequest, MicChoice,
    PixelFormat, StreamDestination, StreamPhase, StreamState, StreamStats,
};
pub use state::{
    AudienceMessage, DisplayChanged, HostConnection, LiveStream, LiveStreamRequest,
    LiveStreamStats, StreamStateChanged,
};
pub use ui::{
    AudienceFeed, ChatLine, DestinationForm, DestinationKind, GoLivePrompt, Highlight,
    LiveStreamUiPlugin,
};

/// Everything a game usually needs: `use bevy_livestream::prelude::*;`.
pub mod prelude {
    pub use crate::headless::{HeadlessPlugin, headless_default_plugins};
    pub use crate::{
        AudienceEventKind, AudienceFeed, AudienceMessage, GameAudio, GoLivePrompt, LiveStream,
        LiveStreamPlugin, LiveStreamRequest, LiveStreamSettings, LiveStreamSystems,
        LiveStreamUiPlugin, MicChoice, StreamStateChanged, Streamable,
    };
}

use bevy::prelude::*;

/// Marks a camera whose picture is sent to the stream.
///
/// Only cameras with this component are captured, so UI drawn by other
/// cameras (or by the overlay after capture) never reaches viewers. With
/// several, the active one with the highest `Camera::order` is streamed.
#[derive(Component, Debug, Default, Clone, Copy, Reflect)]
#[reflect(Component, Default)]
pub struct Streamable;

/// The plugin's systems, for games that order their own against them.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum LiveStreamSystems {
    /// `PreUpdate`: messages from the host are applied (audience events,
    /// stream state, show/hide), new connections taken.
    Receive,
    /// `PreUpdate`, after `Receive`: the window's display status is derived.
    Display,
    /// `PostUpdate`: requests and display changes are sent to the host.
    Send,
    /// `PostUpdate`: the frame to capture is chosen.
    Capture,
}
