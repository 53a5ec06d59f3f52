//! The stream's life: going live and stopping, feeding it the shown game's
//! frames and audio, following the shown game, and telling every game the
//! stream state.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use livestream_control::{OutputHealth, OutputState};
use livestream_media::MediaEvent;
use livestream_protocol::{
    HostMessage, MediaRequest, MicChoice, OutputProblem, OutputStatus, StreamPhase, StreamState,
    StreamStats,
};
use tracing::{error, info};

use crate::finishing::Finishing;
use crate::games::{DisplayStatus, GameConnection, GameStats, SubGame};
use crate::media_backend::{Media, StreamCounters, StreamSink};
use crate::messages::{AudioArrived, FrameArrived, StreamCommand};
use crate::meter::RateMeter;
use crate::recording::{self, SessionNaming};
use crate::settings::HostSettings;
use crate::switching::{Candidate, Selection, compare, pick_shown};

/// Switch times kept for `ctl status`.
const SWITCH_HISTORY: usize = 16;

/// Span of the measured bitrate.
const BITRATE_WINDOW: Duration = Duration::from_secs(2);

/// The stream and the game that feeds it.
#[derive(Resource)]
pub struct Streaming {
    /// The running pipeline, when live.
    sink: Option<Box<dyn StreamSink>>,
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
    /// Whether an output or destination is configured (games ask the
    /// player for one otherwise).
    pub has_destination: bool,
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
    /// Outputs currently down, by redacted URL.
    outputs_down: BTreeMap<String, OutputDown>,
    /// Every file written since the host started, oldest first (each
    /// session has files of its own).
    pub recordings: Vec<PathBuf>,
    /// Why the microphone is not heard now (it failed and is being rebuilt).
    pub mic_trouble: Option<String>,
    /// Why the destination a player chose was not remembered, if it was not.
    pub config_trouble: Option<String>,
    /// The stream being finished off the loop, after a stop or a failure.
    finishing: Option<Finishing>,
    /// A go-live asked for while the last stream was being finished: it
    /// starts once that is done (the ingest may still hold the old session).
    go_live_after_finish: Option<MicChoice>,
}

/// Why an output of the running stream is down, and what happens next.
#[derive(Debug, Clone)]
struct OutputDown {
    /// The reconnection attempt under way, from 1; `None` when it failed
    /// for good (a file).
    attempt: Option<u32>,
    /// What went wrong, in words.
    problem: OutputProblem,
}

impl core::fmt::Debug for Streaming {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Streaming")
            .field("live", &self.is_live())
            .field("phase", &self.phase)
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Default for Streaming {
    fn default() -> Self {
        Self {
            sink: None,
            phase: StreamPhase::Idle,
            mic: MicChoice::Off,
            shown: None,
            shown_name: None,
            live_since: None,
            switches: 0,
            reconnects: 0,
            has_destination: false,
            bitrate: RateMeter::new(BITRATE_WINDOW),
            switch_pending: None,
            switch_times_ms: VecDeque::new(),
            last_fed: None,
            last_broadcast: None,
            dirty: false,
            media_live: false,
            outputs_down: BTreeMap::new(),
            recordings: Vec::new(),
            mic_trouble: None,
            config_trouble: None,
            finishing: None,
            go_live_after_finish: None,
        }
    }
}

impl Streaming {
    /// Whether a pipeline is running (live, or live and reconnecting an output).
    pub fn is_live(&self) -> bool {
        self.sink.is_some()
    }

    /// The game whose frames go to the stream now: the shown game, while live.
    pub fn on_air(&self) -> Option<u64> {
        self.shown.filter(|_| self.is_live())
    }

    /// The pipeline's counters (zero when idle).
    pub fn counters(&self) -> StreamCounters {
        self.sink
            .as_ref()
            .map(|sink| sink.counters())
            .unwrap_or_default()
    }

    /// Measured output bitrate.
    pub fn bitrate_kbps(&self) -> u32 {
        (self.bitrate.per_second() * 8.0 / 1000.0).round() as u32
    }

    /// Starts timing a switch to `game_id` (only while live: then the new
    /// game is asked for media and its first frame ends the switch).
    fn switch_started(&mut self, game_id: u64) {
        self.switch_pending = self.is_live().then(|| (game_id, Instant::now()));
    }

    /// A frame of `game_id` goes to the stream now; ends a switch to it.
    fn frame_streamed(&mut self, game_id: u64) {
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
        let bytes = self.sink.as_ref().map(|sink| sink.counters().bytes_encoded);
        match (bytes, self.live_since) {
            (Some(bytes), Some(since)) => self.bitrate.record(since.elapsed(), bytes),
            _ => self.bitrate = RateMeter::new(BITRATE_WINDOW),
        }
    }

    /// The stream state as games receive it.
    pub fn state_message(&self) -> StreamState {
        let counters = self.counters();
        let stats = StreamStats {
            uptime_ms: self
                .live_since
                .map_or(0, |t| t.elapsed().as_millis() as u64),
            shown_game: self.shown_name.clone(),
            frames_pushed: counters.frames_pushed,
            frames_repeated: counters.frames_repeated,
            frames_superseded: counters.frames_superseded,
            bitrate_kbps: self.bitrate_kbps(),
            outputs: self
                .outputs()
                .into_iter()
                .map(|output| OutputStatus {
                    connected: output.health == OutputHealth::Up,
                    url: output.url,
                    problem: output.problem,
                })
                .collect(),
        };
        StreamState {
            phase: self.phase.clone(),
            mic: self.mic,
            stats,
            has_destination: self.has_destination,
            mic_error: self.mic_trouble.clone(),
            config_error: self.config_trouble.clone(),
        }
    }

    /// Each output of the running stream (redacted URL) and how it is doing;
    /// empty when not live.
    pub fn outputs(&self) -> Vec<OutputState> {
        let Some(sink) = &self.sink else {
            return Vec::new();
        };
        sink.outputs()
            .into_iter()
            .map(|url| {
                let down = self.outputs_down.get(&url);
                let health = match down.map(|down| down.attempt) {
                    None => OutputHealth::Up,
                    Some(Some(attempt)) => OutputHealth::Reconnecting { attempt },
                    Some(None) => OutputHealth::Failed,
                };
                OutputState {
                    url,
                    health,
                    problem: down.map(|down| down.problem.clone()),
                }
            })
            .collect()
    }

    /// Has the state told to every game at the next broadcast.
    pub fn mark_changed(&mut self) {
        self.dirty = true;
    }

    fn set_phase(&mut self, phase: StreamPhase) {
        if self.phase != phase {
            self.phase = phase;
            self.dirty = true;
        }
    }

    /// Starts the pipeline with `backend` (no effect when already live;
    /// once the last stream is finished when it is being finished).
    fn go_live(&mut self, backend: &Media, settings: &HostSettings, mic: MicChoice) {
        if self.is_live() {
            return;
        }
        if self.finishing.is_some() {
            self.go_live_after_finish = Some(mic);
            return;
        }
        self.set_phase(StreamPhase::Starting);
        let naming = SessionNaming::now(self.shown_name.as_deref());
        let mut files = Vec::new();
        let started = settings
            .media_config(mic == MicChoice::On)
            .map_err(|err| err.to_string())
            .and_then(|mut config| {
                recording::name_session_files(&mut config.outputs, &naming);
                recording::prepare_directories(&config.outputs)?;
                files = recording::files_of(&config.outputs);
                backend.0.start(config).map_err(|err| err.to_string())
            });
        match started {
            Ok(sink) => {
                info!(mic = mic == MicChoice::On, "live");
                self.recordings.extend(files);
                self.sink = Some(sink);
                self.mic = mic;
                self.live_since = Some(Instant::now());
                self.set_phase(StreamPhase::Live);
            }
            Err(message) => {
                error!("cannot go live: {message}");
                self.set_phase(StreamPhase::Error { message });
            }
        }
    }

    /// Stops the stream: it is finished (end of stream through every
    /// output, files finalised) off the loop, in the `Stopping` phase.
    pub fn stop(&mut self) {
        self.go_live_after_finish = None;
        self.finish_running();
        self.set_phase(if self.finishing.is_some() {
            StreamPhase::Stopping
        } else {
            StreamPhase::Idle
        });
    }

    /// The stream failed: it is finished as far as it can be (files
    /// finalised when end of stream still flows), and the error shown.
    fn fail(&mut self, message: String) {
        error!("stream failed: {message}");
        self.finish_running();
        self.set_phase(StreamPhase::Error { message });
    }

    /// Hands the running stream, if any, to a [`Finishing`] and forgets
    /// what only a running stream has (uptime, outputs down, microphone trouble).
    fn finish_running(&mut self) {
        if let Some(sink) = self.sink.take() {
            info!("finishing the stream off the loop");
            self.finishing = Some(Finishing::start(sink));
        }
        self.live_since = None;
        self.outputs_down.clear();
        self.mic_trouble = None;
    }

    /// Takes the outcome of finishing, once done: `Stopping` becomes
    /// `Idle` (or the error), and a go-live asked for meanwhile starts.
    fn poll_finishing(&mut self, backend: &Media, settings: &HostSettings) {
        let Some(outcome) = self.finishing.as_mut().and_then(Finishing::poll) else {
            return;
        };
        self.finishing = None;
        match outcome {
            Ok(()) => info!("the stream is finished"),
            Err(message) if self.phase == StreamPhase::Stopping => {
                self.set_phase(StreamPhase::Error { message });
            }
            Err(message) => error!("{message}"),
        }
        if self.phase == StreamPhase::Stopping {
            self.set_phase(StreamPhase::Idle);
        }
        if let Some(mic) = self.go_live_after_finish.take() {
            self.go_live(backend, settings, mic);
        }
    }

    /// Stops the stream and waits until it is finished (the host is exiting).
    pub fn finish_before_exit(&mut self) {
        self.stop();
        if let Some(finishing) = self.finishing.take() {
            match finishing.wait() {
                Ok(()) => info!("the stream is finished"),
                Err(message) => error!("{message}"),
            }
        }
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
                let down = OutputDown {
                    attempt: None,
                    problem: err.problem(None),
                };
                self.outputs_down.insert(output, down);
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
                problem,
            } => {
                self.reconnects += 1;
                let down = OutputDown {
                    attempt: Some(attempt),
                    problem,
                };
                self.outputs_down.insert(output, down);
                self.set_phase(StreamPhase::Reconnecting {
                    attempt,
                    retry_in_ms: retry_in.as_millis() as u64,
                });
                None
            }
            MediaEvent::OutputUp { output } => {
                info!(%output, "output back up");
                self.outputs_down.remove(&output);
                if !self
                    .outputs_down
                    .values()
                    .any(|down| down.attempt.is_some())
                {
                    self.set_phase(StreamPhase::Live);
                }
                None
            }
            MediaEvent::MicDown {
                error,
                attempt,
                retry_in,
            } => {
                self.mic_trouble = Some(format!(
                    "microphone lost ({}); retrying in {:.1} s (attempt {attempt})",
                    error.message,
                    retry_in.as_secs_f64()
                ));
                None
            }
            MediaEvent::MicUp => {
                info!("microphone back");
                self.mic_trouble = None;
                None
            }
            MediaEvent::Eos => None,
        }
    }
}

/// Starts or stops the pipeline on request, and takes its events.
pub fn drive_stream(
    mut commands: MessageReader<StreamCommand>,
    mut streaming: ResMut<Streaming>,
    media: Res<Media>,
    settings: Res<HostSettings>,
) {
    streaming.poll_finishing(&media, &settings);
    for command in commands.read() {
        match *command {
            StreamCommand::GoLive { mic } => streaming.go_live(&media, &settings, mic),
            StreamCommand::Stop => streaming.stop(),
        }
    }
    let events = streaming
        .sink
        .as_ref()
        .map(|sink| sink.take_events())
        .unwrap_or_default();
    let failure = events
        .into_iter()
        .filter_map(|event| streaming.apply(event))
        .last();
    if let Some(message) = failure {
        streaming.fail(message);
    }
}

/// Hands the shown game's frames and audio to the stream while live, and
/// ends the timing of a switch at the new game's first frame.
pub fn feed_stream(
    mut frames: MessageReader<FrameArrived>,
    mut audio: MessageReader<AudioArrived>,
    mut streaming: ResMut<Streaming>,
    mut games: Query<&mut GameStats>,
) {
    let Some(on_air) = streaming.on_air() else {
        frames.clear();
        audio.clear();
        return;
    };
    for frame in frames.read().filter(|frame| frame.game_id == on_air) {
        if let Some(sink) = &streaming.sink {
            sink.submit_frame(frame.game_id, frame.header, frame.pixels.clone());
        }
        if let Ok(mut stats) = games.get_mut(frame.game) {
            stats.frames_streamed += 1;
        }
        streaming.frame_streamed(frame.game_id);
    }
    if let Some(sink) = &streaming.sink {
        for chunk in audio.read().filter(|chunk| chunk.game_id == on_air) {
            sink.submit_audio(chunk.game_id, &chunk.header, chunk.samples.as_ref());
        }
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
    let live = streaming.is_live();
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

/// Tells a newly connected game the stream state.
pub fn greet_new_games(
    games: Query<&GameConnection, Added<GameConnection>>,
    streaming: Res<Streaming>,
) {
    for link in &games {
        let _ = link
            .0
            .outbox()
            .send(HostMessage::StreamState(streaming.state_message()));
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
