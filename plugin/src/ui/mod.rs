//! The ready-made UI, drawn with egui on the game's window after capture (so
//! viewers never see it): the Go-live button with its pop-up, the live badge,
//! and the audience overlay. Optional: a game can draw its own UI from the
//! [`LiveStream`](crate::LiveStream) resource, the [`AudienceFeed`] and the
//! Messages instead.

mod destination;
mod feed;
mod go_live;
mod overlay;

use bevy::prelude::*;
use bevy_egui::{EguiPlugin, EguiPrimaryContextPass};

pub use feed::{AudienceFeed, ChatLine, Highlight};
pub use go_live::GoLivePrompt;
pub use livestream_forms::{DestinationForm, DestinationKind};

use crate::LiveStreamSystems;

/// Adds the Go-live button and the audience overlay; add it next to
/// [`LiveStreamPlugin`](crate::LiveStreamPlugin). Adds `bevy_egui`'s
/// `EguiPlugin` unless the game already has it.
#[derive(Debug, Clone)]
pub struct LiveStreamUiPlugin {
    /// Draw the Go-live button, its pop-up and the live badge (top right).
    pub go_live_button: bool,
    /// Draw the audience overlay (a window, top left until moved).
    pub overlay: bool,
    /// Chat lines (and as many gifts/likes) the overlay keeps to scroll back through.
    pub overlay_history: usize,
}

impl Default for LiveStreamUiPlugin {
    fn default() -> Self {
        Self {
            go_live_button: true,
            overlay: true,
            overlay_history: 200,
        }
    }
}

impl Plugin for LiveStreamUiPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<EguiPlugin>() {
            app.add_plugins(EguiPlugin::default());
        }
        app.insert_resource(AudienceFeed::new(self.overlay_history))
            .init_resource::<GoLivePrompt>()
            .init_resource::<overlay::ChatScroll>()
            .add_systems(
                PreUpdate,
                feed::collect_audience.after(LiveStreamSystems::Receive),
            );
        if self.go_live_button {
            app.add_systems(EguiPrimaryContextPass, go_live::go_live_ui);
        }
        if self.overlay {
            app.add_systems(EguiPrimaryContextPass, overlay::audience_overlay);
        }
    }
}
