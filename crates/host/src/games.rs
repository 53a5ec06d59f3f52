//! Connected games as entities: admitted from the socket server, fed by their
//! links, removed when they leave or crash.

use bevy::prelude::*;
use livestream_ipc::{LinkToGame, LinkEvent, Server, ServerEvent, monotonic_ns};
use livestream_media::VideoFrame;
use livestream_protocol::{
    Capabilities, DisplayReason, GameMessage, HostMessage, MicChoice, Visibility,
};
use tracing::{info, info_span, warn};

use crate::dashboard::FrameTap;
use crate::stream::{StreamCommand, Streaming};

/// A connected game.
#[derive(Component, Debug, Clone)]
pub struct SubGame {
    /// Connection id given by the host.
    pub game_id: u64,
    /// Name the game announced.
    pub name: String,
    /// Its process id.
    pub pid: u32,
    /// What it can send.
    pub capabilities: Capabilities,
}

/// Whether a game is on screen, and why it last changed.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayStatus {
    /// Shown or hidden.
    pub visibility: Visibility,
    /// Why it last changed.
    pub reason: DisplayReason,
    /// When the host learned of it (`CLOCK_MONOTONIC` ns).
    pub since_ns: u64,
}

/// Counters of one game's connection.
#[derive(Component, Debug, Clone, Default, PartialEq, Eq)]
pub struct GameStats {
    /// Video frames received.
    pub frames: u64,
    /// Of those, frames handed to the stream.
    pub frames_streamed: u64,
    /// Audio chunks received.
    pub audio_chunks: u64,
    /// Frames the game's own queue dropped (gaps in frame numbers).
    pub frames_lost: u64,
    /// Last frame number seen.
    pub last_frame_number: Option<u64>,
}

/// The game's link (owned here: despawning the entity disconnects it).
#[derive(Component, Debug)]
pub struct GameConnection(pub LinkToGame);

/// Frees the game's server slot with the entity.
#[derive(Component, Debug)]
pub struct GameSlot(pub livestream_ipc::GameSlot);

/// The socket server, as a resource.
#[derive(Resource, Debug)]
pub struct GameServer(pub Server);

/// Whether any game ever connected (the host exits when the last one leaves).
#[derive(Resource, Debug, Default)]
pub struct GamesSeen(pub u64);

/// Admits new games: one entity each, told the current stream state.
pub fn accept_games(
    mut commands: Commands,
    server: Res<GameServer>,
    streaming: Res<Streaming>,
    mut seen: ResMut<GamesSeen>,
) {
    while let Ok(event) = server.0.events().try_recv() {
        let ServerEvent::Connected(connected) = event else {
            continue; // refusals are logged by the server
        };
        let connected = *connected;
        let _ = connected
            .link
            .outbox()
            .send(HostMessage::StreamState(streaming.state_message()));
        seen.0 += 1;
        commands.spawn((
            SubGame {
                game_id: connected.game_id,
                name: connected.hello.game_name.clone(),
                pid: connected.hello.pid,
                capabilities: connected.hello.capabilities.clone(),
            },
            DisplayStatus {
                visibility: Visibility::Hidden,
                reason: DisplayReason::Startup,
                since_ns: monotonic_ns(),
            },
            GameStats::default(),
            GameConnection(connected.link),
            GameSlot(connected.slot),
        ));
    }
}

/// Reads every game's messages: status reports update [`DisplayStatus`],
/// the shown game's frames and audio go to the stream, requests become
/// [`StreamCommand`]s, and games that left are despawned.
pub fn read_games(
    mut commands: Commands,
    mut games: Query<(
        Entity,
        &SubGame,
        &mut DisplayStatus,
        &mut GameStats,
        &GameConnection,
    )>,
    mut streaming: ResMut<Streaming>,
    mut stream_commands: MessageWriter<StreamCommand>,
    mut frame_tap: Option<ResMut<FrameTap>>,
) {
    for (entity, game, mut status, mut stats, link) in &mut games {
        let span = info_span!("game", id = game.game_id, name = %game.name);
        let _entered = span.enter();
        let shown = streaming.shown == Some(game.game_id);
        for event in link.0.drain() {
            let envelope = match event {
                LinkEvent::Message(envelope) => envelope,
                LinkEvent::Closed(reason) => {
                    info!("game left: {reason}");
                    commands.entity(entity).despawn();
                    break;
                }
            };
            match envelope.message {
                GameMessage::Display(report) => {
                    info!(visibility = ?report.visibility, reason = ?report.reason, "display status");
                    *status = DisplayStatus {
                        visibility: report.visibility,
                        reason: report.reason,
                        since_ns: monotonic_ns(),
                    };
                }
                GameMessage::VideoFrame(header) => {
                    stats.frames += 1;
                    if let Some(last) = stats.last_frame_number {
                        stats.frames_lost += header.frame_number.saturating_sub(last + 1);
                    }
                    stats.last_frame_number = Some(header.frame_number);
                    if let Some(tap) = frame_tap.as_deref_mut() {
                        let streamed = shown && streaming.streamer.is_some();
                        tap.offer(game.game_id, &header, &envelope.payload, streamed);
                    }
                    if shown && let Some(streamer) = &streaming.streamer {
                        streamer.submit_frame(VideoFrame::new(
                            game.game_id,
                            header,
                            envelope.payload,
                        ));
                        stats.frames_streamed += 1;
                        streaming.frame_streamed(game.game_id);
                    }
                }
                GameMessage::AudioChunk(header) => {
                    stats.audio_chunks += 1;
                    if shown && let Some(streamer) = &streaming.streamer {
                        streamer.submit_audio(game.game_id, &header, &envelope.payload);
                    }
                }
                GameMessage::GoLive { mic } => {
                    info!(mic = matches!(mic, MicChoice::On), "game asks to go live");
                    stream_commands.write(StreamCommand::GoLive { mic });
                }
                GameMessage::StopStream => {
                    info!("game asks to stop the stream");
                    stream_commands.write(StreamCommand::Stop);
                }
                GameMessage::Goodbye { reason } => info!("game says goodbye: {reason}"),
                GameMessage::Pong { .. } => {}
                GameMessage::Hello(_) => warn!("second hello ignored"),
            }
        }
    }
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

impl DisplayCommand {
    /// Applies the command to every game: each is told its visibility and its
    /// [`DisplayStatus`] changes at once (reason `HostCommand`).
    pub fn apply<'a>(
        self,
        games: impl Iterator<Item = (&'a SubGame, Mut<'a, DisplayStatus>, &'a GameConnection)>,
    ) {
        for (game, mut status, link) in games {
            let visibility = match self {
                Self::Show { game_id } if game.game_id == game_id => Visibility::Shown,
                Self::Show { .. } | Self::HideAll => Visibility::Hidden,
            };
            command_visibility(link, &mut status, visibility);
        }
    }
}

/// Applies [`DisplayCommand`]s (from the dashboard); showing a game that has
/// left meanwhile changes nothing.
pub fn apply_display_commands(
    mut commands: MessageReader<DisplayCommand>,
    mut games: Query<(&SubGame, &mut DisplayStatus, &GameConnection)>,
) {
    for &command in commands.read() {
        if let DisplayCommand::Show { game_id } = command
            && !games.iter().any(|(game, ..)| game.game_id == game_id)
        {
            warn!(game_id, "cannot show a game that is not connected");
            continue;
        }
        command.apply(games.iter_mut());
    }
}

/// Sets a game's visibility from the host side and tells the game.
fn command_visibility(link: &GameConnection, status: &mut DisplayStatus, visibility: Visibility) {
    let _ = link.0.outbox().send(HostMessage::SetVisibility(visibility));
    if status.visibility != visibility {
        *status = DisplayStatus {
            visibility,
            reason: DisplayReason::HostCommand,
            since_ns: monotonic_ns(),
        };
    }
}
