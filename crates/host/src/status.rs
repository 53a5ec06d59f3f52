//! The host's [`HostStatus`], built from what the host keeps: the one
//! document `ctl status` prints and the dashboard shows.

use bevy::prelude::Query;
use livestream_control::{GameAudienceStatus, GameStatus, HostStatus};
use livestream_protocol::MicChoice;

use crate::audience::{Audience, AudienceDelivery};
use crate::games::{DisplayStatus, GameStats, SubGame};
use crate::stream::Streaming;

/// The games, as a system that builds the status queries them.
pub type StatusGames<'w, 's> = Query<
    'w,
    's,
    (
        &'static SubGame,
        &'static DisplayStatus,
        &'static GameStats,
        Option<&'static AudienceDelivery>,
    ),
>;

/// One connected game, as the status reads it.
pub type GameView<'a> = (
    &'a SubGame,
    &'a DisplayStatus,
    &'a GameStats,
    Option<&'a AudienceDelivery>,
);

/// Everything the host knows now.
pub fn host_status<'a>(
    games: impl Iterator<Item = GameView<'a>>,
    streaming: &Streaming,
    audience: &Audience,
) -> HostStatus {
    let counters = streaming.counters();
    let mut games: Vec<GameStatus> = games.map(game_status).collect();
    games.sort_by_key(|game| game.id);
    HostStatus {
        phase: streaming.phase.clone(),
        mic: streaming.mic == MicChoice::On && streaming.is_live(),
        shown: streaming.shown_name.clone(),
        switches: streaming.switches,
        switch_to_picture_ms: streaming.switch_times_ms.iter().copied().collect(),
        reconnects: streaming.reconnects,
        uptime_ms: streaming
            .live_since
            .map_or(0, |since| since.elapsed().as_millis() as u64),
        frames_pushed: counters.frames_pushed,
        frames_repeated: counters.frames_repeated,
        frames_superseded: counters.frames_superseded,
        bitrate_kbps: streaming.bitrate_kbps(),
        video_delay_ms: streaming
            .is_live()
            .then(|| counters.playout_delay_ns as f64 / 1e6),
        outputs: streaming.outputs(),
        mic_error: streaming.mic_trouble.clone(),
        recordings: streaming.recordings.clone(),
        games,
        audience: audience.status(),
    }
}

fn game_status((game, status, stats, delivery): GameView<'_>) -> GameStatus {
    GameStatus {
        id: game.game_id,
        name: game.name.clone(),
        pid: game.pid,
        visibility: status.visibility,
        reason: status.reason,
        frames: stats.frames,
        frames_streamed: stats.frames_streamed,
        frames_lost: stats.frames_lost,
        audio_chunks: stats.audio_chunks,
        audience: delivery.map(|delivery| GameAudienceStatus {
            backlog: delivery.backlog,
            delivery: delivery.stats(),
        }),
    }
}
