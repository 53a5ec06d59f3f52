//! `demo-snake`: a 2D snake on a green grid, streamed with `bevy_livestream`.
//!
//! Arrow keys or WASD steer; until a key is pressed (and again after a while
//! without one) an autopilot plays, so a headless game still looks alive.
//! The audience plays along: a gift drops golden food (worth 5), and chat
//! votes `faster` / `slower` change the speed (majority over 10 s).
//!
//! `demo-snake [--headless] [--size WxH] [--fps N] [--duration SECONDS]`

mod grid;

use std::ops::RangeInclusive;
use std::time::Duration;

use bevy::camera::ScalingMode;
use bevy::prelude::*;
use bevy::render::view::Msaa;
use bevy_livestream::prelude::*;
use demo_common::{
    Args, AudienceCount, Pilot, Rng, Sfx, Sound, VoteTally, add_base_plugins, chat_words,
    hud_corner, hud_font,
};
use grid::{Board, Dir, HEIGHT, Step, WIDTH};

const BACKGROUND: Color = Color::srgb(0.12, 0.62, 0.22);
const BOARD: Color = Color::srgb(0.10, 0.55, 0.19);
const WALL: Color = Color::srgb(0.05, 0.36, 0.11);
const HEAD: Color = Color::srgb(1.0, 1.0, 0.9);
const BODY: Color = Color::srgb(0.86, 0.9, 0.74);
const FOOD: Color = Color::srgb(0.92, 0.16, 0.14);
const GOLD: Color = Color::srgb(1.0, 0.8, 0.1);
const TEXT: Color = Color::srgb(0.95, 1.0, 0.95);
/// The board's centre sits this far below the view's centre, leaving room for the HUD.
const BOARD_DROP: f32 = 1.5;
const SPEEDS: RangeInclusive<u32> = 1..=8;
const START_SPEED: u32 = 4;
const VOTE_WINDOW_SECS: f32 = 10.0;
const RESTART_SECS: f32 = 1.5;

fn main() -> AppExit {
    let args = Args::parse_as("demo-snake");
    let mut app = App::new();
    add_base_plugins(&mut app, &args, "Snake");
    // Live streaming: this plugin, and `Streamable` on the camera (in `setup`).
    app.add_plugins(LiveStreamPlugin {
        settings: LiveStreamSettings {
            game_name: args.game_name("snake"),
            audio_output: args.audio_output(),
            ..default()
        },
        ..default()
    });
    // The ready-made Go-live button and audience overlay (never streamed).
    app.add_plugins(LiveStreamUiPlugin::default());
    app.insert_resource(ClearColor(BACKGROUND))
        .init_state::<Phase>()
        .insert_resource(Speed {
            level: START_SPEED,
            votes: VoteTally::new(VOTE_WINDOW_SECS),
        })
        .insert_resource(StepTimer(Timer::new(
            step_interval(START_SPEED),
            TimerMode::Repeating,
        )))
        .insert_resource(RestartTimer(Timer::from_seconds(
            RESTART_SECS,
            TimerMode::Once,
        )))
        .init_resource::<Best>()
        .add_systems(Startup, setup)
        .add_systems(
            Update,
            (steer, advance).chain().run_if(in_state(Phase::Playing)),
        )
        .add_systems(
            Update,
            (
                react_to_audience,
                apply_speed_votes,
                draw_board.run_if(resource_changed::<Game>),
                pulse_golden,
                update_hud,
            )
                .chain(),
        )
        .add_systems(OnEnter(Phase::Over), show_game_over)
        .add_systems(Update, restart.run_if(in_state(Phase::Over)))
        .run()
}

/// Playing, or the pause after a crash.
#[derive(States, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
enum Phase {
    #[default]
    Playing,
    Over,
}

/// The game on the board.
#[derive(Resource, Deref, DerefMut)]
struct Game(Board);

/// Best score since start.
#[derive(Resource, Default)]
struct Best(u32);

/// Speed level and the audience's votes on it.
#[derive(Resource)]
struct Speed {
    level: u32,
    votes: VoteTally<SpeedVote>,
}

/// Time between two steps of the snake.
#[derive(Resource)]
struct StepTimer(Timer);

/// The pause between a crash and the next game.
#[derive(Resource)]
struct RestartTimer(Timer);

/// A chat vote on the speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpeedVote {
    Faster,
    Slower,
}

/// `faster` / `slower` (any case, `!` allowed) as the chat line's first word.
fn parse_vote(text: &str) -> Option<SpeedVote> {
    match chat_words(text).next()?.as_str() {
        "faster" => Some(SpeedVote::Faster),
        "slower" => Some(SpeedVote::Slower),
        _ => None,
    }
}

/// The speed level after a vote, kept within [`SPEEDS`].
fn vote_level(level: u32, vote: SpeedVote) -> u32 {
    let level = match vote {
        SpeedVote::Faster => level + 1,
        SpeedVote::Slower => level.saturating_sub(1),
    };
    level.clamp(*SPEEDS.start(), *SPEEDS.end())
}

/// Time per step at a speed level: 0.31 s at 1 down to 0.10 s at 8.
fn step_interval(level: u32) -> Duration {
    Duration::from_millis(340 - 30 * u64::from(level))
}

/// Anything drawn for one cell of the board; redrawn when the game changes.
#[derive(Component)]
struct Cell;

/// Golden food, which pulses.
#[derive(Component)]
struct Golden;

/// HUD texts.
#[derive(Component)]
enum Hud {
    Score,
    Speed,
    Pilot,
    Audience,
}

/// World position of a grid cell (one world unit per cell).
fn cell_position(cell: IVec2, z: f32) -> Vec3 {
    Vec3::new(
        cell.x as f32 - (WIDTH - 1) as f32 / 2.0,
        cell.y as f32 - (HEIGHT - 1) as f32 / 2.0 - BOARD_DROP,
        z,
    )
}

fn setup(mut commands: Commands, mut rng: ResMut<Rng>, mut sfx: Sfx) {
    commands.insert_resource(Game(Board::new(&mut rng)));
    commands.spawn((
        Camera2d,
        Projection::Orthographic(OrthographicProjection {
            scaling_mode: ScalingMode::AutoMin {
                min_width: WIDTH as f32 + 2.0,
                min_height: HEIGHT as f32 + 2.0 * BOARD_DROP + 2.0,
            },
            ..OrthographicProjection::default_2d()
        }),
        Msaa::Off,
        // The game's picture (with its HUD) is what viewers see.
        Streamable,
    ));
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    commands.spawn((
        Sprite::from_color(WALL, Vec2::new(w + 1.0, h + 1.0)),
        Transform::from_xyz(0.0, -BOARD_DROP, 0.0),
    ));
    commands.spawn((
        Sprite::from_color(BOARD, Vec2::new(w, h)),
        Transform::from_xyz(0.0, -BOARD_DROP, 0.1),
    ));

    let text = |hud: Hud, node: Node| (Text::default(), hud_font(4.5), TextColor(TEXT), hud, node);
    commands.spawn(text(Hud::Score, hud_corner(true, true)));
    commands.spawn(text(Hud::Speed, hud_corner(true, false)));
    commands.spawn(text(Hud::Pilot, hud_corner(false, true)));
    commands.spawn(text(Hud::Audience, hud_corner(false, false)));

    sfx.loop_music("music_snake.wav");
}

fn steer(keys: Res<ButtonInput<KeyCode>>, mut game: ResMut<Game>) {
    const KEYS: [(KeyCode, KeyCode, Dir); 4] = [
        (KeyCode::ArrowUp, KeyCode::KeyW, Dir::Up),
        (KeyCode::ArrowDown, KeyCode::KeyS, Dir::Down),
        (KeyCode::ArrowLeft, KeyCode::KeyA, Dir::Left),
        (KeyCode::ArrowRight, KeyCode::KeyD, Dir::Right),
    ];
    for (arrow, letter, dir) in KEYS {
        if keys.any_just_pressed([arrow, letter]) {
            game.turn(dir);
        }
    }
}

fn advance(
    time: Res<Time>,
    pilot: Res<Pilot>,
    mut timer: ResMut<StepTimer>,
    mut game: ResMut<Game>,
    mut rng: ResMut<Rng>,
    mut best: ResMut<Best>,
    mut sfx: Sfx,
    mut phase: ResMut<NextState<Phase>>,
) {
    timer.0.tick(time.delta());
    let autopilot = pilot.autopilot(time.elapsed_secs());
    for _ in 0..timer.0.times_finished_this_tick() {
        if autopilot {
            let dir = game.autopilot();
            game.turn(dir);
        }
        match game.step(&mut rng) {
            Step::Moved => {}
            Step::Ate { golden: false } => sfx.play(Sound::Eat),
            Step::Ate { golden: true } => sfx.play(Sound::Gift),
            Step::Crashed => {
                sfx.play(Sound::Hit);
                phase.set(Phase::Over);
                break;
            }
        }
        best.0 = best.0.max(game.score);
    }
}

/// Gifts drop golden food; chat lines are speed votes. Events from the
/// backlog happened before this game joined: counted, not played.
fn react_to_audience(
    mut events: MessageReader<AudienceMessage>,
    time: Res<Time>,
    mut game: ResMut<Game>,
    mut rng: ResMut<Rng>,
    mut speed: ResMut<Speed>,
    mut sfx: Sfx,
) {
    for message in events.read().filter(|m| !m.from_backlog) {
        match &message.event.kind {
            AudienceEventKind::Gift { count, .. } => {
                for _ in 0..(*count).clamp(1, 3) {
                    game.add_golden(&mut rng);
                }
                sfx.play(Sound::Gift);
            }
            AudienceEventKind::Chat { text } => {
                if let Some(vote) = parse_vote(text) {
                    speed.votes.cast(vote, time.elapsed_secs());
                }
            }
            _ => {}
        }
    }
}

fn apply_speed_votes(time: Res<Time>, mut speed: ResMut<Speed>, mut timer: ResMut<StepTimer>) {
    if let Some(vote) = speed.votes.close_if_due(time.elapsed_secs()) {
        speed.level = vote_level(speed.level, vote);
        timer.0.set_duration(step_interval(speed.level));
    }
}

fn draw_board(mut commands: Commands, game: Res<Game>, cells: Query<Entity, With<Cell>>) {
    for entity in &cells {
        commands.entity(entity).despawn();
    }
    for (i, &cell) in game.snake.iter().enumerate() {
        let (color, size) = if i == 0 { (HEAD, 0.95) } else { (BODY, 0.85) };
        commands.spawn((
            Cell,
            Sprite::from_color(color, Vec2::splat(size)),
            Transform::from_translation(cell_position(cell, 2.0)),
        ));
    }
    if let Some(food) = game.food {
        commands.spawn((
            Cell,
            Sprite::from_color(FOOD, Vec2::splat(0.7)),
            Transform::from_translation(cell_position(food, 1.0)),
        ));
    }
    for &cell in &game.golden {
        commands.spawn((
            Cell,
            Golden,
            Sprite::from_color(GOLD, Vec2::splat(0.7)),
            Transform::from_translation(cell_position(cell, 1.0)),
        ));
    }
}

fn pulse_golden(time: Res<Time>, mut golden: Query<&mut Transform, With<Golden>>) {
    let t = time.elapsed_secs();
    for mut transform in &mut golden {
        transform.rotation = Quat::from_rotation_z(t * 2.0);
        transform.scale = Vec3::splat(1.0 + 0.15 * (t * 6.0).sin());
    }
}

fn show_game_over(mut commands: Commands, mut timer: ResMut<RestartTimer>) {
    timer.0.reset();
    commands.spawn((
        DespawnOnExit(Phase::Over),
        Node {
            width: Val::Percent(100.0),
            height: Val::Percent(100.0),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            ..default()
        },
        children![(Text::new("GAME OVER"), hud_font(14.0), TextColor(TEXT))],
    ));
}

fn restart(
    time: Res<Time>,
    mut timer: ResMut<RestartTimer>,
    mut game: ResMut<Game>,
    mut rng: ResMut<Rng>,
    mut phase: ResMut<NextState<Phase>>,
) {
    if timer.0.tick(time.delta()).just_finished() {
        game.0 = Board::new(&mut rng);
        phase.set(Phase::Playing);
    }
}

fn update_hud(
    time: Res<Time>,
    game: Res<Game>,
    best: Res<Best>,
    speed: Res<Speed>,
    pilot: Res<Pilot>,
    audience: Res<AudienceCount>,
    mut texts: Query<(&mut Text, &Hud)>,
) {
    for (mut text, hud) in &mut texts {
        let value = match hud {
            Hud::Score => format!("SNAKE  score {}  best {}", game.score, best.0),
            Hud::Speed => format!(
                "speed {}/{}  faster {} : slower {}",
                speed.level,
                SPEEDS.end(),
                speed.votes.count(SpeedVote::Faster),
                speed.votes.count(SpeedVote::Slower),
            ),
            Hud::Pilot if pilot.autopilot(time.elapsed_secs()) => {
                "AUTOPILOT (arrows/WASD to play)".to_owned()
            }
            Hud::Pilot => String::new(),
            Hud::Audience => format!("audience {} (+{} earlier)", audience.live, audience.backlog),
        };
        if text.0 != value {
            text.0 = value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_votes_on_the_speed() {
        assert_eq!(parse_vote("faster"), Some(SpeedVote::Faster));
        assert_eq!(parse_vote(" !SLOWER please"), Some(SpeedVote::Slower));
        assert_eq!(parse_vote("go faster"), None);
        assert_eq!(parse_vote(""), None);
    }

    #[test]
    fn speed_stays_within_bounds() {
        assert_eq!(vote_level(4, SpeedVote::Faster), 5);
        assert_eq!(vote_level(*SPEEDS.end(), SpeedVote::Faster), *SPEEDS.end());
        assert_eq!(
            vote_level(*SPEEDS.start(), SpeedVote::Slower),
            *SPEEDS.start()
        );
        assert!(step_interval(*SPEEDS.end()) < step_interval(*SPEEDS.start()));
        assert!(step_interval(*SPEEDS.end()) >= Duration::from_millis(100));
    }
}
