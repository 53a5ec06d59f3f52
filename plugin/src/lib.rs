//! `bevy_livestream`: go live from inside a Bevy game.
//!
//! Add [`LiveStreamPlugin`] to the app and tag the cameras viewers should see
//! with [`Streamable`]. The plugin never links GStreamer: encoding and pushing
//! happen in the separate `livestream-host` process.

mod config;

pub use config::{ConfigError, LiveStreamPlugin, LiveStreamSettings, SOCKET_ENV};

/// Everything a game usually needs: `use bevy_livestream::prelude::*;`.
pub mod prelude {
    pub use crate::{LiveStreamPlugin, LiveStreamSettings, Streamable};
}

use bevy::prelude::*;

/// Marks a camera whose picture is sent to the stream.
///
/// Only cameras with this component are captured, so UI drawn by other
/// cameras (or by the overlay after capture) never reaches viewers.
#[derive(Component, Debug, Default, Clone, Copy, Reflect)]
#[reflect(Component, Default)]
pub struct Streamable;
