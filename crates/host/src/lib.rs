//! `livestream-host`: the live streaming process.
//!
//! A Bevy app whose ECS holds one entity per connected game
//! ([`games::SubGame`], [`games::DisplayStatus`], [`games::GameStats`]). Each
//! frame it admits games and turns what they send into [`messages`], which
//! systems with one job each read: display status ([`display`]), counters,
//! the stream ([`stream`]: follows the shown game and feeds the pipeline
//! behind [`media_backend::MediaBackend`], GStreamer in the product), `ctl`
//! ([`ctl`]), the audience ([`audience`]: backlog first to a game that joins
//! late) and the dashboard. It stops the stream cleanly and exits when the
//! last game has gone ([`lifecycle`]).
//!
//! The same work ([`HostPlugin`]) runs headless ([`build_app`]), beside the
//! egui dashboard window ([`run_with_dashboard`], [`dashboard`]), or in a
//! test with a recording media back-end ([`HostParts`]).

pub mod audience;
pub mod children;
pub mod ctl;
pub mod dashboard;
pub mod display;
pub mod finishing;
pub mod games;
pub mod lifecycle;
pub mod liveness;
pub mod media_backend;
pub mod memory;
pub mod messages;
pub mod meter;
pub mod recording;
pub mod settings;
pub mod status;
pub mod stream;
pub mod switching;
pub mod user_config;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use bevy::app::{ScheduleRunnerPlugin, TerminalCtrlCHandlerPlugin};
use bevy::audio::AudioPlugin;
use bevy::log::LogPlugin;
use bevy::pbr::PbrPlugin;
use bevy::prelude::*;
use bevy::sprite::SpritePlugin;
use bevy::sprite_render::SpriteRenderPlugin;
use bevy::text::TextPlugin;
use bevy::ui::UiPlugin;
use bevy::ui_render::UiRenderPlugin;
use bevy::window::{ExitCondition, WindowResolution};
use bevy::winit::{UpdateMode, WinitSettings};
use bevy_egui::EguiPlugin;
use livestream_ipc::{Server, ServerConfig, resolve_socket_path};
use livestream_protocol::MicChoice;
use tracing::error;

use crate::audience::Audience;
use crate::children::{Children, LaunchGame, program_label};
use crate::ctl::{CtlListener, CtlRequests, CtlServer, PendingCtl, ctl_socket_path};
use crate::dashboard::{DashboardHostPlugin, DashboardLink, DashboardWindowPlugin};
use crate::games::{GameServer, GamesSeen};
use crate::lifecycle::TerminationRequested;
use crate::media_backend::{GStreamerBackend, Media, MediaBackend};
use crate::messages::{
    AudioArrived, DisplayCommand, DisplayReported, FrameArrived, SettingsChosen, StreamCommand,
};
use crate::settings::HostSettings;
use crate::stream::Streaming;
use crate::user_config::{UserConfig, user_config_path};

/// How often the headless host runs its loop.
const HEADLESS_LOOP: Duration = Duration::from_millis(4);
/// How often the dashboard window redraws.
const WINDOW_REFRESH: Duration = Duration::from_millis(100);

/// Ordering of the host's work within a frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostSystems {
    /// Admit games and read their messages and control requests.
    Receive,
    /// Follow the shown game and drive the pipeline.
    Stream,
    /// Tell games the state; decide whether to exit.
    Report,
}

/// Why the host could not start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Bad settings.
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    /// The game socket could not be opened.
    #[error(transparent)]
    Server(#[from] livestream_ipc::ServerError),
    /// The control socket or a child could not be started.
    #[error("{0}")]
    Io(String),
}

/// Everything the host opened before its app runs: sockets bound, children
/// launched, the audience sources started, the media back-end chosen.
/// [`HostPlugin::new`] opens the real ones; a test builds its own (a
/// recording back-end, requests injected on `ctl_requests`).
pub struct HostParts {
    /// The settings.
    pub settings: HostSettings,
    /// The game socket.
    pub server: Server,
    /// The control socket (none in tests that inject requests directly).
    pub ctl: Option<CtlServer>,
    /// Where control requests arrive.
    pub ctl_requests: crossbeam_channel::Receiver<PendingCtl>,
    /// Children the host started.
    pub children: Children,
    /// The audience sources and history.
    pub audience: Audience,
    /// A stop signal or the dashboard's close.
    pub termination: TerminationRequested,
    /// What streams: GStreamer in the product.
    pub media: Box<dyn MediaBackend>,
    /// Where a destination the player chose in a game is remembered.
    pub user_config: Option<PathBuf>,
}

/// The host's work, the same with or without a window: its resources, its
/// messages and its systems (games, stream, `ctl`, audience, exit).
pub struct HostPlugin {
    /// Taken once, when the plugin is built.
    parts: Mutex<Option<HostParts>>,
}

impl HostPlugin {
    /// Binds the sockets, launches the `--launch` children and starts the
    /// audience sources for `settings`.
    pub fn new(settings: HostSettings) -> Result<Self, HostError> {
        settings.validate()?;
        let socket = resolve_socket_path(settings.socket.as_deref());
        let server = Server::bind(ServerConfig::new(&socket))?;
        let (ctl_tx, ctl_requests) = crossbeam_channel::unbounded();
        let ctl_path = ctl_socket_path(&socket);
        let ctl = CtlServer::bind(ctl_path.clone(), ctl_tx).map_err(|err| {
            HostError::Io(format!("control socket {}: {err}", ctl_path.display()))
        })?;
        let mut children = Children::new(socket);
        for program in &settings.launch {
            children
                .launch(&program_label(program), program, &[])
                .map_err(|err| {
                    HostError::Io(format!("cannot launch {}: {err}", program.display()))
                })?;
        }
        let termination = TerminationRequested::on_stop_signals()
            .map_err(|err| HostError::Io(format!("cannot watch stop signals: {err}")))?;
        let audience = Audience::start(
            &settings.interaction_sources()?,
            &settings.source_tls()?,
            settings.audience_history,
            settings.audience_queue,
        );
        Ok(Self::with_parts(HostParts {
            settings,
            server,
            ctl: Some(ctl),
            ctl_requests,
            children,
            audience,
            termination,
            media: Box::new(GStreamerBackend),
            user_config: user_config_path(),
        }))
    }

    /// The host's work on parts opened elsewhere (tests).
    pub fn with_parts(parts: HostParts) -> Self {
        Self {
            parts: Mutex::new(Some(parts)),
        }
    }

    /// The host's termination flag (stop signals): raising it stops the host cleanly.
    fn termination(&self) -> TerminationRequested {
        self.parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|parts| parts.termination.clone())
            .unwrap_or_default()
    }
}

impl Plugin for HostPlugin {
    fn build(&self, app: &mut App) {
        let parts = self
            .parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(parts) = parts else {
            error!("HostPlugin added twice: the second one does nothing");
            return;
        };
        let go_live = parts.settings.go_live_on_start;
        let mut streaming = Streaming::default();
        streaming.has_destination = parts.settings.has_destination();
        if let Some(ctl) = parts.ctl {
            app.insert_resource(CtlListener(ctl));
        }
        app.add_message::<StreamCommand>()
            .add_message::<DisplayCommand>()
            .add_message::<DisplayReported>()
            .add_message::<SettingsChosen>()
            .add_message::<FrameArrived>()
            .add_message::<AudioArrived>()
            .add_message::<LaunchGame>()
            .insert_resource(parts.settings)
            .insert_resource(GameServer(parts.server))
            .insert_resource(CtlRequests(parts.ctl_requests))
            .insert_resource(Media(parts.media))
            .insert_resource(UserConfig(parts.user_config))
            .insert_resource(streaming)
            .insert_resource(parts.children)
            .insert_resource(parts.audience)
            .insert_resource(parts.termination)
            .init_resource::<GamesSeen>()
            .init_resource::<liveness::GameLiveness>()
            .configure_sets(
                Update,
                (
                    HostSystems::Receive,
                    HostSystems::Stream,
                    HostSystems::Report,
                )
                    .chain(),
            )
            .add_systems(
                Update,
                (
                    (
                        games::accept_games,
                        stream::greet_new_games,
                        audience::welcome_games,
                        games::receive_from_games,
                        liveness::ping_quiet_games,
                        display::apply_display_reports,
                        user_config::apply_chosen_settings,
                        ctl::handle_ctl,
                        display::apply_display_commands,
                        children::launch_requested_games,
                        audience::receive_audience,
                    )
                        .chain()
                        .in_set(HostSystems::Receive),
                    (
                        stream::drive_stream,
                        stream::follow_shown_game,
                        stream::feed_stream,
                        // Beside the feed, so a status built in between
                        // (`ctl`, in Receive) never counts a frame as
                        // received before it could be streamed.
                        games::count_received,
                    )
                        .chain()
                        .in_set(HostSystems::Stream),
                    (
                        stream::broadcast_state,
                        audience::deliver_audience,
                        lifecycle::exit_when_empty,
                        lifecycle::exit_on_request,
                    )
                        .chain()
                        .in_set(HostSystems::Report),
                ),
            )
            .add_systems(Last, lifecycle::stop_on_exit);
        if go_live {
            app.world_mut().write_message(StreamCommand::GoLive {
                mic: MicChoice::Off,
            });
        }
    }
}

/// Builds the headless host app (not yet run): sockets bound, children launched.
pub fn build_app(settings: HostSettings) -> Result<App, HostError> {
    Ok(headless_app(HostPlugin::new(settings)?))
}

/// The host's loop without a window: Bevy's minimal plugins and `host`
/// (which handles Ctrl-C itself, see [`lifecycle::STOP_SIGNALS`]).
pub fn headless_app(host: HostPlugin) -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(HEADLESS_LOOP)),
        host,
    ));
    app
}

/// Runs the host with its dashboard window until either ends; returns the
/// host's exit.
///
/// The host loop is the headless app, with the dashboard's model, on a
/// thread of its own; the window (winit wants the main thread) is a second
/// app that draws the model. So the host keeps handing frames to the stream
/// at its own pace however slowly the window renders. Closing the window
/// stops the host as a stop signal does (stream finished, files closed); the host
/// ending (or failing) closes the window. A window that cannot open leaves
/// the host running without it.
pub fn run_with_dashboard(settings: HostSettings) -> Result<AppExit, HostError> {
    /// Tells the window the host loop has ended, however it ended.
    struct Finished(DashboardLink);
    impl Drop for Finished {
        fn drop(&mut self) {
            self.0.mark_host_finished();
        }
    }

    let host = HostPlugin::new(settings)?;
    let link = DashboardLink::new(host.termination());
    let finished = Finished(link.clone());
    let host_loop = std::thread::Builder::new()
        .name("host-loop".into())
        .spawn(move || {
            let mut app = headless_app(host);
            app.add_plugins(DashboardHostPlugin(finished.0.clone()));
            // The runner consumes the app: children are stopped before the window closes.
            let exit = app.run();
            drop(finished);
            exit
        })
        .map_err(|err| HostError::Io(format!("cannot start the host loop: {err}")))?;
    let window = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        window_app(link.clone()).run()
    }));
    match window {
        Ok(_) => link.stop_host(),
        Err(_) => error!("the dashboard window failed (see above); the host goes on without it"),
    }
    host_loop
        .join()
        .map_err(|_| HostError::Io("the host loop panicked".into()))
}

/// The dashboard window's app: a window, a renderer and egui; nothing else.
fn window_app(link: DashboardLink) -> App {
    let mut app = App::new();
    app.add_plugins((
        DefaultPlugins
            .build()
            // The host sets up its own tracing subscriber, and its loop handles Ctrl-C.
            .disable::<LogPlugin>()
            .disable::<TerminalCtrlCHandlerPlugin>()
            // The host plays nothing; the microphone is GStreamer's.
            .disable::<AudioPlugin>()
            // A 2D camera and egui are all the window draws.
            .disable::<PbrPlugin>()
            .disable::<SpritePlugin>()
            .disable::<SpriteRenderPlugin>()
            .disable::<TextPlugin>()
            .disable::<UiPlugin>()
            .disable::<UiRenderPlugin>()
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "livestream-host".into(),
                    resolution: WindowResolution::new(1280, 720),
                    ..default()
                }),
                exit_condition: ExitCondition::OnPrimaryClosed,
                ..default()
            }),
        EguiPlugin::default(),
        DashboardWindowPlugin(link),
    ));
    // Redraw at a steady rate, focused or not (the numbers move), and only
    // then: following window events would redraw continuously (every redraw
    // raises one), and egui asks for a repaint after most passes. In software
    // rendering a frame of the window costs more than the host's whole loop;
    // a click takes effect at the next refresh.
    let refresh = UpdateMode::Reactive {
        wait: WINDOW_REFRESH,
        react_to_device_events: false,
        react_to_user_events: false,
        react_to_window_events: false,
    };
    app.insert_resource(WinitSettings {
        focused_mode: refresh,
        unfocused_mode: refresh,
    });
    app
}

/// Whether a window can be opened: an X11 or Wayland display is named.
pub fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}
