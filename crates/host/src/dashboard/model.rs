//! What the dashboard shows, as plain data: updated every host loop by
//! [`update_model`] from the host's [`HostStatus`] (the document `ctl status`
//! prints), the thumbnails, the audience [`History`] and the configured
//! games, and only read by the drawing. No egui here, so it is tested
//! without a renderer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use livestream_control::{GameStatus, HostStatus, OutputState};
use livestream_forms::Quality;
use livestream_interaction::{History, HistoryStats, SourceStatus};
use livestream_protocol::{DisplayReason, StreamPhase, Visibility};

use super::DashboardLink;
use super::feed::{FeedLine, feed_lines};
use super::thumbnail::{FrameTap, Thumbnail};
use crate::audience::Audience;
use crate::children::Children;
use crate::meter::{RateMeter, SampleRing};
use crate::settings::HostSettings;
use crate::status::{StatusGames, host_status};
use crate::stream::Streaming;

/// Span of the frames/s and bitrate measurements.
pub const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Bitrate samples kept for the plot: one a second, the last minute.
pub const BITRATE_SAMPLES: usize = 60;

/// Everything the dashboard draws.
#[derive(Debug, Clone, Default)]
pub struct DashboardModel {
    /// Connected games, by connection id.
    pub games: Vec<GameRow>,
    /// The stream.
    pub stream: StreamView,
    /// The picture the stream carried last, small.
    pub preview: Option<Arc<Thumbnail>>,
    /// Games listed in `host.ron`, in its order.
    pub configured: Vec<ConfiguredRow>,
    /// Where the next stream goes (stream keys redacted), and its quality.
    pub settings: SettingsView,
    /// The newest audience events, oldest first.
    pub feed: Vec<FeedLine>,
    /// Where audience events come from, each with its state and any warning
    /// (a plain-text source to another machine).
    pub sources: Vec<SourceStatus>,
    /// How often the host loop ran over the last second.
    pub loop_fps: f64,
    loop_meter: Option<RateMeter>,
    fps_meters: HashMap<u64, RateMeter>,
    /// The history's counters when the feed was last rebuilt.
    feed_version: Option<(HistoryStats, usize)>,
}

/// The host's settings as the dashboard's settings panel shows them.
#[derive(Debug, Clone, Default)]
pub struct SettingsView {
    /// Where the next stream goes, redacted: never a stream key.
    pub destinations: Vec<String>,
    /// The picture's quality.
    pub quality: Option<Quality>,
}

impl SettingsView {
    /// Reads what the panel shows from the running host's settings.
    fn of(settings: &HostSettings) -> Self {
        let destinations = match settings.session_outputs() {
            Ok(outputs) => outputs.iter().map(ToString::to_string).collect(),
            Err(err) => vec![err.to_string()],
        };
        Self {
            destinations,
            quality: Some(Quality {
                width: settings.width,
                height: settings.height,
                fps: settings.fps,
                bitrate_kbps: settings.bitrate_kbps,
            }),
        }
    }
}

/// One connected game.
#[derive(Debug, Clone)]
pub struct GameRow {
    /// Connection id.
    pub game_id: u64,
    /// The name it announced.
    pub name: String,
    /// Shown or hidden.
    pub visibility: Visibility,
    /// Why it last changed.
    pub reason: DisplayReason,
    /// Whether its frames feed the stream now.
    pub on_air: bool,
    /// Frames received per second, over the last second.
    pub fps_in: f64,
    /// Frames received in all.
    pub frames: u64,
    /// Frames the game's queue dropped.
    pub frames_lost: u64,
    /// Its latest frame, small (none until it sent one).
    pub thumbnail: Option<Arc<Thumbnail>>,
}

/// The stream's state and counters.
#[derive(Debug, Clone)]
pub struct StreamView {
    /// Idle, starting, live, reconnecting or failed.
    pub phase: StreamPhase,
    /// Whether the microphone is mixed in.
    pub mic: bool,
    /// Time since going live.
    pub uptime: Duration,
    /// The game whose picture the stream carries.
    pub shown_game: Option<String>,
    /// Each output (URL redacted: never the stream key) and how it is doing.
    pub outputs: Vec<OutputState>,
    /// Why the microphone is not heard, while it is being rebuilt.
    pub mic_error: Option<String>,
    /// Every file recorded since the host started, oldest first.
    pub recordings: Vec<std::path::PathBuf>,
    /// Frames pushed to the encoder.
    pub frames_pushed: u64,
    /// Of those, repeats of the previous frame.
    pub frames_repeated: u64,
    /// Frames the shown game sent that never reached the encoder.
    pub frames_superseded: u64,
    /// Times an output lost its connection.
    pub reconnects: u64,
    /// Switches between games.
    pub switches: u64,
    /// Encoded bits per second, one sample a second, oldest first.
    pub bitrate: SampleRing,
    next_sample: Duration,
}

impl Default for StreamView {
    fn default() -> Self {
        Self {
            phase: StreamPhase::Idle,
            mic: false,
            uptime: Duration::ZERO,
            shown_game: None,
            outputs: Vec::new(),
            mic_error: None,
            recordings: Vec::new(),
            frames_pushed: 0,
            frames_repeated: 0,
            frames_superseded: 0,
            reconnects: 0,
            switches: 0,
            bitrate: SampleRing::new(BITRATE_SAMPLES),
            next_sample: Duration::ZERO,
        }
    }
}

impl StreamView {
    /// Whether "Go live" makes sense now.
    pub fn can_go_live(&self) -> bool {
        matches!(self.phase, StreamPhase::Idle | StreamPhase::Error { .. })
    }

    /// Takes the stream's state and counters at time `now`; adds a bitrate
    /// sample once a second (0 while not live).
    pub fn update(&mut self, now: Duration, status: &HostStatus) {
        self.phase = status.phase.clone();
        self.mic = status.mic;
        self.uptime = Duration::from_millis(status.uptime_ms);
        self.shown_game = status.shown.clone();
        self.frames_pushed = status.frames_pushed;
        self.frames_repeated = status.frames_repeated;
        self.frames_superseded = status.frames_superseded;
        self.outputs = status.outputs.clone();
        self.recordings.clone_from(&status.recordings);
        self.mic_error.clone_from(&status.mic_error);
        self.reconnects = status.reconnects;
        self.switches = status.switches;
        self.sample_bitrate(now, status.bitrate_kbps);
    }

    /// Adds the stream's measured bitrate to the plot once a second.
    fn sample_bitrate(&mut self, now: Duration, kbps: u32) {
        if now >= self.next_sample {
            self.bitrate.push(f64::from(kbps) * 1000.0);
            self.next_sample = now + Duration::from_secs(1);
        }
    }
}

/// One game configured in `host.ron`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredRow {
    /// Its name (the name it announces when connected).
    pub name: String,
    /// The program, for the tooltip.
    pub program: String,
    /// The connected game of that name, if any.
    pub connected: Option<u64>,
    /// Started by the host and not connected yet.
    pub starting: bool,
    /// Why the last start failed.
    pub failure: Option<String>,
}

impl ConfiguredRow {
    /// Whether "Start" makes sense: not connected and not already starting.
    pub fn can_start(&self) -> bool {
        self.connected.is_none() && !self.starting
    }
}

impl DashboardModel {
    /// Takes the connected games at time `now`: their status, frames/s in
    /// (from their frame counters) and latest thumbnails.
    pub fn update_games(
        &mut self,
        now: Duration,
        games: &[GameStatus],
        on_air: Option<u64>,
        tap: &FrameTap,
    ) {
        self.games.clear();
        for game in games {
            let meter = self
                .fps_meters
                .entry(game.id)
                .or_insert_with(|| RateMeter::new(RATE_WINDOW));
            meter.record(now, game.frames);
            self.games.push(GameRow {
                game_id: game.id,
                name: game.name.clone(),
                visibility: game.visibility,
                reason: game.reason,
                on_air: on_air == Some(game.id),
                fps_in: meter.per_second(),
                frames: game.frames,
                frames_lost: game.frames_lost,
                thumbnail: tap.game(game.id).cloned(),
            });
        }
        self.games.sort_by_key(|row| row.game_id);
        let games = &self.games;
        self.fps_meters
            .retain(|id, _| games.iter().any(|row| row.game_id == *id));
        self.preview = tap.preview().cloned();
    }

    /// Takes the configured games; call after [`Self::update_games`] (a row
    /// follows the connected game of its name).
    pub fn update_configured(&mut self, settings: &HostSettings, children: &mut Children) {
        self.configured = settings
            .games
            .iter()
            .map(|game| {
                let connected = self
                    .games
                    .iter()
                    .find(|row| row.name == game.name)
                    .map(|row| row.game_id);
                ConfiguredRow {
                    name: game.name.clone(),
                    program: game.program.display().to_string(),
                    connected,
                    starting: connected.is_none() && children.is_running(&game.name),
                    failure: children.failure(&game.name).map(str::to_owned),
                }
            })
            .collect();
    }

    /// Rebuilds the audience feed when the history changed.
    pub fn update_feed(&mut self, history: &History) {
        let version = (history.stats(), history.len());
        if self.feed_version != Some(version) {
            self.feed = feed_lines(history.events());
            self.feed_version = Some(version);
        }
    }
}

/// Brings the shared model up to date with the host (every loop, after the host's own work).
pub fn update_model(
    time: Res<Time<Real>>,
    frames: Res<FrameCount>,
    link: Res<DashboardLink>,
    games: StatusGames,
    streaming: Res<Streaming>,
    audience: Res<Audience>,
    settings: Res<HostSettings>,
    mut children: ResMut<Children>,
    mut tap: ResMut<FrameTap>,
) {
    let status = host_status(games.iter(), &streaming, &audience);
    let now = time.elapsed();
    let mut model = link.model();
    let loop_meter = model
        .loop_meter
        .get_or_insert_with(|| RateMeter::new(RATE_WINDOW));
    loop_meter.record(now, u64::from(frames.0));
    model.loop_fps = loop_meter.per_second();
    tap.retain_games(|id| status.games.iter().any(|game| game.id == id));
    model.update_games(now, &status.games, streaming.on_air(), &tap);
    model.stream.update(now, &status);
    model.update_configured(&settings, &mut children);
    if settings.is_changed() || model.settings.quality.is_none() {
        model.settings = SettingsView::of(&settings);
    }
    model.update_feed(audience.history());
    model.sources = status.audience.sources;
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use livestream_interaction::AudienceEventKind;
    use livestream_protocol::{PixelFormat, VideoFrameHeader};

    use super::*;
    use crate::settings::ConfiguredGame;

    /// A connected, hidden game.
    fn game(game_id: u64, name: &str) -> GameStatus {
        GameStatus {
            id: game_id,
            name: name.into(),
            pid: 1,
            visibility: Visibility::Hidden,
            reason: DisplayReason::Startup,
            frames: 0,
            frames_streamed: 0,
            frames_lost: 0,
            audio_chunks: 0,
            audience: None,
        }
    }

    #[test]
    fn games_get_frames_per_second_from_their_counters_and_thumbnails() {
        let mut model = DashboardModel::default();
        let mut tap = FrameTap::default();
        let header = VideoFrameHeader::packed(PixelFormat::I420, 32, 18);
        tap.offer(2, &header, &vec![128; header.payload_len().unwrap()], true);
        let mut games = vec![game(2, "beta"), game(1, "alpha")];
        for step in 0..=200u64 {
            let now = Duration::from_millis(step * 10);
            games[0].frames = step * 10 * 25 / 1000; // 25 fps
            model.update_games(now, &games, Some(2), &tap);
        }
        assert_eq!(model.games[0].name, "alpha", "sorted by id");
        assert!(model.games[0].fps_in.abs() < f64::EPSILON);
        let beta = &model.games[1];
        assert!((beta.fps_in - 25.0).abs() < 1.5, "{}", beta.fps_in);
        assert!(beta.on_air && !model.games[0].on_air);
        assert_eq!(beta.thumbnail.as_ref().unwrap().width, 32);
        assert!(model.preview.is_some());
        games.remove(0);
        model.update_games(Duration::from_secs(3), &games, None, &tap);
        assert_eq!(
            model.fps_meters.len(),
            1,
            "meters of games that left are dropped"
        );
    }

    #[test]
    fn configured_games_follow_connected_games_of_their_name() {
        let settings = HostSettings {
            games: vec![
                ConfiguredGame {
                    name: "alpha".into(),
                    program: "demo-alpha".into(),
                    args: Vec::new(),
                },
                ConfiguredGame {
                    name: "beta".into(),
                    program: "demo-beta".into(),
                    args: Vec::new(),
                },
            ],
            ..HostSettings::default()
        };
        let mut children = Children::new(PathBuf::from("/nonexistent.sock"));
        let mut model = DashboardModel::default();
        let games = vec![game(7, "alpha")];
        model.update_games(Duration::ZERO, &games, None, &FrameTap::default());
        model.update_configured(&settings, &mut children);
        assert_eq!(model.configured[0].connected, Some(7));
        assert!(!model.configured[0].can_start());
        assert_eq!(model.configured[1].connected, None);
        assert!(model.configured[1].can_start());
        assert_eq!(model.configured[1].program, "demo-beta");
    }

    #[test]
    fn bitrate_history_is_one_sample_a_second_and_bounded() {
        let mut view = StreamView::default();
        // 2000 kbit/s for 100 s, looked at every 50 ms.
        for step in 0..=2000u64 {
            view.sample_bitrate(Duration::from_millis(step * 50), 2000);
        }
        assert_eq!(view.bitrate.values().len(), BITRATE_SAMPLES);
        assert_eq!(view.bitrate.latest(), Some(2_000_000.0));
        view.sample_bitrate(Duration::from_secs(101), 0);
        assert_eq!(view.bitrate.latest(), Some(0.0), "not live: zero");
        assert_eq!(view.bitrate.values().len(), BITRATE_SAMPLES);
    }

    #[test]
    fn feed_is_rebuilt_when_the_history_changes() {
        let mut audience = Audience::start(
            &[],
            &livestream_interaction::SourceTls::new(None).unwrap(),
            500,
            16,
        );
        let mut model = DashboardModel::default();
        model.update_feed(audience.history());
        assert!(model.feed.is_empty());
        audience
            .post_local(
                "ann",
                AudienceEventKind::Chat {
                    text: "hello".into(),
                },
            )
            .unwrap();
        // Posted events reach the history through the host loop's receive step.
        let mut app = App::new();
        app.insert_resource(audience)
            .add_systems(Update, crate::audience::receive_audience);
        app.update();
        model.update_feed(app.world().resource::<Audience>().history());
        assert_eq!(model.feed.len(), 1);
        assert_eq!(
            (model.feed[0].user.as_str(), model.feed[0].text.as_str()),
            ("ann", "hello")
        );
    }

    #[test]
    fn stream_view_of_an_idle_host() {
        let mut view = StreamView::default();
        view.update(Duration::ZERO, &HostStatus::default());
        assert_eq!(view.phase, StreamPhase::Idle);
        assert!(view.can_go_live() && view.outputs.is_empty());
        assert_eq!(view.bitrate.latest(), Some(0.0));
    }
}
