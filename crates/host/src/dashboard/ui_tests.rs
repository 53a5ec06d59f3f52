//! The dashboard driven like a user would: `bevy_egui`'s real plugin, no
//! renderer, mouse input written as the Bevy window messages winit would
//! produce, and the resulting host messages checked. Widgets are found by
//! their text in egui's output shapes, so the tests follow the layout
//! instead of hard-coding positions.

use std::path::PathBuf;

use bevy::asset::AssetEvent;
use bevy::camera::Viewport;
use bevy::input::ButtonState;
use bevy::input::InputPlugin;
use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::input::mouse::MouseButtonInput;
use bevy::prelude::*;
use bevy::shader::Shader;
use bevy::window::{CursorMoved, ExitCondition, PrimaryWindow, WindowEvent, WindowResolution};
use bevy_egui::{EguiFullOutput, EguiPlugin, EguiPostUpdateSet, egui};
use livestream_protocol::{MicChoice, PixelFormat, StreamPhase, VideoFrameHeader};

use livestream_protocol::{Capabilities, DisplayReason, Visibility};

use super::{DashboardHostPlugin, DashboardLink, DashboardWindowPlugin, FrameTap};
use crate::audience::Audience;
use crate::children::{Children, LaunchGame};
use crate::games::{DisplayStatus, GameStats, SubGame};
use crate::lifecycle::TerminationRequested;
use crate::messages::{DisplayCommand, SettingsChosen, StreamCommand};
use crate::settings::{ConfiguredGame, HostSettings};
use crate::stream::Streaming;
use crate::user_config::{UserConfig, apply_chosen_settings};
use livestream_forms::QUALITY_PRESETS;
use livestream_protocol::StreamDestination;

use super::draw::SAVE_SETTINGS;

/// A connected, hidden game's entity.
fn game(game_id: u64, name: &str) -> (SubGame, DisplayStatus, GameStats) {
    (
        SubGame {
            game_id,
            name: name.into(),
            pid: 1,
            capabilities: Capabilities {
                video_formats: vec![PixelFormat::I420],
                audio: None,
            },
        },
        DisplayStatus {
            visibility: Visibility::Hidden,
            reason: DisplayReason::Startup,
            since_ns: 0,
        },
        GameStats::default(),
    )
}

/// Every text egui drew in the last pass, with where.
#[derive(Resource, Default)]
struct DrawnTexts(Vec<(String, egui::Rect)>);

/// Every message of type `M` written so far.
#[derive(Resource)]
struct Written<M>(Vec<M>);

impl<M> Default for Written<M> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

fn record_texts(outputs: Query<&EguiFullOutput>, mut texts: ResMut<DrawnTexts>) {
    fn collect(shape: &egui::Shape, into: &mut Vec<(String, egui::Rect)>) {
        match shape {
            egui::Shape::Text(text) => {
                into.push((text.galley.text().to_owned(), shape.visual_bounding_rect()));
            }
            egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| collect(s, into)),
            _ => {}
        }
    }
    for output in &outputs {
        if let Some(output) = &output.0 {
            texts.0.clear();
            for clipped in &output.shapes {
                collect(&clipped.shape, &mut texts.0);
            }
        }
    }
}

fn record<M: Message + Clone>(mut messages: MessageReader<M>, mut written: ResMut<Written<M>>) {
    written.0.extend(messages.read().cloned());
}

/// The dashboard on a 1280×720 primary window, with games `alpha` (7) and
/// `beta` (8) connected and `alpha`, `gamma` configured.
fn dashboard_app() -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        WindowPlugin {
            primary_window: Some(Window {
                resolution: WindowResolution::new(1280, 720),
                ..default()
            }),
            exit_condition: ExitCondition::DontExit,
            close_when_requested: false,
            ..default()
        },
        InputPlugin,
    ))
    // What bevy_egui's render half needs when no renderer is there (as its own tests do).
    .init_resource::<Assets<Image>>()
    .init_resource::<Assets<Shader>>()
    .add_message::<AssetEvent<Image>>()
    .add_plugins(EguiPlugin::default())
    .insert_resource(HostSettings {
        games: ["alpha", "gamma"]
            .map(|name| ConfiguredGame {
                name: name.into(),
                program: format!("/nonexistent/{name}").into(),
                args: Vec::new(),
            })
            .into(),
        ..HostSettings::default()
    })
    .init_resource::<Streaming>()
    // One audience source, to a port where nothing listens.
    .insert_resource(Audience::start(
        &[
            format!("irc://127.0.0.1:{}/#test", livestream_testkit::free_port())
                .parse()
                .unwrap(),
        ],
        &livestream_interaction::SourceTls::new(None).unwrap(),
        16,
        16,
    ))
    .insert_resource(Children::new(PathBuf::from("/nonexistent.sock")))
    .init_resource::<DrawnTexts>()
    .init_resource::<Written<StreamCommand>>()
    .init_resource::<Written<DisplayCommand>>()
    .init_resource::<Written<LaunchGame>>()
    .init_resource::<Written<SettingsChosen>>()
    .add_systems(
        PostUpdate,
        record_texts
            .after(EguiPostUpdateSet::EndPass)
            .before(EguiPostUpdateSet::ProcessOutput),
    )
    .add_systems(
        Last,
        (
            record::<StreamCommand>,
            record::<DisplayCommand>,
            record::<LaunchGame>,
            record::<SettingsChosen>,
        ),
    );
    // Both halves of the dashboard in one app: the model and the clicks
    // cross the same link as between the host loop and the window.
    let link = DashboardLink::new(TerminationRequested::default());
    app.add_plugins((
        DashboardHostPlugin(link.clone()),
        DashboardWindowPlugin(link),
    ));
    app.world_mut().spawn(game(7, "alpha"));
    app.world_mut().spawn(game(8, "beta"));
    // A thumbnail for alpha: its texture is uploaded like in the window.
    let header = VideoFrameHeader::packed(PixelFormat::I420, 64, 36);
    app.world_mut().resource_mut::<FrameTap>().offer(
        7,
        &header,
        &vec![128; header.payload_len().unwrap()],
        false,
    );
    app.finish();
    app.cleanup();
    // Startup spawns the dashboard's camera; give it the window's size (there
    // is no renderer to compute it).
    app.update();
    let mut cameras = app.world_mut().query::<&mut Camera>();
    for mut camera in cameras.iter_mut(app.world_mut()) {
        camera.viewport = Some(Viewport {
            physical_size: UVec2::new(1280, 720),
            ..default()
        });
    }
    settle(&mut app);
    app
}

/// Whether the last frame drew a text containing `wanted`.
fn drawn(app: &App, wanted: &str) -> bool {
    let texts = &app.world().resource::<DrawnTexts>().0;
    texts.iter().any(|(text, _)| text.contains(wanted))
}

/// A few frames, so that layouts that need a second pass (grids) settle.
fn settle(app: &mut App) {
    for _ in 0..3 {
        app.update();
    }
}

/// Where egui drew `text`; with several, the first below `below` (a y position).
fn find(app: &App, text: &str, below: f32) -> egui::Rect {
    find_where(app, text, |rect| rect.top() > below)
}

/// Where egui drew `text` on the same line as `anchor` (a row's name).
fn find_beside(app: &App, text: &str, anchor: egui::Rect) -> egui::Rect {
    find_where(app, text, |rect| rect.y_range().contains(anchor.center().y))
}

fn find_where(app: &App, text: &str, wanted: impl Fn(&egui::Rect) -> bool) -> egui::Rect {
    let texts = &app.world().resource::<DrawnTexts>().0;
    texts
        .iter()
        .filter(|(drawn, rect)| drawn == text && wanted(rect))
        .min_by(|a, b| a.1.top().total_cmp(&b.1.top()))
        .map(|(_, rect)| *rect)
        .unwrap_or_else(|| {
            let all: Vec<_> = texts.iter().map(|(t, r)| (t.as_str(), r.top())).collect();
            panic!("{text:?} not drawn where expected; drawn: {all:?}")
        })
}

/// Moves the mouse onto `rect`, presses and releases the left button, one
/// frame each, through the window messages winit would write; then one more
/// frame for the host side to act on it.
fn click(app: &mut App, rect: egui::Rect) {
    let window = app
        .world_mut()
        .query_filtered::<Entity, With<PrimaryWindow>>()
        .single(app.world())
        .unwrap();
    let position = Vec2::new(rect.center().x, rect.center().y);
    let moved = CursorMoved {
        window,
        position,
        delta: None,
    };
    app.world_mut().write_message(moved.clone());
    app.world_mut()
        .write_message(WindowEvent::CursorMoved(moved));
    app.update();
    for state in [ButtonState::Pressed, ButtonState::Released] {
        let button = MouseButtonInput {
            button: MouseButton::Left,
            state,
            window,
        };
        app.world_mut().write_message(button);
        app.world_mut()
            .write_message(WindowEvent::MouseButtonInput(button));
        app.update();
    }
    // The host side takes the click on its next loop.
    app.update();
}

/// Types `text` into the focused field, a key press per character, as
/// winit reports them.
fn type_text(app: &mut App, text: &str) {
    let window = app
        .world_mut()
        .query_filtered::<Entity, With<PrimaryWindow>>()
        .single(app.world())
        .unwrap();
    for character in text.chars() {
        for state in [ButtonState::Pressed, ButtonState::Released] {
            let typed = character.to_string();
            app.world_mut().write_message(KeyboardInput {
                key_code: KeyCode::KeyA,
                logical_key: Key::Character(typed.as_str().into()),
                state,
                text: Some(typed.as_str().into()),
                repeat: false,
                window,
            });
            app.update();
        }
    }
}

fn written<M: Message + Clone>(app: &App) -> Vec<M> {
    app.world().resource::<Written<M>>().0.clone()
}

#[test]
fn go_live_with_the_microphone_then_stop() {
    let mut app = dashboard_app();
    let microphone = find(&app, "microphone", 0.0);
    click(&mut app, microphone);
    let go_live = find(&app, "Go live", 0.0);
    click(&mut app, go_live);
    assert_eq!(
        written::<StreamCommand>(&app),
        [StreamCommand::GoLive { mic: MicChoice::On }]
    );

    // While live, "Stop" is enabled (and "Go live" is not).
    app.world_mut().resource_mut::<Streaming>().phase = StreamPhase::Live;
    settle(&mut app);
    let go_live = find(&app, "Go live", 0.0);
    click(&mut app, go_live);
    let stop = find(&app, "Stop", 0.0);
    click(&mut app, stop);
    assert_eq!(
        written::<StreamCommand>(&app),
        [
            StreamCommand::GoLive { mic: MicChoice::On },
            StreamCommand::Stop
        ]
    );
}

#[test]
fn show_buttons_send_the_show_command_of_their_game() {
    let mut app = dashboard_app();
    let beta = find(&app, "beta", 0.0);
    let show_beta = find(&app, "Show", beta.bottom());
    click(&mut app, show_beta);
    assert_eq!(
        written::<DisplayCommand>(&app),
        [DisplayCommand::Show { game_id: 8 }]
    );

    // A configured game: "Bring to front" shows the connected game of its
    // name; "Start" is offered only for one that is not connected.
    let configured = find(&app, "Games in host.ron", 0.0);
    let alpha = find(&app, "alpha", configured.bottom());
    let front_alpha = find_beside(&app, "Bring to front", alpha);
    click(&mut app, front_alpha);
    let start_alpha = find_beside(&app, "Start", alpha);
    click(&mut app, start_alpha);
    let gamma = find(&app, "gamma", configured.bottom());
    let start_gamma = find_beside(&app, "Start", gamma);
    click(&mut app, start_gamma);
    assert_eq!(
        written::<DisplayCommand>(&app),
        [
            DisplayCommand::Show { game_id: 8 },
            DisplayCommand::Show { game_id: 7 }
        ]
    );
    assert_eq!(
        written::<LaunchGame>(&app),
        [LaunchGame {
            name: "gamma".into()
        }],
        "alpha is connected: its Start is disabled"
    );
    assert!(written::<StreamCommand>(&app).is_empty());
}

#[test]
fn the_model_reaches_the_screen() {
    let mut app = dashboard_app();
    app.world_mut()
        .resource_mut::<Audience>()
        .post_local(
            "ann",
            livestream_interaction::AudienceEventKind::Chat {
                text: "hello dashboard".into(),
            },
        )
        .unwrap();
    app.world_mut().resource_mut::<Streaming>().recordings = vec!["/v/show 1.mkv".into()];
    // The host's receive step moves posted events into the history.
    app.add_systems(Update, crate::audience::receive_audience);
    settle(&mut app);
    assert!(drawn(&app, "hello dashboard"), "the audience feed");
    assert!(drawn(&app, "idle"), "the stream phase");
    assert!(
        drawn(&app, "hidden (just connected)"),
        "a game's display status"
    );
    assert!(drawn(&app, "no frame yet"), "beta has sent no frame");
    assert!(drawn(&app, "/v/show 1.mkv"), "the session's recordings");
    assert!(drawn(&app, "irc://127.0.0.1:"), "the audience source");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !drawn(&app, "reconnecting (attempt") {
        assert!(
            std::time::Instant::now() < deadline,
            "the source's state on screen"
        );
        app.update();
    }
}

#[test]
fn the_window_closes_when_the_host_has_finished_and_stops_the_host_when_closed() {
    let stop = TerminationRequested::default();
    let link = DashboardLink::new(stop.clone());
    link.stop_host();
    assert!(
        stop.0.load(std::sync::atomic::Ordering::Acquire),
        "the stop flag"
    );

    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_systems(Update, super::close_when_host_finished)
        .insert_resource(link.clone());
    app.update();
    assert!(app.should_exit().is_none());
    link.mark_host_finished();
    app.update();
    assert_eq!(app.should_exit(), Some(AppExit::Success));
}

#[test]
fn the_settings_panel_sets_the_destination_and_quality_with_the_key_masked() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("config/bevy_livestream/host.ron");
    let mut app = dashboard_app();
    app.insert_resource(UserConfig(Some(saved.clone())))
        .add_systems(Update, apply_chosen_settings);
    settle(&mut app);
    assert!(
        drawn(&app, "Now: file:"),
        "Record only until a destination is set"
    );

    let twitch = find(&app, "Twitch", 0.0);
    click(&mut app, twitch);
    settle(&mut app);
    let key = find(&app, "Stream key", 0.0);
    click(&mut app, key.translate(egui::vec2(key.width() + 60.0, 0.0)));
    type_text(&mut app, "live_dash_key");
    settle(&mut app);
    assert!(!drawn(&app, "live_dash_key"), "the key is masked");

    let quality = find(&app, "720p, 30 fps, 2500 kbit/s", 0.0);
    click(&mut app, quality);
    settle(&mut app);
    let better = find(&app, "1080p, 30 fps, 4500 kbit/s", quality.top());
    click(&mut app, better);
    settle(&mut app);
    let save = find(&app, SAVE_SETTINGS, 0.0);
    click(&mut app, save);
    settle(&mut app);

    let chosen = written::<SettingsChosen>(&app);
    assert_eq!(chosen.len(), 1, "{chosen:?}");
    assert_eq!(
        chosen[0].destination,
        Some(StreamDestination::Twitch {
            key: "live_dash_key".into()
        })
    );
    assert_eq!(chosen[0].quality, Some(QUALITY_PRESETS[3].quality));
    let settings = app.world().resource::<HostSettings>();
    assert_eq!(
        (settings.width, settings.height, settings.fps),
        (1920, 1080, 30)
    );
    assert!(
        drawn(&app, "Now: rtmps://"),
        "the new destination, redacted"
    );
    assert!(!drawn(&app, "live_dash_key"), "the key is never drawn");
    let file = std::fs::read_to_string(&saved).unwrap();
    assert!(
        file.contains("live_dash_key") && file.contains("1920"),
        "{file}"
    );
}
