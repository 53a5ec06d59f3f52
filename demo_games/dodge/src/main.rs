//! `demo-dodge`: a 3D dodge game on a blue lane, streamed with `bevy_livestream`.
//!
//! A/D or the arrow keys move the cube; blocks fly towards the camera; the
//! score is the time survived. Until a key is pressed (and again after a
//! while without one) an autopilot sidesteps, so a headless game still looks
//! alive. The audience plays along: a gift gives a shield (the next hit is
//! ignored), likes speed up the background particles, chat votes `left` /
//! `right` steer the autopilot (majority over 10 s) and `!spawn [left|right]`
//! throws a block.
//!
//! `demo-dodge [--headless] [--size WxH] [--fps N] [--duration SECONDS]`

mod lane;
mod scene;

use bevy::prelude::*;
use bevy_livestream::prelude::*;
use demo_common::{
    Args, AudienceCount, Pilot, Rng, Sfx, Sound, VoteTally, add_base_plugins, hud_font,
};
use lane::{
    Command, LANE_HALF, PLAYER_SPEED, SPAWN_Z, Side, autopilot_target, difficulty, hits,
    parse_command,
};
use scene::{
    BEHIND_Z, Hud, LaneMaterial, Obstacle, Palette, Particle, Player, ScenePlugin, ShieldGlow,
    TEXT, spawn_obstacle,
};

const VOTE_WINDOW_SECS: f32 = 10.0;
const LIKE_BOOST_SECS: f32 = 2.0;
const RESTART_SECS: f32 = 1.0;
const MILESTONE_SECS: f32 = 10.0;
/// The autopilot rethinks this often, except for an occasional lapse of
/// attention: skilled, but it crashes now and then, so viewers see restarts.
const REACTION_SECS: f32 = 0.3;
const LAPSE_SECS: f32 = 1.2;
const LAPSE_CHANCE: f32 = 0.04;

fn main() -> AppExit {
    let args = Args::parse_as("demo-dodge");
    let mut app = App::new();
    add_base_plugins(&mut app, &args, "Dodge");
    // Live streaming: this plugin, and `Streamable` on the camera (in `setup`).
    app.add_plugins(LiveStreamPlugin {
        settings: LiveStreamSettings {
            game_name: args.game_name("dodge"),
            audio_output: args.audio_output(),
            ..default()
        },
        ..default()
    });
    // The ready-made Go-live button and audience overlay (never streamed).
    app.add_plugins(LiveStreamUiPlugin::default());
    app.add_plugins(ScenePlugin)
        .init_state::<Phase>()
        .init_resource::<Survival>()
        .init_resource::<Shield>()
        .init_resource::<Boost>()
        .init_resource::<Autopilot>()
        .insert_resource(Votes {
            tally: VoteTally::new(VOTE_WINDOW_SECS),
            preferred: None,
        })
        .insert_resource(CrashTimer(Timer::from_seconds(
            RESTART_SECS,
            TimerMode::Once,
        )))
        .add_systems(
            Update,
            (
                move_player,
                spawn_obstacles,
                move_obstacles,
                check_hits,
                tick_survival,
                scroll_lane,
            )
                .chain()
                .run_if(in_state(Phase::Playing)),
        )
        .add_systems(
            Update,
            (
                react_to_audience,
                apply_side_votes,
                move_particles,
                show_shield,
                update_hud,
            )
                .chain(),
        )
        .add_systems(OnEnter(Phase::Crashed), show_crash)
        .add_systems(
            Update,
            (flash_player, restart)
                .chain()
                .run_if(in_state(Phase::Crashed)),
        )
        .run()
}

/// Playing, or the second after a crash.
#[derive(States, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
enum Phase {
    #[default]
    Playing,
    Crashed,
}

/// Time survived in this run and the best run; also drives the difficulty.
#[derive(Resource, Default)]
struct Survival {
    secs: f32,
    best: f32,
    next_spawn: f32,
}

/// A gift's shield: the next hit is ignored.
#[derive(Resource, Default)]
struct Shield(bool);

/// Likes speed up the background particles until this time.
#[derive(Resource, Default)]
struct Boost {
    until_secs: f32,
}

/// The chat's `left` / `right` votes and the side that won the last window.
#[derive(Resource)]
struct Votes {
    tally: VoteTally<Side>,
    preferred: Option<Side>,
}

/// Where the autopilot is heading, and when it looks again.
#[derive(Resource, Default)]
struct Autopilot {
    target_x: f32,
    rethink_at: f32,
}

/// The pause after a crash.
#[derive(Resource)]
struct CrashTimer(Timer);

fn move_player(
    keys: Res<ButtonInput<KeyCode>>,
    time: Res<Time>,
    pilot: Res<Pilot>,
    votes: Res<Votes>,
    survival: Res<Survival>,
    mut autopilot: ResMut<Autopilot>,
    mut rng: ResMut<Rng>,
    obstacles: Query<&Transform, (With<Obstacle>, Without<Player>)>,
    mut player: Single<&mut Transform, With<Player>>,
) {
    let now = time.elapsed_secs();
    let max_step = PLAYER_SPEED * time.delta_secs();
    let x = player.translation.x;
    let step = if pilot.autopilot(now) {
        if now >= autopilot.rethink_at {
            let ahead: Vec<Vec2> = obstacles
                .iter()
                .map(|t| Vec2::new(t.translation.x, t.translation.z))
                .collect();
            let preferred = votes.preferred.map_or(0.0, Side::x);
            let (_, speed) = difficulty(survival.secs);
            autopilot.target_x = autopilot_target(x, &ahead, speed, preferred);
            let lapse = rng.unit() < LAPSE_CHANCE;
            autopilot.rethink_at = now + if lapse { LAPSE_SECS } else { REACTION_SECS };
        }
        (autopilot.target_x - x).clamp(-max_step, max_step)
    } else {
        let left = keys.any_pressed([KeyCode::ArrowLeft, KeyCode::KeyA]);
        let right = keys.any_pressed([KeyCode::ArrowRight, KeyCode::KeyD]);
        (f32::from(u8::from(right)) - f32::from(u8::from(left))) * max_step
    };
    player.translation.x = (x + step).clamp(-LANE_HALF, LANE_HALF);
    // Lean into the move.
    player.rotation = Quat::from_rotation_z(-step / max_step.max(1e-6) * 0.25);
}

fn spawn_obstacles(
    mut commands: Commands,
    mut survival: ResMut<Survival>,
    mut rng: ResMut<Rng>,
    palette: Res<Palette>,
) {
    if survival.secs >= survival.next_spawn {
        let (interval, _) = difficulty(survival.secs);
        survival.next_spawn = survival.secs + interval * (0.7 + 0.6 * rng.unit());
        spawn_obstacle(
            &mut commands,
            &palette,
            (rng.unit() * 2.0 - 1.0) * LANE_HALF,
        );
    }
}

fn move_obstacles(
    mut commands: Commands,
    time: Res<Time>,
    survival: Res<Survival>,
    mut obstacles: Query<(Entity, &mut Transform), With<Obstacle>>,
) {
    let (_, speed) = difficulty(survival.secs);
    for (entity, mut transform) in &mut obstacles {
        transform.translation.z += speed * time.delta_secs();
        transform.rotate_y(time.delta_secs() * 1.5);
        if transform.translation.z > BEHIND_Z {
            commands.entity(entity).despawn();
        }
    }
}

fn check_hits(
    mut commands: Commands,
    player: Single<&Transform, With<Player>>,
    obstacles: Query<(Entity, &Transform), With<Obstacle>>,
    mut shield: ResMut<Shield>,
    mut sfx: Sfx,
    mut phase: ResMut<NextState<Phase>>,
) {
    for (entity, transform) in &obstacles {
        let at = Vec2::new(transform.translation.x, transform.translation.z);
        if !hits(player.translation.x, at) {
            continue;
        }
        if shield.0 {
            shield.0 = false;
            commands.entity(entity).despawn();
            sfx.play(Sound::Eat);
        } else {
            sfx.play(Sound::Hit);
            phase.set(Phase::Crashed);
            return;
        }
    }
}

fn tick_survival(time: Res<Time>, mut survival: ResMut<Survival>, mut sfx: Sfx) {
    let before = survival.secs;
    survival.secs += time.delta_secs();
    survival.best = survival.best.max(survival.secs);
    if (survival.secs / MILESTONE_SECS).floor() > (before / MILESTONE_SECS).floor() {
        sfx.play(Sound::Eat);
    }
}

/// Gifts give a shield, likes speed up the particles, chat votes and
/// throws blocks. Events from the backlog happened before this game
/// joined: counted, not played.
fn react_to_audience(
    mut commands: Commands,
    mut events: MessageReader<AudienceMessage>,
    time: Res<Time>,
    palette: Res<Palette>,
    mut rng: ResMut<Rng>,
    mut shield: ResMut<Shield>,
    mut boost: ResMut<Boost>,
    mut votes: ResMut<Votes>,
    mut sfx: Sfx,
) {
    let now = time.elapsed_secs();
    for message in events.read().filter(|m| !m.from_backlog) {
        match &message.event.kind {
            AudienceEventKind::Gift { .. } => {
                shield.0 = true;
                sfx.play(Sound::Gift);
            }
            AudienceEventKind::Like { .. } => boost.until_secs = now + LIKE_BOOST_SECS,
            AudienceEventKind::Chat { text } => match parse_command(text) {
                Some(Command::Vote(side)) => votes.tally.cast(side, now),
                Some(Command::Spawn(side)) => {
                    let x = side.map_or_else(|| (rng.unit() * 2.0 - 1.0) * LANE_HALF, Side::x);
                    spawn_obstacle(&mut commands, &palette, x);
                }
                None => {}
            },
            _ => {}
        }
    }
}

fn apply_side_votes(time: Res<Time>, mut votes: ResMut<Votes>) {
    if let Some(side) = votes.tally.close_if_due(time.elapsed_secs()) {
        votes.preferred = Some(side);
    }
}

fn scroll_lane(
    time: Res<Time>,
    survival: Res<Survival>,
    palette: Res<Palette>,
    mut lanes: ResMut<Assets<LaneMaterial>>,
) {
    if let Some(mut lane) = lanes.get_mut(&palette.lane) {
        let (_, speed) = difficulty(survival.secs);
        // Wrap well before f32 loses precision; the dashes repeat every 4 units.
        lane.lane.scroll = (lane.lane.scroll + speed * time.delta_secs()) % 400.0;
    }
}

fn move_particles(
    time: Res<Time>,
    survival: Res<Survival>,
    boost: Res<Boost>,
    mut particles: Query<&mut Transform, With<Particle>>,
) {
    let (_, speed) = difficulty(survival.secs);
    let boost = if time.elapsed_secs() < boost.until_secs {
        3.0
    } else {
        1.0
    };
    let step = (speed + 8.0) * boost * time.delta_secs();
    for mut transform in &mut particles {
        transform.translation.z += step;
        if transform.translation.z > BEHIND_Z {
            transform.translation.z -= BEHIND_Z - SPAWN_Z;
        }
    }
}

fn show_shield(
    time: Res<Time>,
    shield: Res<Shield>,
    glow: Single<(&mut Visibility, &mut Transform), With<ShieldGlow>>,
) {
    let (mut visibility, mut transform) = glow.into_inner();
    visibility.set_if_neq(if shield.0 {
        Visibility::Inherited
    } else {
        Visibility::Hidden
    });
    if shield.0 {
        transform.scale = Vec3::splat(1.0 + 0.08 * (time.elapsed_secs() * 8.0).sin());
    }
}

fn show_crash(mut commands: Commands, mut timer: ResMut<CrashTimer>) {
    timer.0.reset();
    commands.spawn((
        DespawnOnExit(Phase::Crashed),
        Node {
            width: Val::Percent(100.0),
            height: Val::Percent(100.0),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            ..default()
        },
        children![(Text::new("CRASH!"), hud_font(14.0), TextColor(TEXT))],
    ));
}

/// The player blinks white while the crash lasts.
fn flash_player(
    timer: Res<CrashTimer>,
    palette: Res<Palette>,
    mut player: Single<&mut MeshMaterial3d<StandardMaterial>, With<Player>>,
) {
    let on = ((timer.0.elapsed_secs() * 10.0) as u32).is_multiple_of(2);
    let material = if on { &palette.flash } else { &palette.player };
    if player.0 != *material {
        player.0 = material.clone();
    }
}

fn restart(
    mut commands: Commands,
    time: Res<Time>,
    mut timer: ResMut<CrashTimer>,
    mut survival: ResMut<Survival>,
    palette: Res<Palette>,
    obstacles: Query<Entity, With<Obstacle>>,
    player: Single<(&mut Transform, &mut MeshMaterial3d<StandardMaterial>), With<Player>>,
    mut phase: ResMut<NextState<Phase>>,
) {
    if !timer.0.tick(time.delta()).just_finished() {
        return;
    }
    for entity in &obstacles {
        commands.entity(entity).despawn();
    }
    let (mut transform, mut material) = player.into_inner();
    transform.translation.x = 0.0;
    material.0 = palette.player.clone();
    survival.secs = 0.0;
    survival.next_spawn = 0.5;
    phase.set(Phase::Playing);
}

fn update_hud(
    time: Res<Time>,
    survival: Res<Survival>,
    shield: Res<Shield>,
    votes: Res<Votes>,
    pilot: Res<Pilot>,
    audience: Res<AudienceCount>,
    mut texts: Query<(&mut Text, &Hud)>,
) {
    for (mut text, hud) in &mut texts {
        let value = match hud {
            Hud::Score => format!("DODGE  {:.1} s  best {:.1} s", survival.secs, survival.best),
            Hud::Shield => format!(
                "shield {}  left {} : right {}",
                if shield.0 { "ON" } else { "off" },
                votes.tally.count(Side::Left),
                votes.tally.count(Side::Right),
            ),
            Hud::Pilot if pilot.autopilot(time.elapsed_secs()) => {
                "AUTOPILOT (A/D or arrows to play)".to_owned()
            }
            Hud::Pilot => String::new(),
            Hud::Audience => format!("audience {} (+{} earlier)", audience.live, audience.backlog),
        };
        if text.0 != value {
            text.0 = value;
        }
    }
}
