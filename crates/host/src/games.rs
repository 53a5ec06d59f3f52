//! Connected games as entities: admitted from the socket server, their
//! messages turned into host [messages](crate::messages), removed when they
//! leave or crash.

use std::sync::Arc;

use bevy::prelude::*;
use livestream_ipc::{LinkEvent, LinkToGame, Server, ServerEvent, monotonic_ns};
use livestream_protocol::{Capabilities, DisplayReason, GameMessage, MicChoice, Visibility};
use tracing::{info, info_span, warn};

use crate::liveness::LastHeard;
use crate::media_backend::SharedPayload;
use crate::messages::{
    AudioArrived, DisplayCommand, DisplayReported, FrameArrived, SettingsChosen, StreamCommand,
};

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

impl DisplayStatus {
    /// `visibility` for `reason`, learned now.
    pub fn now(visibility: Visibility, reason: DisplayReason) -> Self {
        Self {
            visibility,
            reason,
            since_ns: monotonic_ns(),
        }
    }
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

/// How many games ever connected (the host exits when the last one leaves).
#[derive(Resource, Debug, Default)]
pub struct GamesSeen(pub u64);

/// Admits new games: one entity each, hidden until they say otherwise.
pub fn accept_games(mut commands: Commands, server: Res<GameServer>, mut seen: ResMut<GamesSeen>) {
    while let Ok(event) = server.0.events().try_recv() {
        let ServerEvent::Connected(connected) = event else {
            continue; // refusals are logged by the server
        };
        let connected = *connected;
        seen.0 += 1;
        commands.spawn((
            SubGame {
                game_id: connected.game_id,
                name: connected.hello.game_name.clone(),
                pid: connected.hello.pid,
                capabilities: connected.hello.capabilities.clone(),
            },
            DisplayStatus::now(Visibility::Hidden, DisplayReason::Startup),
            GameStats::default(),
            GameConnection(connected.link),
            GameSlot(connected.slot),
            LastHeard::now(),
        ));
    }
}

/// Reads every game's messages and turns each into a host message: display
/// reports, frames, audio, and requests to go live or stop. A game whose
/// link closed is despawned. A game that asks to go live is the one the
/// player is looking at (they pressed its button), so it is shown too: the
/// stream starts with its picture even where no window manager reports
/// focus.
pub fn receive_from_games(
    mut commands: Commands,
    mut games: Query<(Entity, &SubGame, &GameConnection, &mut LastHeard)>,
    mut displays: MessageWriter<DisplayReported>,
    mut frames: MessageWriter<FrameArrived>,
    mut audio: MessageWriter<AudioArrived>,
    mut stream_commands: MessageWriter<StreamCommand>,
    mut display_commands: MessageWriter<DisplayCommand>,
    mut chosen_settings: MessageWriter<SettingsChosen>,
) {
    for (entity, game, link, mut heard) in &mut games {
        let span = info_span!("game", id = game.game_id, name = %game.name);
        let _entered = span.enter();
        for event in link.0.drain() {
            let envelope = match event {
                LinkEvent::Message(envelope) => {
                    heard.heard();
                    envelope
                }
                LinkEvent::Closed(reason) => {
                    info!("game left: {reason}");
                    commands.entity(entity).despawn();
                    break;
                }
            };
            let payload = || SharedPayload(Arc::new(envelope.payload));
            match envelope.message {
                GameMessage::Display(report) => {
                    info!(visibility = ?report.visibility, reason = ?report.reason, "display status");
                    displays.write(DisplayReported {
                        game: entity,
                        report,
                    });
                }
                GameMessage::VideoFrame(header) => {
                    frames.write(FrameArrived {
                        game: entity,
                        game_id: game.game_id,
                        header,
                        pixels: payload(),
                    });
                }
                GameMessage::AudioChunk(header) => {
                    audio.write(AudioArrived {
                        game: entity,
                        game_id: game.game_id,
                        header,
                        samples: payload(),
                    });
                }
                GameMessage::GoLive { mic } => {
                    info!(mic = matches!(mic, MicChoice::On), "game asks to go live");
                    display_commands.write(DisplayCommand::Show {
                        game_id: game.game_id,
                    });
                    stream_commands.write(StreamCommand::GoLive { mic });
                }
                GameMessage::ChooseDestination {
                    destination,
                    remember,
                } => {
                    chosen_settings.write(SettingsChosen {
                        destination: Some(destination),
                        quality: None,
                        remember,
                    });
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

/// Frames a game skipped between its frame numbers `last` and `next`: the
/// gap, whatever numbers a game sends (near `u64::MAX`, or going back).
fn frames_skipped(last: Option<u64>, next: u64) -> u64 {
    last.map_or(0, |last| next.saturating_sub(last.saturating_add(1)))
}

/// Counts each game's frames, lost frames (gaps in frame numbers) and audio chunks.
pub fn count_received(
    mut frames: MessageReader<FrameArrived>,
    mut audio: MessageReader<AudioArrived>,
    mut games: Query<&mut GameStats>,
) {
    for frame in frames.read() {
        if let Ok(mut stats) = games.get_mut(frame.game) {
            stats.frames += 1;
            stats.frames_lost = stats.frames_lost.saturating_add(frames_skipped(
                stats.last_frame_number,
                frame.header.frame_number,
            ));
            stats.last_frame_number = Some(frame.header.frame_number);
        }
    }
    for chunk in audio.read() {
        if let Ok(mut stats) = games.get_mut(chunk.game) {
            stats.audio_chunks += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_number_gaps_count_and_any_number_is_safe() {
        assert_eq!(frames_skipped(None, 7), 0);
        assert_eq!(frames_skipped(Some(7), 8), 0);
        assert_eq!(frames_skipped(Some(7), 10), 2);
        assert_eq!(frames_skipped(Some(10), 3), 0, "going back is no loss");
        assert_eq!(frames_skipped(Some(u64::MAX), u64::MAX), 0);
        assert_eq!(frames_skipped(Some(0), u64::MAX), u64::MAX - 1);
    }
}
