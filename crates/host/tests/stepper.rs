//! The host's logic in one process, stepped like lightyear's stepper: the
//! real `HostPlugin` on `MinimalPlugins`, a real ipc `Server` in a temp dir,
//! scripted games connected over the real socket, a recording media back-end
//! instead of GStreamer, and `ctl` requests injected where the control
//! socket would hand them over. Each test steps the app with `app.update()`
//! until what it checks holds (never for a fixed number of frames).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use crossbeam_channel::Sender;
use livestream_control::{CtlReply, CtlRequest, HostStatus, OutputHealth};
use livestream_host::audience::Audience;
use livestream_host::children::Children;
use livestream_host::ctl::PendingCtl;
use livestream_host::lifecycle::TerminationRequested;
use livestream_host::liveness::GameLiveness;
use livestream_host::media_backend::{MediaBackend, SharedPayload, StreamCounters, StreamSink};
use livestream_host::settings::HostSettings;
use livestream_host::{HostParts, HostPlugin};
use livestream_ipc::{LinkConfig, LinkEvent, LinkToHost, Server, ServerConfig, connect};
use livestream_media::{ElementError, MediaConfig, MediaError, MediaEvent, MicSource};
use livestream_protocol::{
    AudioChunkHeader, Capabilities, DisplayReason, DisplayReport, GameMessage, Hello, HostMessage,
    MediaRequest, MicChoice, OutputProblem, PROTOCOL_VERSION, PixelFormat, StreamDestination,
    StreamPhase, StreamState, VideoFrameHeader, Visibility,
};

/// How long any awaited condition may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// What the recording back-end saw.
#[derive(Debug, Default)]
struct Recording {
    /// Each stream started: whether its microphone was on.
    starts: Vec<bool>,
    /// Frames handed to the stream: (game, frame number).
    frames: Vec<(u64, u64)>,
    /// Audio handed to the stream: (game, sequence).
    audio: Vec<(u64, u64)>,
    /// Streams stopped cleanly.
    stops: u32,
    /// Events the next `take_events` returns.
    events: Vec<MediaEvent>,
    /// Make the next start fail with this text.
    fail_start: Option<String>,
}

/// The recording back-end: shares its [`Recording`] with the test.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Recording>>);

impl Recorder {
    fn get(&self) -> MutexGuard<'_, Recording> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One recorded stream.
struct RecordingSink {
    recorder: Recorder,
    outputs: Vec<String>,
}

impl MediaBackend for Recorder {
    fn start(&self, config: MediaConfig) -> Result<Box<dyn StreamSink>, MediaError> {
        let mut recording = self.get();
        if let Some(message) = recording.fail_start.take() {
            return Err(MediaError::Config(message));
        }
        recording.starts.push(config.mic != MicSource::None);
        Ok(Box::new(RecordingSink {
            recorder: self.clone(),
            outputs: config.outputs.iter().map(ToString::to_string).collect(),
        }))
    }
}

impl StreamSink for RecordingSink {
    fn submit_frame(&self, game_id: u64, header: VideoFrameHeader, pixels: SharedPayload) {
        assert_eq!(pixels.as_ref().len(), header.payload_len().unwrap());
        self.recorder
            .get()
            .frames
            .push((game_id, header.frame_number));
    }

    fn submit_audio(&self, game_id: u64, header: &AudioChunkHeader, _samples: &[u8]) {
        self.recorder.get().audio.push((game_id, header.sequence));
    }

    fn take_events(&self) -> Vec<MediaEvent> {
        std::mem::take(&mut self.recorder.get().events)
    }

    fn counters(&self) -> StreamCounters {
        StreamCounters {
            frames_pushed: self.recorder.get().frames.len() as u64,
            ..StreamCounters::default()
        }
    }

    fn outputs(&self) -> Vec<String> {
        self.outputs.clone()
    }

    fn stop(self: Box<Self>, _timeout: Duration) -> Result<(), MediaError> {
        self.recorder.get().stops += 1;
        Ok(())
    }
}

/// The host app and everything a test drives it with.
struct Stepper {
    app: App,
    socket: PathBuf,
    ctl: Sender<PendingCtl>,
    media: Recorder,
    /// Where "Remember" saves (the test's own user config).
    user_config: PathBuf,
    dir: tempfile::TempDir,
}

impl Stepper {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(adjust: impl FnOnce(&mut HostSettings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("host.sock");
        let mut settings = HostSettings {
            outputs: vec![format!("file:{}", dir.path().join("out.flv").display())],
            mic: "test-tone".into(),
            fps: 15,
            // "Record only" records into the test's dir, never the user's.
            videos_dir: Some(dir.path().join("videos")),
            ..HostSettings::default()
        };
        adjust(&mut settings);
        let server = Server::bind(ServerConfig::new(&socket)).unwrap();
        let user_config = dir.path().join("config/bevy_livestream/host.ron");
        let (ctl, ctl_requests) = crossbeam_channel::unbounded();
        let media = Recorder::default();
        let audience = Audience::start(
            &[],
            &settings.source_tls().unwrap(),
            settings.audience_history,
            settings.audience_queue,
        );
        let host = HostPlugin::with_parts(HostParts {
            settings,
            server,
            ctl: None,
            ctl_requests,
            children: Children::new(socket.clone()),
            audience,
            termination: TerminationRequested::default(),
            media: Box::new(media.clone()),
            user_config: Some(user_config.clone()),
        });
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, host));
        Self {
            app,
            socket,
            ctl,
            media,
            user_config,
            dir,
        }
    }

    /// Steps the host until `done` holds.
    fn step_until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.app.update();
            if done(self) {
                return;
            }
            assert!(Instant::now() < deadline, "waited in vain for: {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Asks what `ctl` would ask, and steps the host until it answers.
    fn ctl(&mut self, request: CtlRequest) -> CtlReply {
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.ctl.send(PendingCtl { request, reply }).unwrap();
        let mut got = None;
        self.step_until("a ctl answer", |_| {
            got = answer.try_recv().ok();
            got.is_some()
        });
        got.unwrap()
    }

    fn status(&mut self) -> HostStatus {
        match self.ctl(CtlRequest::Status) {
            CtlReply::Status(status) => *status,
            other => panic!("status answered {other:?}"),
        }
    }

    /// Connects a scripted game and steps until the host lists it.
    fn connect(&mut self, name: &str) -> ScriptedGame {
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            game_name: name.into(),
            pid: std::process::id(),
            capabilities: Capabilities {
                video_formats: vec![PixelFormat::I420],
                audio: None,
            },
        };
        let connection = connect(&self.socket, hello, &LinkConfig::default(), DEADLINE).unwrap();
        let game = ScriptedGame {
            link: connection.link,
            game_id: connection.game_id,
            received: Vec::new(),
        };
        self.step_until("the game to be listed", |host| {
            host.status().game(name).is_some()
        });
        game
    }
}

/// A game played by the test over the real socket.
struct ScriptedGame {
    link: LinkToHost,
    game_id: u64,
    /// Everything the host sent so far.
    received: Vec<HostMessage>,
}

impl ScriptedGame {
    fn report(&self, visibility: Visibility) {
        let report = DisplayReport {
            visibility,
            reason: DisplayReason::Focus,
            timestamp_ns: livestream_ipc::monotonic_ns(),
        };
        self.link
            .outbox()
            .send(GameMessage::Display(report))
            .unwrap();
    }

    fn send_frame(&self, frame_number: u64) {
        let header = VideoFrameHeader {
            frame_number,
            timestamp_ns: livestream_ipc::monotonic_ns(),
            ..VideoFrameHeader::packed(PixelFormat::I420, 32, 18)
        };
        let pixels = vec![128; header.payload_len().unwrap()];
        self.link
            .outbox()
            .send_with_payload(GameMessage::VideoFrame(header), pixels)
            .unwrap();
    }

    fn send_audio(&self, sequence: u64) {
        let header = AudioChunkHeader {
            sample_rate: 48_000,
            channels: 2,
            frames: 480,
            timestamp_ns: livestream_ipc::monotonic_ns(),
            sequence,
        };
        let samples = vec![0; header.payload_len().unwrap()];
        self.link
            .outbox()
            .send_with_payload(GameMessage::AudioChunk(header), samples)
            .unwrap();
    }

    fn send(&self, message: GameMessage) {
        self.link.outbox().send(message).unwrap();
    }

    /// Takes what arrived from the host; returns whether anything did.
    fn poll(&mut self) -> bool {
        let before = self.received.len();
        while let Some(LinkEvent::Message(envelope)) = self.link.try_recv() {
            self.received.push(envelope.message);
        }
        self.received.len() > before
    }

    /// Answers the host's pings that arrived since the last poll, as a
    /// game's loop does; how many it answered.
    fn answer_pings(&mut self) -> usize {
        let before = self.received.len();
        self.poll();
        let nonces: Vec<u64> = self.received[before..]
            .iter()
            .filter_map(|message| match message {
                HostMessage::Ping { nonce } => Some(*nonce),
                _ => None,
            })
            .collect();
        for &nonce in &nonces {
            self.send(GameMessage::Pong { nonce });
        }
        nonces.len()
    }

    /// The latest media request the host made.
    fn media_request(&mut self) -> Option<MediaRequest> {
        self.poll();
        self.received
            .iter()
            .rev()
            .find_map(|message| match message {
                HostMessage::Media(request) => Some(*request),
                _ => None,
            })
    }

    /// The latest stream state the host told.
    fn state(&mut self) -> Option<StreamState> {
        self.poll();
        self.received
            .iter()
            .rev()
            .find_map(|message| match message {
                HostMessage::StreamState(state) => Some(state.clone()),
                _ => None,
            })
    }

    /// The latest stream phase the host told.
    fn phase(&mut self) -> Option<StreamPhase> {
        self.state().map(|state| state.phase)
    }

    /// Texts of the chat events received, backlog first.
    fn chat(&mut self) -> Vec<String> {
        self.poll();
        let mut texts = Vec::new();
        for message in &self.received {
            let events = match message {
                HostMessage::Backlog { events, .. } => events.clone(),
                HostMessage::Audience(event) => vec![event.clone()],
                _ => continue,
            };
            for event in events {
                if let livestream_protocol::AudienceEventKind::Chat { text } = event.kind {
                    texts.push(text);
                }
            }
        }
        texts
    }
}

fn streamed_from(host: &Stepper, game_id: u64) -> Vec<u64> {
    host.media
        .get()
        .frames
        .iter()
        .filter(|(game, _)| *game == game_id)
        .map(|&(_, n)| n)
        .collect()
}

fn wants_video(request: Option<MediaRequest>) -> bool {
    request.is_some_and(|request| request.video && request.audio)
}

#[test]
fn the_stream_follows_the_shown_game_and_switches_without_a_restart() {
    let mut host = Stepper::new();
    let mut alpha = host.connect("alpha");
    let mut beta = host.connect("beta");
    alpha.report(Visibility::Shown);
    assert_eq!(host.ctl(CtlRequest::GoLive { mic: false }), CtlReply::Done);
    host.step_until("only alpha asked for media", |_| {
        wants_video(alpha.media_request()) && beta.media_request().is_some_and(|r| !r.video)
    });

    // Only the shown game's frames and audio reach the stream.
    alpha.send_frame(1);
    alpha.send_audio(1);
    beta.send_frame(1);
    alpha.send_frame(2);
    host.step_until(
        "alpha's frames on the stream, beta's frame counted",
        |host| {
            streamed_from(host, alpha.game_id) == [1, 2]
                && host
                    .status()
                    .game("beta")
                    .is_some_and(|beta| beta.frames == 1)
        },
    );
    assert!(streamed_from(&host, beta.game_id).is_empty());
    assert_eq!(host.media.get().audio, [(alpha.game_id, 1)]);

    // Beta comes to the front: the stream follows, with no restart.
    let timed_before = host.status().switch_to_picture_ms.len();
    alpha.report(Visibility::Hidden);
    beta.report(Visibility::Shown);
    host.step_until("beta asked for media and alpha not", |_| {
        wants_video(beta.media_request()) && alpha.media_request().is_some_and(|r| !r.video)
    });
    beta.send_frame(7);
    host.step_until("beta's frame on the stream", |host| {
        streamed_from(host, beta.game_id) == [7]
    });
    let status = host.status();
    assert_eq!(status.shown.as_deref(), Some("beta"));
    assert_eq!(status.switches, 1);
    assert_eq!(
        status.switch_to_picture_ms.len(),
        timed_before + 1,
        "the switch to beta was timed: {status:?}"
    );
    assert_eq!(status.game("alpha").unwrap().frames_streamed, 2);
    assert_eq!(status.game("beta").unwrap().frames_streamed, 1);
    assert_eq!(status.game("beta").unwrap().frames, 2);
    assert_eq!(
        status.game("beta").unwrap().frames_lost,
        5,
        "frames 2 to 6 never came"
    );
    assert_eq!(status.frames_pushed, 3);
    let media = host.media.get();
    assert_eq!(
        (media.starts.len(), media.stops),
        (1, 0),
        "one stream throughout"
    );
}

#[test]
fn with_nothing_shown_the_stream_goes_on_and_frames_are_not_taken() {
    let mut host = Stepper::new();
    let mut alpha = host.connect("alpha");
    host.ctl(CtlRequest::GoLive { mic: false });
    assert_eq!(
        host.ctl(CtlRequest::Show {
            game: "alpha".into()
        }),
        CtlReply::Done
    );
    host.step_until("alpha told it is shown and asked for media", |_| {
        alpha.poll();
        alpha
            .received
            .contains(&HostMessage::SetVisibility(Visibility::Shown))
            && wants_video(alpha.media_request())
    });
    alpha.send_frame(1);
    host.step_until("the frame streamed", |host| {
        streamed_from(host, alpha.game_id) == [1]
    });

    assert_eq!(host.ctl(CtlRequest::HideAll), CtlReply::Done);
    host.step_until("alpha no longer asked for media", |_| {
        alpha.media_request().is_some_and(|r| !r.video)
    });
    let status = host.status();
    assert_eq!(status.shown, None);
    assert_eq!(
        status.phase,
        StreamPhase::Live,
        "the stream holds the last frame"
    );
    assert_eq!(
        status.game("alpha").unwrap().reason,
        DisplayReason::HostCommand
    );
    // A frame still in flight from the hidden game does not reach the stream.
    alpha.send_frame(2);
    host.step_until("the late frame counted", |host| {
        host.status().game("alpha").unwrap().frames == 2
    });
    assert_eq!(streamed_from(&host, alpha.game_id), [1]);
    assert_eq!(host.media.get().stops, 0);
    assert!(matches!(
        host.ctl(CtlRequest::Show {
            game: "nobody".into()
        }),
        CtlReply::Error { .. }
    ));
}

#[test]
fn a_late_game_gets_the_backlog_first_and_every_game_gets_new_events() {
    let mut host = Stepper::new();
    let mut early = host.connect("early");
    for text in ["one", "two", "three"] {
        let reply = host.ctl(CtlRequest::Say {
            user: "ann".into(),
            text: text.into(),
        });
        assert!(matches!(reply, CtlReply::Posted { .. }), "{reply:?}");
    }
    host.step_until("the early game has the three lines", |_| {
        early.chat() == ["one", "two", "three"]
    });
    let mut late = host.connect("late");
    host.step_until("the late game has the backlog", |_| {
        late.chat() == ["one", "two", "three"]
    });
    assert!(
        matches!(late.received[0], HostMessage::StreamState(_)),
        "the stream state comes first: {:?}",
        late.received[0]
    );
    assert!(
        late.received
            .iter()
            .any(|m| matches!(m, HostMessage::Backlog { more: false, .. }))
    );
    host.ctl(CtlRequest::Say {
        user: "bob".into(),
        text: "four".into(),
    });
    host.step_until("both games have the new line", |_| {
        early.chat().last().map(String::as_str) == Some("four")
            && late.chat().last().map(String::as_str) == Some("four")
    });
    let status = host.status();
    assert_eq!(status.audience.history, 4);
    assert_eq!(status.game("late").unwrap().audience.unwrap().backlog, 3);
    assert_eq!(
        host.ctl(CtlRequest::Say {
            user: "ann".into(),
            text: "   ".into()
        }),
        CtlReply::Error {
            message: "the message is empty".into()
        }
    );
}

#[test]
fn a_game_goes_live_with_the_microphone_and_stops_and_every_game_is_told() {
    let mut host = Stepper::new();
    let mut player = host.connect("player");
    let mut other = host.connect("other");
    player.send(GameMessage::GoLive { mic: MicChoice::On });
    host.step_until("both games told the stream is live", |_| {
        player.phase() == Some(StreamPhase::Live) && other.phase() == Some(StreamPhase::Live)
    });
    assert_eq!(host.media.get().starts, [true], "the microphone is on");
    let status = host.status();
    assert_eq!(
        status.shown.as_deref(),
        Some("player"),
        "the game whose button was pressed is shown"
    );
    assert!(status.mic && status.is_live());
    assert_eq!(status.outputs.len(), 1);
    assert_eq!(status.outputs[0].health, OutputHealth::Up);

    // An output drops and comes back: the phase says so, the stream goes on.
    let output = status.outputs[0].url.clone();
    host.media.get().events.push(MediaEvent::OutputDown {
        output: output.clone(),
        attempt: 1,
        retry_in: Duration::from_millis(250),
        problem: OutputProblem::KeyRefused,
    });
    host.step_until("the games told it reconnects, and why", |_| {
        other.state().is_some_and(|state| {
            matches!(state.phase, StreamPhase::Reconnecting { attempt: 1, .. })
                && state.stats.outputs[0].problem == Some(OutputProblem::KeyRefused)
        })
    });
    let status = host.status();
    assert_eq!(status.reconnects, 1);
    assert_eq!(
        status.outputs[0].health,
        OutputHealth::Reconnecting { attempt: 1 }
    );
    assert_eq!(status.outputs[0].problem, Some(OutputProblem::KeyRefused));
    host.media
        .get()
        .events
        .push(MediaEvent::OutputUp { output });
    host.step_until("live again", |_| other.phase() == Some(StreamPhase::Live));

    other.send(GameMessage::StopStream);
    host.step_until("both games told the stream stopped", |_| {
        player.phase() == Some(StreamPhase::Idle) && other.phase() == Some(StreamPhase::Idle)
    });
    assert_eq!(host.media.get().stops, 1);
}

#[test]
fn a_stream_that_cannot_start_is_an_error_every_game_sees() {
    let mut host = Stepper::new();
    let mut player = host.connect("player");
    host.media.get().fail_start = Some("no encoder".into());
    player.send(GameMessage::GoLive {
        mic: MicChoice::Off,
    });
    host.step_until("the player told why", |_| {
        matches!(player.phase(), Some(StreamPhase::Error { message }) if message.contains("no encoder"))
    });
    assert!(!host.status().is_live());
    // The encoder failing while live ends the stream with the error shown.
    player.send(GameMessage::GoLive {
        mic: MicChoice::Off,
    });
    host.step_until("live", |_| player.phase() == Some(StreamPhase::Live));
    host.media.get().events.push(MediaEvent::Error {
        output: None,
        error: ElementError {
            element: "/GstPipeline:livestream/GstX264Enc:venc".into(),
            message: "out of memory".into(),
            debug: None,
        },
    });
    host.step_until("the failure told, naming the element", |_| {
        matches!(player.phase(), Some(StreamPhase::Error { message })
            if message.contains("venc") && message.contains("out of memory"))
    });
    assert!(!host.status().is_live());
    // Then it is finished as far as it can be (recordings get their index
    // when end of stream still flows), off the loop; the error stays shown.
    assert!(matches!(host.status().phase, StreamPhase::Error { .. }));
    // Going live again starts a new stream once that one is finished.
    player.send(GameMessage::GoLive {
        mic: MicChoice::Off,
    });
    host.step_until("live again", |_| player.phase() == Some(StreamPhase::Live));
    assert_eq!(host.media.get().stops, 1, "the failed stream was finished");
}

#[test]
fn a_game_that_disappears_is_removed_and_the_host_exits_when_none_is_left() {
    let mut host = Stepper::new();
    let mut alpha = host.connect("alpha");
    let beta = host.connect("beta");
    alpha.report(Visibility::Shown);
    host.ctl(CtlRequest::GoLive { mic: false });
    host.step_until("alpha asked for media", |_| {
        wants_video(alpha.media_request())
    });

    drop(beta); // as a crash closes its socket
    host.step_until("beta removed", |host| {
        host.status().game_names() == ["alpha"]
    });
    assert!(host.status().is_live(), "the stream is undisturbed");
    assert_eq!(host.media.get().stops, 0);
    assert!(host.app.should_exit().is_none());

    drop(alpha);
    host.step_until("the host exits", |host| host.app.should_exit().is_some());
    assert_eq!(host.app.should_exit(), Some(AppExit::Success));
    assert_eq!(host.media.get().stops, 1, "the stream was stopped cleanly");
}

#[test]
fn a_game_that_answers_nothing_is_disconnected_and_one_that_answers_stays() {
    let mut host = Stepper::with(|settings| settings.exit_when_empty = false);
    host.app.insert_resource(GameLiveness {
        ping_after: Duration::from_millis(100),
        silence_limit: Duration::from_secs(2),
    });
    let mute = host.connect("mute");
    let mut alive = host.connect("alive");
    let mut pings = 0;
    host.step_until("the mute game disconnected", |host| {
        pings += alive.answer_pings();
        host.status().game_names() == ["alive"]
    });
    assert!(
        pings >= 3,
        "the answering game was pinged all along: {pings}"
    );
    host.step_until("the mute game's socket closed", |_| {
        matches!(mute.link.try_recv(), Some(LinkEvent::Closed(_))) || mute.link.is_closed()
    });
    // The one that answers stays, past the silence limit again.
    let stays_until = Instant::now() + Duration::from_secs(3);
    host.step_until("the answering game kept past the limit", |host| {
        alive.answer_pings();
        assert_eq!(host.status().game_names(), ["alive"]);
        Instant::now() >= stays_until
    });
}

#[test]
fn a_host_told_to_stay_keeps_running_when_the_games_are_gone() {
    let mut host = Stepper::with(|settings| settings.exit_when_empty = false);
    let game = host.connect("alpha");
    drop(game);
    host.step_until("the game removed", |host| host.status().games.is_empty());
    assert!(host.app.should_exit().is_none());
}

#[test]
fn a_destination_chosen_in_a_game_is_streamed_to_and_remembered_for_the_owner_alone() {
    let mut host = Stepper::with(|settings| settings.outputs.clear());
    let mut player = host.connect("player");
    let told = |player: &mut ScriptedGame| {
        player.poll();
        player
            .received
            .iter()
            .rev()
            .find_map(|message| match message {
                HostMessage::StreamState(state) => Some(state.has_destination),
                _ => None,
            })
    };
    host.step_until("the game told no destination is set", |_| {
        told(&mut player) == Some(false)
    });
    player.send(GameMessage::ChooseDestination {
        destination: StreamDestination::Custom {
            server: "rtmp://127.0.0.1:1935/live".into(),
            key: "sekrit_key".into(),
        },
        remember: true,
    });
    player.send(GameMessage::GoLive {
        mic: MicChoice::Off,
    });
    host.step_until("live, and a destination known", |_| {
        player.phase() == Some(StreamPhase::Live) && told(&mut player) == Some(true)
    });
    let status = host.status();
    assert_eq!(status.outputs.len(), 1, "{status:?}");
    let url = &status.outputs[0].url;
    assert!(
        url.starts_with("rtmp://127.0.0.1:1935/live/") && !url.contains("sekrit"),
        "{url}"
    );
    let saved = std::fs::read_to_string(&host.user_config).unwrap();
    assert!(saved.contains("sekrit_key"), "{saved}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&host.user_config)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_destination_that_cannot_be_remembered_is_used_and_the_player_told() {
    let mut host = Stepper::with(|settings| settings.outputs.clear());
    // Where the config directory should be, a file: nothing can be saved.
    let config_dir = host.user_config.parent().unwrap().to_owned();
    std::fs::create_dir_all(config_dir.parent().unwrap()).unwrap();
    std::fs::write(&config_dir, "not a directory").unwrap();
    let mut player = host.connect("player");
    player.send(GameMessage::ChooseDestination {
        destination: StreamDestination::RecordOnly,
        remember: true,
    });
    player.send(GameMessage::GoLive {
        mic: MicChoice::Off,
    });
    host.step_until("live, the player told it is not remembered", |_| {
        player.state().is_some_and(|state| {
            state.phase == StreamPhase::Live
                && state
                    .config_error
                    .as_deref()
                    .is_some_and(|error| error.contains("not remembered"))
        })
    });
    let videos = host.dir.path().join("videos");
    assert!(
        host.status().outputs[0]
            .url
            .starts_with(&format!("file:{}", videos.display())),
        "recorded in the test's own videos dir"
    );
}

/// One message a fuzzed game sends, with any values the wire accepts.
#[derive(Debug, Clone)]
enum Sent {
    Frame { header: VideoFrameHeader },
    Audio { header: AudioChunkHeader },
    Display { shown: bool, timestamp_ns: u64 },
    GoLive { mic: bool },
    Stop,
}

/// Any `u64`, the edges often.
fn edgy_u64() -> impl proptest::strategy::Strategy<Value = u64> {
    use proptest::prelude::*;
    prop_oneof![any::<u64>(), Just(u64::MAX), Just(u64::MAX - 1), 0u64..3]
}

fn any_sent() -> impl proptest::strategy::Strategy<Value = Sent> {
    use proptest::prelude::*;
    prop_oneof![
        (edgy_u64(), edgy_u64(), any::<bool>(), 1u32..32, 1u32..32).prop_map(
            |(frame_number, timestamp_ns, rgba, half_width, half_height)| {
                let format = if rgba {
                    PixelFormat::Rgba8
                } else {
                    PixelFormat::I420
                };
                Sent::Frame {
                    header: VideoFrameHeader {
                        frame_number,
                        timestamp_ns,
                        ..VideoFrameHeader::packed(format, half_width * 2, half_height * 2)
                    },
                }
            }
        ),
        (
            8_000u32..=192_000,
            1u16..=8,
            1u32..=2_000,
            edgy_u64(),
            edgy_u64()
        )
            .prop_map(|(sample_rate, channels, frames, timestamp_ns, sequence)| {
                Sent::Audio {
                    header: AudioChunkHeader {
                        sample_rate,
                        channels,
                        frames,
                        timestamp_ns,
                        sequence,
                    },
                }
            }),
        (any::<bool>(), edgy_u64()).prop_map(|(shown, timestamp_ns)| Sent::Display {
            shown,
            timestamp_ns
        }),
        any::<bool>().prop_map(|mic| Sent::GoLive { mic }),
        Just(Sent::Stop),
    ]
}

impl ScriptedGame {
    /// Sends `sent`; whether it was a video frame.
    fn send_fuzzed(&self, sent: &Sent) -> bool {
        match sent {
            Sent::Frame { header } => {
                let pixels = vec![200; header.payload_len().unwrap()];
                self.link
                    .outbox()
                    .send_with_payload(GameMessage::VideoFrame(*header), pixels)
                    .unwrap();
                return true;
            }
            Sent::Audio { header } => {
                let samples = vec![0; header.payload_len().unwrap()];
                self.link
                    .outbox()
                    .send_with_payload(GameMessage::AudioChunk(*header), samples)
                    .unwrap();
            }
            Sent::Display {
                shown,
                timestamp_ns,
            } => self.send(GameMessage::Display(DisplayReport {
                visibility: if *shown {
                    Visibility::Shown
                } else {
                    Visibility::Hidden
                },
                reason: DisplayReason::Focus,
                timestamp_ns: *timestamp_ns,
            })),
            Sent::GoLive { mic } => self.send(GameMessage::GoLive {
                mic: if *mic { MicChoice::On } else { MicChoice::Off },
            }),
            Sent::Stop => self.send(GameMessage::StopStream),
        }
        false
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// Whatever a game sends within the protocol (frame numbers and stamps
    /// near `u64::MAX`, any audio format, reports from the future, go-live
    /// and stop in any order), the host takes each message, counts it and
    /// keeps answering.
    #[test]
    fn any_game_messages_leave_the_host_counting_and_answering(
        messages in proptest::collection::vec(any_sent(), 1..40)
    ) {
        let mut host = Stepper::new();
        let game = host.connect("fuzz");
        // One message at a time, each taken before the next is sent, so the
        // link never drops a frame under pressure and every value reaches
        // the host's logic.
        let (mut frames, mut chunks) = (0, 0);
        for sent in &messages {
            if game.send_fuzzed(sent) {
                frames += 1;
            } else if matches!(sent, Sent::Audio { .. }) {
                chunks += 1;
            } else {
                // A control message: an audio chunk after it says when it is read.
                game.send_audio(0);
                chunks += 1;
            }
            host.step_until("the message taken", |host| {
                host.status()
                    .game("fuzz")
                    .is_some_and(|game| game.frames == frames && game.audio_chunks == chunks)
            });
        }
    }
}

#[test]
fn frame_numbers_at_the_edge_of_u64_are_counted() {
    let mut host = Stepper::new();
    let game = host.connect("edge");
    for (sent, number) in [u64::MAX, 0, u64::MAX - 1, u64::MAX]
        .into_iter()
        .enumerate()
    {
        game.send_frame(number);
        host.step_until("the frame counted", |host| {
            host.status()
                .game("edge")
                .is_some_and(|game| game.frames == sent as u64 + 1)
        });
    }
    let status = host.status();
    let lost = status.game("edge").unwrap().frames_lost;
    assert_eq!(lost, u64::MAX - 2, "only the forward gap counts");
}
