//! `demo-metronome`: a metronome that plays only with Bevy's own audio
//! (`bevy_audio`): a drone looped under a tick on every beat, the screen
//! flashing white with each tick. Its audio code is ordinary Bevy
//! (`AudioPlayer`, `PlaybackSettings`, `AudioSink`): nothing in it knows
//! about streaming, and `LiveStreamPlugin` puts the sound on the stream.
//!
//! The audience plays along: chat `pause` / `play` stops and restarts the
//! drone (through its `AudioSink`), `quiet` / `loud` sets its volume, and a
//! gift rings a chime. Space pauses and restarts the drone too.
//!
//! `demo-metronome [--headless] [--size WxH] [--fps N] [--duration SECONDS]`

mod wav;

use std::time::Duration;

use bevy::audio::Volume;
use bevy::prelude::*;
use bevy_livestream::prelude::*;
use demo_common::{Args, add_base_plugins, chat_words, hud_corner, hud_font};

/// The drone: A5 below the tick, quiet enough to talk over.
const DRONE_HZ: f32 = 660.0;
const DRONE_AMPLITUDE: f32 = 0.3;
/// The tick on every beat: a 30 ms burst at 2 kHz.
const TICK_HZ: f32 = 2_000.0;
const TICK_SECONDS: f32 = 0.03;
/// Loud, with the drone still under full scale.
const TICK_AMPLITUDE: f32 = 0.6;
/// The chime a gift rings.
const CHIME_HZ: f32 = 1_320.0;
/// Sample rate of the generated sounds: a CD's, not the mixer's, so the
/// plugin's conversion is exercised on every machine.
const SOUND_RATE: u32 = 44_100;
/// One beat a second; the screen stays white this long after each.
const BEAT: Duration = Duration::from_secs(1);
const FLASH: Duration = Duration::from_millis(100);
/// Volume of the drone after `quiet`.
const QUIET: f32 = 0.25;

const DARK: Color = Color::srgb(0.16, 0.10, 0.30);
const WHITE: Color = Color::WHITE;
const TEXT: Color = Color::srgb(0.95, 0.92, 1.0);

fn main() -> AppExit {
    let args = Args::parse_as("demo-metronome");
    let mut app = App::new();
    add_base_plugins(&mut app, &args, "Metronome");
    app.add_plugins((
        LiveStreamPlugin {
            settings: LiveStreamSettings {
                game_name: args.game_name("metronome"),
                audio_output: args.audio_output(),
                ..default()
            },
            ..default()
        },
        LiveStreamUiPlugin::default(),
    ))
    .insert_resource(ClearColor(DARK))
    .init_resource::<Beats>()
    .add_systems(Startup, setup)
    .add_systems(Update, (beat, follow_audience, follow_keys, update_hud))
    .run()
}

/// The sounds, made at start (a game would load files; these are generated
/// so the demo needs no assets).
#[derive(Resource)]
struct Sounds {
    tick: Handle<AudioSource>,
    chime: Handle<Pitch>,
}

/// The looped drone, whose `AudioSink` the audience controls.
#[derive(Component)]
struct Drone;

/// Beats so far, and when the current flash ends.
#[derive(Resource, Default)]
struct Beats {
    count: u64,
    flash_until: Duration,
}

/// The HUD line.
#[derive(Component)]
struct Hud;

fn setup(
    mut commands: Commands,
    mut sources: ResMut<Assets<AudioSource>>,
    mut pitches: ResMut<Assets<Pitch>>,
) {
    commands.spawn((Camera2d, Streamable));
    let drone = sources.add(AudioSource {
        bytes: wav::sine(SOUND_RATE, DRONE_HZ, DRONE_AMPLITUDE, 1.0).into(),
    });
    commands.spawn((AudioPlayer(drone), PlaybackSettings::LOOP, Drone));
    commands.insert_resource(Sounds {
        tick: sources.add(AudioSource {
            bytes: wav::sine(SOUND_RATE, TICK_HZ, TICK_AMPLITUDE, TICK_SECONDS).into(),
        }),
        chime: pitches.add(Pitch::new(CHIME_HZ, Duration::from_millis(400))),
    });
    commands.spawn((
        Text::default(),
        hud_font(6.0),
        TextColor(TEXT),
        Hud,
        hud_corner(true, true),
    ));
}

/// On every beat: a tick, and the screen white for [`FLASH`].
fn beat(
    time: Res<Time>,
    sounds: Res<Sounds>,
    mut beats: ResMut<Beats>,
    mut clear: ResMut<ClearColor>,
    mut commands: Commands,
) {
    let now = time.elapsed();
    let due = (now.as_nanos() / BEAT.as_nanos()) as u64;
    if due > beats.count {
        beats.count = due;
        beats.flash_until = now + FLASH;
        commands.spawn((AudioPlayer(sounds.tick.clone()), PlaybackSettings::DESPAWN));
    }
    let colour = if now < beats.flash_until { WHITE } else { DARK };
    if clear.0 != colour {
        clear.0 = colour;
    }
}

/// What the audience asks of the drone, and gifts' chimes.
fn follow_audience(
    mut messages: MessageReader<AudienceMessage>,
    mut drone: Query<&mut AudioSink, With<Drone>>,
    sounds: Res<Sounds>,
    mut commands: Commands,
) {
    for message in messages.read().filter(|m| !m.from_backlog) {
        match &message.event.kind {
            AudienceEventKind::Gift { .. } => {
                commands.spawn((AudioPlayer(sounds.chime.clone()), PlaybackSettings::DESPAWN));
            }
            AudienceEventKind::Chat { text } => {
                let Ok(mut sink) = drone.single_mut() else {
                    continue;
                };
                for word in chat_words(text) {
                    match word.as_str() {
                        "pause" => sink.pause(),
                        "play" => sink.play(),
                        "quiet" => sink.set_volume(Volume::Linear(QUIET)),
                        "loud" => sink.set_volume(Volume::Linear(1.0)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// Space pauses and restarts the drone.
fn follow_keys(keys: Option<Res<ButtonInput<KeyCode>>>, drone: Query<&AudioSink, With<Drone>>) {
    if keys.is_some_and(|keys| keys.just_pressed(KeyCode::Space))
        && let Ok(sink) = drone.single()
    {
        sink.toggle_playback();
    }
}

fn update_hud(
    beats: Res<Beats>,
    drone: Query<&AudioSink, With<Drone>>,
    mut hud: Query<&mut Text, With<Hud>>,
) {
    let state = match drone.single() {
        Ok(sink) if sink.is_paused() => "paused".to_owned(),
        Ok(sink) => format!("volume {:.2}", sink.volume().to_linear()),
        Err(_) => "starting".to_owned(),
    };
    let value = format!(
        "METRONOME  beat {}  drone {state}\nchat: pause / play / quiet / loud",
        beats.count
    );
    for mut text in &mut hud {
        if text.0 != value {
            text.0.clone_from(&value);
        }
    }
}
