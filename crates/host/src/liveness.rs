//! Games that go quiet: a game the host has not heard from for a while is
//! pinged, and one that answers nothing for [`GameLiveness::silence_limit`]
//! is disconnected, so a hung or stopped process never keeps one of the
//! server's game slots (32) or its row on the dashboard.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use livestream_protocol::HostMessage;
use tracing::{info_span, warn};

use crate::games::{GameConnection, SubGame};

/// When the host pings a quiet game and when it gives up on it.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct GameLiveness {
    /// Silence after which a game is pinged (and pinged again as long as it lasts).
    pub ping_after: Duration,
    /// Silence after which the game is disconnected. A game answers pings
    /// from its loop, so this is long enough for a game stuck loading.
    pub silence_limit: Duration,
}

impl Default for GameLiveness {
    fn default() -> Self {
        Self {
            ping_after: Duration::from_secs(5),
            silence_limit: Duration::from_secs(60),
        }
    }
}

/// When a game was last heard from (any message), and last pinged.
#[derive(Component, Debug)]
pub struct LastHeard {
    at: Instant,
    pinged: Option<Instant>,
    nonce: u64,
}

impl LastHeard {
    /// Heard just now (the game has just connected).
    pub fn now() -> Self {
        Self {
            at: Instant::now(),
            pinged: None,
            nonce: 0,
        }
    }

    /// The game said something: it is alive.
    pub fn heard(&mut self) {
        self.at = Instant::now();
        self.pinged = None;
    }
}

/// Pings games that have been quiet for [`GameLiveness::ping_after`] and
/// disconnects those silent for [`GameLiveness::silence_limit`].
pub fn ping_quiet_games(
    mut commands: Commands,
    liveness: Res<GameLiveness>,
    mut games: Query<(Entity, &SubGame, &GameConnection, &mut LastHeard)>,
) {
    let now = Instant::now();
    for (entity, game, link, mut heard) in &mut games {
        let silent = now.saturating_duration_since(heard.at);
        if silent >= liveness.silence_limit {
            let span = info_span!("game", id = game.game_id, name = %game.name);
            let _entered = span.enter();
            warn!(
                silent_ms = silent.as_millis() as u64,
                "the game answered nothing: disconnecting it"
            );
            commands.entity(entity).despawn();
        } else if silent >= liveness.ping_after
            && heard
                .pinged
                .is_none_or(|at| now.saturating_duration_since(at) >= liveness.ping_after)
        {
            heard.nonce += 1;
            let nonce = heard.nonce;
            // A full outbox means the game is not reading: the silence limit decides.
            let _ = link.0.outbox().send(HostMessage::Ping { nonce });
            heard.pinged = Some(now);
        }
    }
}
