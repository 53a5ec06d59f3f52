//! The status document: everything the host knows, as `ctl status` prints it.

use std::path::PathBuf;

use livestream_interaction::{DeliveryStats, HistoryStats, SourceStatus};
use livestream_protocol::{DisplayReason, OutputProblem, StreamPhase, Visibility};
use serde::{Deserialize, Serialize};

/// Everything the host reports about itself. Built by the host loop,
/// serialized for `ctl status`, read by the dashboard and the tests.
///
/// Frame counters, from the shown game to the outputs: each game's
/// [`GameStatus::frames`] arrive; the shown game's
/// [`GameStatus::frames_streamed`] go to the pipeline; of those,
/// [`frames_superseded`](Self::frames_superseded) never reach the encoder;
/// the encoder receives [`frames_pushed`](Self::frames_pushed), of which
/// [`frames_repeated`](Self::frames_repeated) repeat the previous picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostStatus {
    /// Phase of the stream.
    pub phase: StreamPhase,
    /// Whether the microphone is mixed in.
    pub mic: bool,
    /// Name of the game whose picture and sound are on the stream.
    pub shown: Option<String>,
    /// Times the stream's picture moved to another game since the host started.
    pub switches: u64,
    /// For each recent switch made while live (the last 16, oldest first):
    /// milliseconds from the switch to the new game's first frame handed to
    /// the stream.
    pub switch_to_picture_ms: Vec<u64>,
    /// Times an output lost its connection (each starts a reconnection).
    pub reconnects: u64,
    /// Milliseconds since the stream went live (0 when idle).
    pub uptime_ms: u64,
    /// Frames handed to the encoder, repeats included.
    pub frames_pushed: u64,
    /// Of [`frames_pushed`](Self::frames_pushed), repeats of the previous
    /// picture (nothing shown, or no new frame in time), and the black slate
    /// pushed from going live until the first game frame.
    pub frames_repeated: u64,
    /// Frames the shown game sent that never reached the encoder: a newer
    /// frame took their output slot, or they came before the pipeline ran.
    pub frames_superseded: u64,
    /// Encoded bitrate over the last two seconds.
    pub bitrate_kbps: u32,
    /// The delay between a frame's capture and its place on the output, when live.
    pub video_delay_ms: Option<f64>,
    /// The outputs of the running stream (keys redacted); empty when idle.
    pub outputs: Vec<OutputState>,
    /// Why the microphone is not heard while it should be (it failed and is
    /// being rebuilt; the stream goes on without it).
    pub mic_error: Option<String>,
    /// Every file recorded since the host started, oldest first: each
    /// session writes files of its own and never overwrites one.
    pub recordings: Vec<PathBuf>,
    /// Connected games, by connection id.
    pub games: Vec<GameStatus>,
    /// Audience sources and history.
    pub audience: AudienceStatus,
}

impl Default for HostStatus {
    fn default() -> Self {
        Self {
            phase: StreamPhase::Idle,
            mic: false,
            shown: None,
            switches: 0,
            switch_to_picture_ms: Vec::new(),
            reconnects: 0,
            uptime_ms: 0,
            frames_pushed: 0,
            frames_repeated: 0,
            frames_superseded: 0,
            bitrate_kbps: 0,
            video_delay_ms: None,
            outputs: Vec::new(),
            mic_error: None,
            recordings: Vec::new(),
            games: Vec::new(),
            audience: AudienceStatus::default(),
        }
    }
}

impl HostStatus {
    /// Whether frames are being pushed (live, or live and reconnecting an output).
    pub fn is_live(&self) -> bool {
        matches!(
            self.phase,
            StreamPhase::Live | StreamPhase::Reconnecting { .. }
        )
    }

    /// The connected game named `name`.
    pub fn game(&self, name: &str) -> Option<&GameStatus> {
        self.games.iter().find(|game| game.name == name)
    }

    /// Names of the connected games, by connection id.
    pub fn game_names(&self) -> Vec<String> {
        self.games.iter().map(|game| game.name.clone()).collect()
    }
}

/// One output of the running stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputState {
    /// Where it goes, with any stream key replaced by `***`.
    pub url: String,
    /// How it is doing.
    pub health: OutputHealth,
    /// Why it is not sending, when it is not.
    pub problem: Option<OutputProblem>,
}

/// How one output of a running stream is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputHealth {
    /// Sending.
    Up,
    /// Lost its connection; being rebuilt with back-off.
    Reconnecting {
        /// The reconnection attempt under way, from 1.
        attempt: u32,
    },
    /// A file output that failed: not retried, the others go on.
    Failed,
}

/// One connected game.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameStatus {
    /// Connection id given by the host.
    pub id: u64,
    /// The name the game announced.
    pub name: String,
    /// Its process id.
    pub pid: u32,
    /// Shown or hidden.
    pub visibility: Visibility,
    /// Why its visibility last changed.
    pub reason: DisplayReason,
    /// Video frames received.
    pub frames: u64,
    /// Of [`frames`](Self::frames), those handed to the stream (while shown and live).
    pub frames_streamed: u64,
    /// Frames the game's own queue dropped before sending (gaps in frame numbers).
    pub frames_lost: u64,
    /// Audio chunks received.
    pub audio_chunks: u64,
    /// Its audience delivery, once the backlog was sent.
    pub audience: Option<GameAudienceStatus>,
}

/// One game's audience delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameAudienceStatus {
    /// Events sent in the backlog when the game joined.
    pub backlog: u64,
    /// Live delivery since then.
    #[serde(flatten)]
    pub delivery: DeliveryStats,
}

/// The host's audience: its history and its sources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceStatus {
    /// Events stored for games that join later.
    pub history: u64,
    /// What the history accepted and refused.
    #[serde(flatten)]
    pub stats: HistoryStats,
    /// Each source (redacted) and how it is doing.
    pub sources: Vec<SourceStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_round_trips_and_names_phases_plainly() {
        let mut status = HostStatus {
            phase: StreamPhase::Live,
            shown: Some("snake".into()),
            ..HostStatus::default()
        };
        status.games.push(GameStatus {
            id: 1,
            name: "snake".into(),
            pid: 7,
            visibility: Visibility::Shown,
            reason: DisplayReason::HostCommand,
            frames: 3,
            frames_streamed: 2,
            frames_lost: 0,
            audio_chunks: 9,
            audience: Some(GameAudienceStatus {
                backlog: 4,
                delivery: DeliveryStats::default(),
            }),
        });
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["phase"], "live");
        assert_eq!(json["games"][0]["visibility"], "shown");
        assert_eq!(json["games"][0]["reason"], "host_command");
        assert_eq!(json["games"][0]["audience"]["backlog"], 4);
        assert_eq!(json["games"][0]["audience"]["delivered"], 0);
        let back: HostStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
        assert!(back.is_live());
        assert_eq!(back.game_names(), ["snake"]);
    }
}
