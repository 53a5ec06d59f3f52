//! `livestream-host`: the live streaming process.
//!
//! A Bevy app (headless) whose ECS holds one entity per connected game
//! ([`games::SubGame`], [`games::DisplayStatus`], [`games::GameStats`]). Each
//! frame it admits games, reads their messages, follows the shown game,
//! drives the GStreamer pipeline ([`livestream_media::Streamer`]), answers
//! `ctl` requests, tells every game the stream state and delivers audience
//! events ([`audience`]: backlog first to a game that joins late). It stops
//! the stream cleanly and exits when the last game has gone.

pub mod audience;
pub mod children;
pub mod control;
pub mod ctl;
pub mod games;
pub mod settings;
pub mod stream;
pub mod switching;

use std::time::Duration;

use bevy::app::{ScheduleRunnerPlugin, TerminalCtrlCHandlerPlugin};
use bevy::prelude::*;
use livestream_ipc::{Server, ServerConfig, resolve_socket_path};
use livestream_protocol::MicChoice;

use crate::audience::Audience;
use crate::children::Children;
use crate::control::{CtlListener, CtlRequests};
use crate::ctl::{CtlServer, ctl_socket_path};
use crate::games::{GameServer, GamesSeen};
use crate::settings::HostSettings;
use crate::stream::{StreamCommand, Streaming, TerminationRequested};

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

/// Builds the host app (not yet run): sockets bound, children launched.
pub fn build_app(settings: HostSettings) -> Result<App, HostError> {
    settings.validate()?;
    let socket = resolve_socket_path(settings.socket.as_deref());
    let server = Server::bind(ServerConfig::new(&socket))?;
    let (ctl_tx, ctl_rx) = crossbeam_channel::unbounded();
    let ctl_path = ctl_socket_path(&socket);
    let ctl = CtlServer::bind(ctl_path.clone(), ctl_tx)
        .map_err(|err| HostError::Io(format!("control socket {}: {err}", ctl_path.display())))?;
    let mut children = Children::default();
    for program in &settings.launch {
        children
            .launch(program, &socket)
            .map_err(|err| HostError::Io(format!("cannot launch {}: {err}", program.display())))?;
    }
    let go_live = settings.go_live_on_start;
    let termination = TerminationRequested::on_sigterm()
        .map_err(|err| HostError::Io(format!("cannot watch SIGTERM: {err}")))?;
    let audience = Audience::start(
        &settings.interaction_sources()?,
        settings.audience_history,
        settings.audience_queue,
    );

    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(4))),
        TerminalCtrlCHandlerPlugin,
    ))
    .add_message::<StreamCommand>()
    .insert_resource(settings)
    .insert_resource(GameServer(server))
    .insert_resource(CtlRequests(ctl_rx))
    .insert_resource(CtlListener(ctl))
    .insert_resource(children)
    .insert_resource(audience)
    .insert_resource(termination)
    .init_resource::<Streaming>()
    .init_resource::<GamesSeen>()
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
                audience::welcome_games,
                games::read_games,
                control::handle_ctl,
                audience::receive_audience,
            )
                .chain()
                .in_set(HostSystems::Receive),
            (stream::drive_stream, stream::follow_shown_game)
                .chain()
                .in_set(HostSystems::Stream),
            (
                stream::broadcast_state,
                audience::deliver_audience,
                stream::exit_when_empty,
                stream::exit_on_sigterm,
            )
                .chain()
                .in_set(HostSystems::Report),
        ),
    )
    .add_systems(Last, stream::stop_on_exit);
    if go_live {
        app.world_mut().write_message(StreamCommand::GoLive {
            mic: MicChoice::Off,
        });
    }
    Ok(app)
}
