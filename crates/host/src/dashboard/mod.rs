//! The host's dashboard window (egui): connected games with their status,
//! frames/s and latest frame; the stream's state, outputs, counters and
//! bitrate, with "Go live" and "Stop"; a preview of the outgoing picture;
//! the games configured in `host.ron` with "Start" and "Bring to front"; and
//! the audience feed.
//!
//! Two halves joined by a [`DashboardLink`]. In the host's loop,
//! [`DashboardHostPlugin`] keeps the [`model`] (plain data, updated from what
//! the host already keeps) and turns the dashboard's [`draw::Action`]s into
//! the same messages `ctl` produces ([`StreamCommand`],
//! [`DisplayCommand`], [`LaunchGame`]). In the window's app,
//! [`DashboardWindowPlugin`] only reads the model and draws it ([`draw`]).
//! The window runs its own loop on the main thread (see
//! [`crate::run_with_dashboard`]), so a slow renderer never slows the host
//! loop that hands the games' frames to the stream.

pub mod draw;
pub mod feed;
pub mod model;
pub mod plot;
pub mod thumbnail;
#[cfg(test)]
mod ui_tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bevy::prelude::*;
use bevy::render::renderer::RenderAdapterInfo;
use bevy_egui::EguiPrimaryContextPass;
use crossbeam_channel::{Receiver, Sender};
use tracing::warn;

pub use draw::Action;
pub use model::DashboardModel;
pub use thumbnail::FrameTap;

use crate::HostSystems;
use crate::children::LaunchGame;
use crate::display;
use crate::lifecycle::TerminationRequested;
use crate::messages::{DisplayCommand, FrameArrived, SettingsChosen, StreamCommand};

/// What the host loop and the dashboard window share: the model (host →
/// window), the clicked actions (window → host), and each side's end.
#[derive(Resource, Debug, Clone)]
pub struct DashboardLink {
    model: Arc<Mutex<DashboardModel>>,
    actions: (Sender<Action>, Receiver<Action>),
    host_finished: Arc<AtomicBool>,
    stop_host: TerminationRequested,
}

impl DashboardLink {
    /// A link whose window, when closed, raises `stop_host` (the host's
    /// stop-signal flag).
    pub fn new(stop_host: TerminationRequested) -> Self {
        Self {
            model: Arc::default(),
            actions: crossbeam_channel::unbounded(),
            host_finished: Arc::default(),
            stop_host,
        }
    }

    /// The model, locked (briefly: the host updates it, the window copies it).
    pub fn model(&self) -> MutexGuard<'_, DashboardModel> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a click to the host loop.
    pub fn send(&self, action: Action) {
        let _ = self.actions.0.send(action);
    }

    /// Asks the host to stop (the window was closed), as a stop signal does.
    pub fn stop_host(&self) {
        self.stop_host.request();
    }

    /// Records that the host loop has ended (the window closes too).
    pub fn mark_host_finished(&self) {
        self.host_finished.store(true, Ordering::Release);
    }

    /// Whether the host loop has ended.
    pub fn host_finished(&self) -> bool {
        self.host_finished.load(Ordering::Acquire)
    }
}

/// The dashboard's half in the host loop: the thumbnails, the model kept
/// current, and the clicks turned into host messages.
pub struct DashboardHostPlugin(pub DashboardLink);

impl Plugin for DashboardHostPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<StreamCommand>()
            .add_message::<DisplayCommand>()
            .add_message::<LaunchGame>()
            .add_message::<SettingsChosen>()
            .add_message::<FrameArrived>()
            .insert_resource(self.0.clone())
            .init_resource::<FrameTap>()
            .add_systems(
                Update,
                (
                    apply_actions
                        .in_set(HostSystems::Receive)
                        .before(display::apply_display_commands),
                    thumbnail::tap_frames.in_set(HostSystems::Report),
                    model::update_model.after(HostSystems::Report),
                ),
            );
    }
}

/// The dashboard's half in the window's app: a camera for egui to draw on,
/// the drawing, and closing when the host has ended. Needs `bevy_egui`'s
/// `EguiPlugin`.
pub struct DashboardWindowPlugin(pub DashboardLink);

impl Plugin for DashboardWindowPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.0.clone())
            .add_systems(Startup, spawn_camera)
            .add_systems(Startup, hint_software_rendering)
            .add_systems(Update, close_when_host_finished)
            .add_systems(EguiPrimaryContextPass, draw::draw_dashboard);
    }
}

/// Turns the dashboard's clicks into the messages `ctl` would produce.
fn apply_actions(
    link: Res<DashboardLink>,
    mut stream_commands: MessageWriter<StreamCommand>,
    mut display_commands: MessageWriter<DisplayCommand>,
    mut launches: MessageWriter<LaunchGame>,
    mut chosen_settings: MessageWriter<SettingsChosen>,
) {
    for action in link.actions.1.try_iter() {
        match action {
            Action::GoLive { mic } => {
                stream_commands.write(StreamCommand::GoLive { mic });
            }
            Action::Stop => {
                stream_commands.write(StreamCommand::Stop);
            }
            Action::Show { game_id } => {
                display_commands.write(DisplayCommand::Show { game_id });
            }
            Action::Start { name } => {
                launches.write(LaunchGame { name });
            }
            Action::SaveSettings {
                destination,
                quality,
                remember,
            } => {
                chosen_settings.write(SettingsChosen {
                    destination,
                    quality: Some(quality),
                    remember,
                });
            }
        }
    }
}

/// The camera egui draws the dashboard on (`bevy_egui` gives the first camera
/// its context). No multisampling: egui smooths its own edges, and a 4×
/// target multiplies the cost of a frame in software rendering.
fn spawn_camera(mut commands: Commands) {
    commands.spawn((Camera2d, Msaa::Off));
}

/// Mesa's software renderer draws each frame of the window on every core at
/// once, which delays the games' frames and the stream's frame pump (measured
/// on 2 cores: 4 repeated frames a second instead of none); one thread is
/// enough for the dashboard.
fn hint_software_rendering(adapter: Option<Res<RenderAdapterInfo>>) {
    if adapter.is_some_and(|adapter| adapter.name.starts_with("llvmpipe"))
        && std::env::var_os("LP_NUM_THREADS").is_none()
    {
        warn!(
            "the dashboard is drawn in software (llvmpipe) on every core, which delays the \
             stream's frames: start the host with LP_NUM_THREADS=1, or with --headless"
        );
    }
}

/// Closes the window once the host loop has ended (last game gone, a stop signal).
fn close_when_host_finished(link: Res<DashboardLink>, mut exit: MessageWriter<AppExit>) {
    if link.host_finished() {
        exit.write(AppExit::Success);
    }
}
