//! The stream's life: going live and stopping, following the shown game,
//! telling every game the stream state, and ending cleanly.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use livestream_media::{MediaEvent, Streamer};
use livestream_protocol::{
    HostMessage, MediaRequest, MicChoice, OutputStatus, StreamPhase, StreamState, StreamStats,
};
use tracing::{error, info};

use crate::games::{DisplayStatus, GameConnection, GameStats, GamesSeen, SubGame};
use crate::meter::RateMeter;
use crate::settings::HostSettings;
use crate::switching::{Candidate, Selection, compare, pick_shown};

/// How long the pipeline gets to finalise files and close sessions on stop.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A request to change the stream (from a game, `ctl`, or start-up).
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCommand {
    /// Go live (no effect when already live).
    GoLive {
        /// Mix the configured microphone in.
        mic: MicChoice,
    },
    /// Stop streaming.
    Stop,
}

/// Switch times kept for `ctl status`.
const SWITCH_HISTORY: usize = 16;

/// Span of the measured bitrate.
const BITRATE_WINDOW: Duration = Duration::from_secs(2);

/// The stream and the game that feeds it.
#[derive(Resource, Debug)]
pub struct Streaming {
    /// The running pipeline, when live.
    pub streamer: Option<Streamer>,
    /// The phase reported to games and `ctl status`.
    pub phase: StreamPhase,
    /// Whether the microphone is mixed in.
    pub mic: MicChoice,
    /// The game whose frames and audio feed the stream.
    pub shown: Option<u64>,
    /// Name of that game.
    pub shown_name: Option<String>,
    /// When the stream went live.
    pub live_since: Option<Instant>,
    /// Switches since start: the stream's picture moved to another game.
    pub switches: u64,
    /// Times an output lost its connection since start (each starts a reconnection).
    pub reconnects: u64,
    /// Encoded bytes per second over the last seconds, from the pipeline's counter.
    bitrate: RateMeter,
    /// A switch waiting for the new game's first frame on the stream: (game, since).
    switch_pending: Option<(u64, Instant)>,
    /// Milliseconds from each recent switch (live) to the new game's first
    /// frame handed to the stream, oldest first (the last 16).
    pub switch_times_ms: VecDeque<u64>,
    /// The game whose frames fed the stream last (kept while nothing is shown).
    last_fed: Option<u64>,
    /// When the state was last broadcast.
    last_broadcast: Option<Instant>,
    /// Whether the phase changed since the last broadcast.
    dirty: bool,
    /// Whether games were last asked for media as live (to re-ask on a change).
    media_live: bool,
    /// Outputs currently down (redacted URL → reconnection attempt), or failed for good (`None`).
    outputs_down: std::collections::BTreeMap<String, Option<u32>>,
}

impl Default for Streaming {
    fn default() -> Self {
        Self {
            streamer: None,
            phase: StreamPhase::Idle,
            mic: MicChoice::Off,
            shown: None,
            shown_name: None,
            live_since: None,
            switches: 0,
            reconnects: 0,
            bitrate: RateMeter::new(BITRATE_WINDOW),
            switch_pending: None,
            switch_times_ms: VecDeque::new(),
            last_fed: None,
            last_broadcast: None,
            dirty: false,
            media_live: false,
            outputs_down: Default::default(),
        }
    }
}

impl Streaming {
    /// Starts timing a switch to `game_id` (only while live: then the new
    /// game is asked for media and its first frame ends the switch).
    fn switch_started(&mut self, game_id: u64) {
        self.switch_pending = self.streamer.is_some().then(|| (game_id, Instant::now()));
    }

    /// A frame of `game_id` goes to the stream now; ends a switch to it.
    pub fn frame_streamed(&mut self, game_id: u64) {
        if let Some((to, since)) = self.switch_pending
            && to == game_id
        {
            self.switch_pending = None;
            if self.switch_times_ms.len() == SWITCH_HISTORY {
                self.switch_times_ms.pop_front();
            }
            self.switch_times_ms
                .push_back(since.elapsed().as_millis() as u64);
        }
    }

    /// Samples the pipeline's encoded-bytes counter (restarts with each stream).
    fn measure_bitrate(&mut self) {
        let bytes = self.streamer.as_ref().map(|s| {
            s.stats()
                .bytes_encoded
                .load(std::sync::atomic::Ordering::Relaxed)
        });
        match (bytes, self.live_since) {
            (Some(bytes), Some(since)) => self.bitrate.record(since.elapsed(), bytes),
            _ => self.bitrate = RateMeter::new(BITRATE_WINDOW),
        }
    }

    /// The stream state as games receive it.
    pub fn state_message(&self) -> StreamState {
        let mut stats = StreamStats {
            uptime_ms: self
                .live_since
                .map_or(0, |t| t.elapsed().as_millis() as u64),
            shown_game: self.shown_name.clone(),
            ..StreamStats::default()
        };
        if let Some(streamer) = &self.streamer {
            let s = streamer.stats();
            let load =
                |v: &std::sync::atomic::AtomicU64| v.load(std::sync::atomic::Ordering::Relaxed);
            stats.frames_pushed = load(&s.frames_pushed);
            stats.frames_repeated = load(&s.frames_repeated);
            stats.frames_dropped = load(&s.frames_superseded);
            stats.bitrate_kbps = (self.bitrate.per_second() * 8.0 / 1000.0).round() as u32;
            stats.outputs = self
                .outputs()
                .into_iter()
                .map(|(url, health)| OutputStatus {
                    connected: health == OutputHealth::Up,
                    url,
                })
                .collect();
        }
        StreamState {
            phase: self.phase.clone(),
            mic: self.mic,
            stats,
        }
    }

    /// Each output of the running stream (redacted URL) and how it is doing;
    /// empty when not live.
    pub fn outputs(&self) -> Vec<(String, OutputHealth)> {
        let Some(streamer) = &self.streamer else {
            return Vec::new();
        };
        streamer
            .outputs()
            .iter()
            .map(|output| {
                let url = output.to_string();
                let health = match self.outputs_down.get(&url) {
                    None => OutputHealth::Up,
                    Some(Some(attempt)) => OutputHealth::Reconnecting { attempt: *attempt },
                    Some(None) => OutputHealth::Failed,
                };
                (url, health)
            })
            .collect()
    }

    fn set_phase(&mut self, phase: StreamPhase) {
        if self.phase != phase {
            self.phase = phase;
            self.dirty = true;
        }
    }

    /// Stops the pipeline cleanly (end of stream through every output).
    pub fn stop(&mut self) {
        if let Some(streamer) = self.streamer.take() {
            info!("stopping the stream");
            if let Err(err) = streamer.stop(STOP_TIMEOUT) {
                error!("stream did not finish cleanly: {err}");
            }
        }
        self.live_since = None;
        self.outputs_down.clear();
        self.set_phase(StreamPhase::Idle);
    }

    /// Applies one pipeline event; returns a fatal error message, if any.
    fn apply(&mut self, event: MediaEvent) -> Option<String> {
        match event {
            MediaEvent::Error {
                output: Some(output),
                error: err,
            } => {
                error!(%output, "output failed for good: {err}; the other outputs go on");
                self.outputs_down.insert(output, None);
                self.dirty = true;
                None
            }
            MediaEvent::Error {
                output: None,
                error: err,
            } => Some(err.to_string()),
            MediaEvent::OutputDown {
                output,
                attempt,
                retry_in,
            } => {
                self.reconnects += 1;
                self.outputs_down.insert(output, Some(attempt));
                self.set_phase(StreamPhase::Reconnecting {
                    attempt,
                    retry_in_ms: retry_in.as_millis() as u64,
                });
                None
            }
            MediaEvent::OutputUp { output } => {
                info!(%output, "output back up");
                self.outputs_down.remove(&output);
                if !self.outputs_down.values().any(Option::is_some) {
                    self.set_phase(StreamPhase::Live);
                }
                None
            }
            MediaEvent::Eos => None,
        }
    }
}

/// How one output of a running stream is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Starts or stops the pipeline on request.
pub fn drive_stream(
    mut commands: MessageReader<StreamCommand>,
    mut streaming: ResMut<Streaming>,
    settings: Res<HostSettings>,
) {
    for command in commands.read() {
        match *command {
            StreamCommand::GoLive { mic } => {
                if streaming.streamer.is_some() {
                    continue;
                }
                streaming.set_phase(StreamPhase::Starting);
                let config = match settings.media_config(mic == MicChoice::On) {
                    Ok(config) => config,
                    Err(err) => {
                        error!("cannot go live: {err}");
                        streaming.set_phase(StreamPhase::Error {
                            message: err.to_string(),
                        });
                        continue;
                    }
                };
                match Streamer::start(config) {
                    Ok(streamer) => {
                        info!(mic = mic == MicChoice::On, "live");
                        streaming.streamer = Some(streamer);
                        streaming.mic = mic;
                        streaming.live_since = Some(Instant::now());
                        streaming.set_phase(StreamPhase::Live);
                    }
                    Err(err) => {
                        error!("cannot go live: {err}");
                        streaming.set_phase(StreamPhase::Error {
                            message: err.to_string(),
                        });
                    }
                }
            }
            StreamCommand::Stop => streaming.stop(),
        }
    }
    let events: Vec<MediaEvent> = streaming
        .streamer
        .as_ref()
        .map(|streamer| streamer.events().try_iter().collect())
        .unwrap_or_default();
    let failure = events
        .into_iter()
        .filter_map(|event| streaming.apply(event))
        .last();
    if let Some(message) = failure {
        error!("stream failed: {message}");
        streaming.streamer = None; // torn down without finalising: the encoder itself failed
        streaming.live_since = None;
        streaming.set_phase(StreamPhase::Error { message });
    }
}

/// Follows display statuses: picks the shown game, detects switches, and asks
/// only that game for media while live (hidden games capture nothing).
pub fn follow_shown_game(
    games: Query<(&SubGame, &DisplayStatus, &GameConnection)>,
    mut streaming: ResMut<Streaming>,
    settings: Res<HostSettings>,
) {
    let candidates: Vec<Candidate> = games
        .iter()
        .map(|(game, status, _)| Candidate {
            game_id: game.game_id,
            visibility: status.visibility,
            since_ns: status.since_ns,
        })
        .collect();
    let now = pick_shown(&candidates);
    let live = streaming.streamer.is_some();
    let selection = compare(streaming.shown, now);
    let media_changed = streaming.media_live != live;
    match selection {
        Selection::Unchanged if !media_changed => return,
        Selection::Switched { from, to } => {
            if streaming.last_fed.is_some_and(|last| last != to) {
                streaming.switches += 1;
            }
            streaming.last_fed = Some(to);
            streaming.switch_started(to);
            info!(from = ?from, to, "switch: stream follows game {to}");
        }
        Selection::NothingShown { from } => {
            info!(from, "nothing shown: the stream keeps the last frame");
        }
        Selection::Unchanged => {}
    }
    streaming.shown = now;
    streaming.media_live = live;
    streaming.shown_name = games
        .iter()
        .find(|(game, _, _)| Some(game.game_id) == now)
        .map(|(game, _, _)| game.name.clone());
    for (game, _, link) in &games {
        let wanted = live && Some(game.game_id) == now;
        let _ = link.0.outbox().send(HostMessage::Media(MediaRequest {
            video: wanted,
            audio: wanted,
            fps: settings.fps,
        }));
    }
}

/// Tells every game (hidden ones too) the stream state: on change, and once a second.
pub fn broadcast_state(games: Query<&GameConnection>, mut streaming: ResMut<Streaming>) {
    streaming.measure_bitrate();
    let due = streaming
        .last_broadcast
        .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
    if !streaming.dirty && !due {
        return;
    }
    let state = streaming.state_message();
    for link in &games {
        let _ = link
            .0
            .outbox()
            .send(HostMessage::StreamState(state.clone()));
    }
    streaming.dirty = false;
    streaming.last_broadcast = Some(Instant::now());
}

/// Exits once every game that connected has gone (closed or crashed).
pub fn exit_when_empty(
    games: Query<(), With<SubGame>>,
    seen: Res<GamesSeen>,
    settings: Res<HostSettings>,
    mut exit: MessageWriter<AppExit>,
) {
    if settings.exit_when_empty && seen.0 > 0 && games.is_empty() {
        info!("every game has gone: stopping");
        exit.write(AppExit::Success);
    }
}

/// Set by SIGTERM (service managers, `kill`, test harnesses) or by closing
/// the dashboard window; Ctrl-C is Bevy's.
#[derive(Resource, Debug, Default, Clone)]
pub struct TerminationRequested(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl TerminationRequested {
    /// A flag raised by SIGTERM from now on.
    pub fn on_sigterm() -> std::io::Result<Self> {
        let flag = Self::default();
        #[cfg(unix)]
        signal_hook::flag::register(signal_hook::consts::SIGTERM, flag.0.clone())?;
        Ok(flag)
    }

    /// Raises the flag: the host stops as on SIGTERM.
    pub fn request(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Exits the app (and so stops the stream cleanly) once termination was requested.
pub fn exit_on_sigterm(flag: Res<TerminationRequested>, mut exit: MessageWriter<AppExit>) {
    if flag.0.load(std::sync::atomic::Ordering::Acquire) {
        info!("SIGTERM or dashboard closed: stopping");
        exit.write(AppExit::Success);
    }
}

/// Finishes the stream cleanly when the app exits (last game gone, Ctrl-C, SIGTERM).
pub fn stop_on_exit(mut exits: MessageReader<AppExit>, mut streaming: ResMut<Streaming>) {
    if exits.read().next().is_some() {
        streaming.stop();
    }
}

/// Per-game counters for `ctl status`.
pub fn game_status(game: &SubGame, status: &DisplayStatus, stats: &GameStats) -> serde_json::Value {
    serde_json::json!({
        "id": game.game_id,
        "name": game.name,
        "pid": game.pid,
        "visibility": format!("{:?}", status.visibility).to_lowercase(),
        "reason": format!("{:?}", status.reason),
        "frames": stats.frames,
        "frames_streamed": stats.frames_streamed,
        "frames_lost": stats.frames_lost,
        "audio_chunks": stats.audio_chunks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_ends_with_the_new_games_first_frame_and_history_is_bounded() {
        let mut streaming = Streaming::default();
        streaming.switch_started(2);
        assert_eq!(streaming.switch_pending, None, "not live: nothing to time");
        for _ in 0..SWITCH_HISTORY + 3 {
            streaming.switch_pending = Some((2, Instant::now()));
            streaming.frame_streamed(1); // the old game's frame: still switching
            assert!(streaming.switch_pending.is_some());
            streaming.frame_streamed(2);
            assert_eq!(streaming.switch_pending, None);
        }
        assert_eq!(streaming.switch_times_ms.len(), SWITCH_HISTORY);
    }
}
