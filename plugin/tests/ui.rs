//! The ready-made UI driven the way a player drives it: pointer events go in
//! through `bevy_egui`'s input messages, widgets are found by the text egui
//! painted, and what the UI asks for is read at a stand-in host on the other
//! end of the real socket.

use std::path::Path;
use std::time::Instant;

use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy_egui::input::EguiInputEvent;
use bevy_egui::{EguiFullOutput, EguiPostUpdateSet, PrimaryEguiContext, egui};
use bevy_livestream::prelude::*;
use bevy_livestream::{
    LiveStreamSettings, PixelFormat, StreamDestination, StreamPhase, StreamState, StreamStats,
};
use common::{LIMIT, SOCKET_FILE, chat, host, test_settings, wait_for_game};
use livestream_ipc::{LinkEvent, LinkToGame, Server};
use livestream_protocol::{
    AudienceEventKind, GameMessage, HostMessage, MicChoice, OutputProblem, OutputStatus,
};

mod common;

const GAME: &str = "ui-test";

/// Every piece of text egui painted last frame, with where (in points).
#[derive(Resource, Default)]
struct PaintedText(Vec<(String, egui::Rect)>);

fn record_painted_text(outputs: Query<&EguiFullOutput>, mut painted: ResMut<PaintedText>) {
    fn walk(shape: &egui::Shape, out: &mut Vec<(String, egui::Rect)>) {
        match shape {
            egui::Shape::Text(text) => out.push((
                text.galley.text().to_owned(),
                egui::Rect::from_min_size(text.pos, text.galley.size()),
            )),
            egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| walk(s, out)),
            _ => {}
        }
    }
    painted.0.clear();
    for output in &outputs {
        for clipped in output.0.iter().flat_map(|full| &full.shapes) {
            walk(&clipped.shape, &mut painted.0);
        }
    }
}

/// A headless game with the plugin, its UI, and one streamable camera.
/// Fields drop in order: the game before the host, the host before its directory.
struct UiGame {
    app: App,
    /// The stand-in host's end, when there is one.
    link: Option<LinkToGame>,
    /// What the game sent that is not media.
    requests: Vec<GameMessage>,
    _server: Option<Server>,
    dir: tempfile::TempDir,
}

impl UiGame {
    /// A game connected to a stand-in host.
    fn start() -> Self {
        Self::launch(|_, _| {}, true)
    }

    /// A game with its settings adjusted (given the test's directory), with
    /// or without a stand-in host listening.
    fn launch(adjust: impl FnOnce(&mut LiveStreamSettings, &Path), with_host: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join(SOCKET_FILE);
        let server = with_host.then(|| host(&socket));
        let mut settings = test_settings(&socket, GAME, PixelFormat::I420);
        adjust(&mut settings, dir.path());
        let mut app = App::new();
        app.add_plugins((
            headless_default_plugins().disable::<LogPlugin>(),
            HeadlessPlugin {
                size: UVec2::new(640, 360),
                fps: 60.0,
            },
            LiveStreamPlugin {
                settings,
                ..default()
            },
            LiveStreamUiPlugin::default(),
        ))
        .init_resource::<PaintedText>()
        .add_systems(Startup, |mut commands: Commands| {
            commands.spawn((Camera2d, Streamable));
        })
        .add_systems(
            PostUpdate,
            record_painted_text
                .after(EguiPostUpdateSet::EndPass)
                .before(EguiPostUpdateSet::ProcessOutput),
        );
        app.finish();
        app.cleanup();
        let link = server
            .as_ref()
            .map(|server| wait_for_game(&mut app, server, GAME));
        let mut game = Self {
            app,
            link,
            requests: Vec::new(),
            _server: server,
            dir,
        };
        game.find("Go live");
        game
    }

    fn update(&mut self) {
        self.app.update();
        let Some(link) = &self.link else {
            return;
        };
        for event in link.drain() {
            if let LinkEvent::Message(envelope) = event
                && !matches!(
                    envelope.message,
                    GameMessage::VideoFrame(_)
                        | GameMessage::AudioChunk(_)
                        | GameMessage::Display(_)
                )
            {
                self.requests.push(envelope.message);
            }
        }
    }

    fn painted(&self, text: &str) -> Option<egui::Rect> {
        self.painted_where(|t| t == text)
    }

    fn painted_where(&self, matches: impl Fn(&str) -> bool) -> Option<egui::Rect> {
        let painted = &self.app.world().resource::<PaintedText>().0;
        painted
            .iter()
            .find(|(t, _)| matches(t))
            .map(|(_, rect)| *rect)
    }

    /// Runs frames until a text containing `part` is painted; that text's place.
    fn find_containing(&mut self, part: &str) -> egui::Rect {
        let deadline = Instant::now() + LIMIT;
        loop {
            self.update();
            if let Some(rect) = self.painted_where(|t| t.contains(part)) {
                return rect;
            }
            if Instant::now() > deadline {
                let painted = &self.app.world().resource::<PaintedText>().0;
                panic!("no text with {part:?} appeared; painted: {painted:?}");
            }
        }
    }

    /// Runs frames until `text` is painted; where it is.
    fn find(&mut self, text: &str) -> egui::Rect {
        let deadline = Instant::now() + LIMIT;
        loop {
            self.update();
            if let Some(rect) = self.painted(text) {
                return rect;
            }
            if Instant::now() > deadline {
                let painted = &self.app.world().resource::<PaintedText>().0;
                panic!("{text:?} never appeared; painted: {painted:?}");
            }
        }
    }

    /// Runs frames until `text` is no longer painted.
    fn wait_gone(&mut self, text: &str) {
        let deadline = Instant::now() + LIMIT;
        while self.painted(text).is_some() {
            assert!(Instant::now() < deadline, "{text:?} never went away");
            self.update();
        }
    }

    fn input(&mut self, event: egui::Event) {
        let world = self.app.world_mut();
        let context = world
            .query_filtered::<Entity, With<PrimaryEguiContext>>()
            .single(world)
            .expect("the camera got the primary egui context");
        world.write_message(EguiInputEvent { context, event });
        self.update();
    }

    fn pointer_button(&mut self, pos: egui::Pos2, pressed: bool) {
        self.input(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }

    /// Moves the pointer to `text` and clicks it.
    fn click(&mut self, text: &str) {
        let pos = self.find(text).center();
        self.input(egui::Event::PointerMoved(pos));
        self.pointer_button(pos, true);
        self.pointer_button(pos, false);
    }

    /// Clicks `dx` points right of `text` (the field beside a label), then
    /// types `typed`.
    fn type_beside(&mut self, text: &str, dx: f32, typed: &str) {
        let rect = self.find(text);
        let pos = egui::pos2(rect.right() + dx, rect.center().y);
        self.input(egui::Event::PointerMoved(pos));
        self.pointer_button(pos, true);
        self.pointer_button(pos, false);
        self.input(egui::Event::Text(typed.into()));
    }

    /// Presses on `text`, moves by `by` and releases.
    fn drag(&mut self, text: &str, by: egui::Vec2) {
        let from = self.find(text).center();
        self.input(egui::Event::PointerMoved(from));
        self.pointer_button(from, true);
        for step in 1..=4 {
            self.input(egui::Event::PointerMoved(from + by * (step as f32 / 4.0)));
        }
        self.pointer_button(from + by, false);
    }

    fn send(&self, message: HostMessage) {
        let link = self.link.as_ref().expect("a stand-in host");
        link.outbox().send(message).unwrap();
    }

    fn prompt(&self) -> GoLivePrompt {
        self.app.world().resource::<GoLivePrompt>().clone()
    }
}

#[test]
fn go_live_pop_up_starts_the_stream_with_the_microphone() {
    let mut game = UiGame::start();
    game.click("Go live");
    game.find("Start streaming");
    game.click("Also stream my microphone");
    assert!(game.prompt().mic);
    game.click("Start streaming");
    let deadline = Instant::now() + LIMIT;
    while game.requests.is_empty() {
        assert!(Instant::now() < deadline, "the host never heard of it");
        game.update();
    }
    assert_eq!(game.requests, [GameMessage::GoLive { mic: MicChoice::On }]);
    game.wait_gone("Start streaming");
    assert!(!game.prompt().open);
}

#[test]
fn not_now_closes_the_pop_up_and_asks_for_nothing() {
    let mut game = UiGame::start();
    game.click("Go live");
    game.click("Also stream my microphone");
    game.click("Not now");
    game.wait_gone("Start streaming");
    for _ in 0..10 {
        game.update();
    }
    assert!(game.requests.is_empty(), "sent {:?}", game.requests);
    let prompt = game.prompt();
    assert!(prompt.declined && !prompt.open);
    // The choice is remembered when the player opens the pop-up again.
    game.click("Go live");
    game.find("Start streaming");
    assert!(game.prompt().mic);
}

#[test]
fn live_badge_shows_time_state_and_bitrate_and_stops() {
    let mut game = UiGame::start();
    game.send(HostMessage::StreamState(StreamState {
        phase: StreamPhase::Live,
        mic: MicChoice::Off,
        stats: StreamStats {
            uptime_ms: 65_000,
            bitrate_kbps: 2500,
            outputs: vec![
                OutputStatus {
                    url: "rtmp://ingest.example/app/***".into(),
                    connected: true,
                    problem: None,
                },
                OutputStatus {
                    url: "file:/home/ann/Videos/bevy_livestream 2026-12-03 14-05-09.mkv".into(),
                    connected: true,
                    problem: None,
                },
            ],
            ..default()
        },
        has_destination: true,
        mic_error: None,
        config_error: None,
    }));
    game.find("LIVE");
    game.find("1:05");
    game.find("live · 2500 kbit/s");
    game.find("recording to /home/ann/Videos/bevy_livestream 2026-12-03 14-05-09.mkv");
    assert!(game.painted("Go live").is_none());
    game.click("Stop");
    let deadline = Instant::now() + LIMIT;
    while game.requests.is_empty() {
        assert!(Instant::now() < deadline, "stop never reached the host");
        game.update();
    }
    assert_eq!(game.requests, [GameMessage::StopStream]);

    game.send(HostMessage::StreamState(StreamState {
        phase: StreamPhase::Reconnecting {
            attempt: 3,
            retry_in_ms: 2000,
        },
        mic: MicChoice::On,
        stats: StreamStats::default(),
        has_destination: true,
        mic_error: None,
        config_error: None,
    }));
    game.find("reconnecting (attempt 3, next in 2.0 s) · 0 kbit/s");
}

#[test]
fn overlay_shows_chat_and_gifts_scrolls_and_applies_deletions() {
    let mut game = UiGame::start();
    for n in 0..40 {
        game.send(HostMessage::Audience(chat(
            &format!("c{n}"),
            &format!("line {n}"),
        )));
    }
    let mut gift = chat("g1", "");
    gift.kind = AudienceEventKind::Gift {
        gift_id: "rose".into(),
        name: "rose".into(),
        count: 3,
        value: 1,
    };
    game.send(HostMessage::Audience(gift));
    // Newest at the bottom, followed automatically; gifts in their own area.
    game.find("line 39");
    game.find("sent 3 × rose");
    assert!(game.painted("line 0").is_none(), "old lines scrolled away");

    // Scrolling up pauses following: new lines announce themselves instead.
    let chat_area = game.find("line 39");
    game.input(egui::Event::PointerMoved(chat_area.center()));
    for _ in 0..10 {
        game.input(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Line,
            delta: egui::vec2(0.0, 5.0),
            modifiers: egui::Modifiers::NONE,
            phase: egui::TouchPhase::Move,
        });
    }
    game.find("line 0");
    for n in 40..43 {
        game.send(HostMessage::Audience(chat(
            &format!("c{n}"),
            &format!("line {n}"),
        )));
    }
    // A turn of the wheel just before the click: egui spreads it over the
    // next frames, and what is left of it must not carry the chat back up.
    game.input(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, 3.0),
        modifiers: egui::Modifiers::NONE,
        phase: egui::TouchPhase::Move,
    });
    game.click("↓ 3 new — jump to newest");
    game.find("line 42");
    game.wait_gone("↓ 3 new — jump to newest");
    for _ in 0..20 {
        game.update();
        assert!(
            game.painted("line 42").is_some(),
            "the chat left the newest line"
        );
    }

    // A moderator's deletion takes the line off the screen.
    let mut delete = chat("d1", "");
    delete.kind = AudienceEventKind::DeleteMessage {
        target_id: "c42".into(),
    };
    game.send(HostMessage::Audience(delete));
    game.wait_gone("line 42");
    game.find("line 41");

    // The overlay can be dragged anywhere and stays there.
    let before = game.find("Audience");
    game.drag("Audience", egui::vec2(200.0, 15.0));
    for _ in 0..3 {
        game.update();
    }
    let after = game.find("Audience");
    assert!(
        (after.min - before.min - egui::vec2(200.0, 15.0)).length() < 2.0,
        "title moved from {before:?} to {after:?}"
    );
}

/// A stand-in `livestream-host` that says why it cannot run and exits 2,
/// noting each start in `starts`.
#[cfg(unix)]
fn failing_host(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let script = dir.join("livestream-host");
    let starts = dir.join("starts");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho started >> '{}'\necho 'livestream-host: no output given' >&2\nexit 2\n",
            starts.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[cfg(unix)]
#[test]
fn a_host_that_stops_at_once_is_explained_and_retry_starts_it_again() {
    let mut game = UiGame::launch(
        |settings, dir| {
            settings.start_host_on_demand = true;
            settings.host_binary = Some(failing_host(dir));
        },
        false,
    );
    let starts = |game: &UiGame| {
        std::fs::read_to_string(game.dir.path().join("starts"))
            .map_or(0, |text| text.lines().count())
    };
    game.click("Go live");
    // No host.ron yet: where to stream first ("Record only" is ticked).
    game.click("Continue");
    game.click("Start streaming");
    // The player reads the host's own words, and the button is usable again.
    game.find_containing("livestream-host: no output given");
    game.find_containing("exit status: 2");
    assert_eq!(starts(&game), 1);
    game.click("Retry");
    let deadline = Instant::now() + LIMIT;
    while starts(&game) < 2 {
        assert!(
            Instant::now() < deadline,
            "Retry did not start the host again"
        );
        game.update();
    }
    game.find_containing("livestream-host: no output given");
    game.find("Go live");
}

#[test]
fn with_no_destination_the_pop_up_asks_where_to_stream_first_and_masks_the_key() {
    let mut game = UiGame::start();
    // The host knows no destination (nothing in its host.ron, no --output).
    game.send(HostMessage::StreamState(StreamState {
        phase: StreamPhase::Idle,
        mic: MicChoice::Off,
        stats: StreamStats::default(),
        has_destination: false,
        mic_error: None,
        config_error: None,
    }));
    let deadline = Instant::now() + LIMIT;
    while game
        .app
        .world()
        .resource::<LiveStream>()
        .stream
        .as_ref()
        .is_none_or(|state| state.has_destination)
    {
        assert!(Instant::now() < deadline, "the state never arrived");
        game.update();
    }
    game.click("Go live");
    game.find("Where to stream");
    assert!(
        game.painted("Start streaming").is_none(),
        "the start step waits"
    );
    game.click("My own server (RTMP, RTMPS or SRT)");
    game.type_beside("Server", 40.0, "rtmps://ingest.example/live");
    game.type_beside("Stream key", 40.0, "sekrit_key_42");
    for _ in 0..3 {
        game.update();
    }
    let painted = &game.app.world().resource::<PaintedText>().0;
    assert!(
        painted.iter().all(|(text, _)| !text.contains("sekrit")),
        "the key is masked on screen: {painted:?}"
    );
    game.click("Continue");
    game.click("Start streaming");
    let deadline = Instant::now() + LIMIT;
    while game.requests.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the host heard {:?}",
            game.requests
        );
        game.update();
    }
    assert_eq!(
        game.requests,
        [
            GameMessage::ChooseDestination {
                destination: StreamDestination::Custom {
                    server: "rtmps://ingest.example/live".into(),
                    key: "sekrit_key_42".into(),
                },
                remember: true,
            },
            GameMessage::GoLive {
                mic: MicChoice::Off
            },
        ]
    );
    assert!(
        game.prompt().destination.key.is_empty(),
        "the key is not kept"
    );
}

/// The state a host reports while its one output, `url`, is down for `problem`.
fn reconnecting(url: &str, problem: OutputProblem) -> HostMessage {
    HostMessage::StreamState(StreamState {
        phase: StreamPhase::Reconnecting {
            attempt: 2,
            retry_in_ms: 4000,
        },
        mic: MicChoice::On,
        stats: StreamStats {
            outputs: vec![OutputStatus {
                url: url.into(),
                connected: false,
                problem: Some(problem),
            }],
            ..default()
        },
        has_destination: true,
        mic_error: None,
        config_error: None,
    })
}

impl UiGame {
    /// Runs frames until the stand-in host heard `count` requests.
    fn wait_for_requests(&mut self, count: usize) {
        let deadline = Instant::now() + LIMIT;
        while self.requests.len() < count {
            assert!(
                Instant::now() < deadline,
                "the host heard {:?}",
                self.requests
            );
            self.update();
        }
    }
}

#[test]
fn a_refused_key_is_said_in_words_and_change_destination_asks_again() {
    let mut game = UiGame::start();
    game.send(reconnecting(
        "rtmps://live.twitch.tv/app/***",
        OutputProblem::KeyRefused,
    ));
    game.find(
        "rtmps://live.twitch.tv/app/***: the server refused the stream: check the stream key",
    );
    game.find_containing("next in 4.0 s");
    game.find("OFF AIR");
    game.find("Retry");
    game.click("Change destination");
    game.wait_for_requests(1);
    assert_eq!(game.requests, [GameMessage::StopStream]);
    game.send(HostMessage::StreamState(StreamState {
        phase: StreamPhase::Idle,
        mic: MicChoice::Off,
        stats: StreamStats::default(),
        has_destination: true,
        mic_error: None,
        config_error: None,
    }));
    game.find("Where to stream");
    game.click("Twitch");
    game.type_beside("Stream key", 40.0, "live_right_key");
    game.click("Continue");
    game.click("Start streaming");
    game.wait_for_requests(3);
    assert_eq!(
        game.requests[1..],
        [
            GameMessage::ChooseDestination {
                destination: StreamDestination::Twitch {
                    key: "live_right_key".into(),
                },
                remember: true,
            },
            GameMessage::GoLive {
                mic: MicChoice::Off
            },
        ]
    );
}

#[test]
fn an_unreachable_server_shows_the_countdown_and_retry_starts_afresh() {
    let mut game = UiGame::start();
    game.send(reconnecting(
        "rtmp://192.0.2.1/live/***",
        OutputProblem::Unreachable,
    ));
    game.find(
        "rtmp://192.0.2.1/live/***: the server cannot be reached: check the address and your network",
    );
    game.find("reconnecting (attempt 2, next in 4.0 s) · 0 kbit/s");
    game.click("Retry");
    game.wait_for_requests(2);
    assert_eq!(
        game.requests,
        [
            GameMessage::StopStream,
            GameMessage::GoLive { mic: MicChoice::On },
        ]
    );
}

#[test]
fn a_missing_host_binary_is_said_in_words_with_retry_and_change_destination() {
    let mut game = UiGame::launch(
        |settings, dir| {
            settings.start_host_on_demand = true;
            settings.host_binary = Some(dir.join("not-installed/livestream-host"));
        },
        false,
    );
    game.click("Go live");
    game.click("Continue");
    game.click("Start streaming");
    game.find_containing("the stream host is not installed");
    game.find("Retry");
    game.click("Change destination");
    game.find("Where to stream");
}
