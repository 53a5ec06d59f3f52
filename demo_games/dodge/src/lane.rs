//! The rules of dodge, without Bevy's renderer: the lane, collisions,
//! difficulty, chat commands and the attract-mode autopilot.
//!
//! Positions are `(x, z)` on the lane: x across (left is negative), z along
//! it; obstacles start far away (negative z) and fly towards the player.

use bevy::math::Vec2;
use demo_common::chat_words;

/// Half the width the player can move in.
pub const LANE_HALF: f32 = 3.0;
/// Where the player stands along the lane.
pub const PLAYER_Z: f32 = 0.0;
/// Half the player's size (a cube).
pub const PLAYER_HALF: f32 = 0.4;
/// Half an obstacle's size (a cube).
pub const OBSTACLE_HALF: f32 = 0.5;
/// Where obstacles appear.
pub const SPAWN_Z: f32 = -60.0;
/// Sideways speed of the player, units per second.
pub const PLAYER_SPEED: f32 = 7.0;
/// How far ahead the autopilot looks.
const HORIZON: f32 = 30.0;

/// A side of the lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Negative x.
    Left,
    /// Positive x.
    Right,
}

impl Side {
    /// The middle of this side's half of the lane.
    pub fn x(self) -> f32 {
        match self {
            Side::Left => -LANE_HALF * 2.0 / 3.0,
            Side::Right => LANE_HALF * 2.0 / 3.0,
        }
    }
}

/// What a chat line asks of the game.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `left` / `right`: a vote on where the autopilot prefers to be.
    Vote(Side),
    /// `!spawn [left|right]`: an obstacle now, on that side (else anywhere).
    Spawn(Option<Side>),
}

/// Reads a chat line: `left`, `right`, `!spawn`, `!spawn left`, `!spawn right`.
pub fn parse_command(text: &str) -> Option<Command> {
    let mut words = chat_words(text);
    let side = |word: Option<String>| match word.as_deref() {
        Some("left") => Some(Side::Left),
        Some("right") => Some(Side::Right),
        _ => None,
    };
    let first = words.next()?;
    if first == "spawn" && text.trim_start().starts_with('!') {
        return Some(Command::Spawn(side(words.next())));
    }
    side(Some(first)).map(Command::Vote)
}

/// Whether the player at `player_x` touches an obstacle at `obstacle`.
pub fn hits(player_x: f32, obstacle: Vec2) -> bool {
    let reach = PLAYER_HALF + OBSTACLE_HALF;
    (player_x - obstacle.x).abs() < reach && (PLAYER_Z - obstacle.y).abs() < reach
}

/// Seconds between obstacles and their speed, after `secs` survived.
pub fn difficulty(secs: f32) -> (f32, f32) {
    let interval = (0.9 - 0.012 * secs).max(0.35);
    let speed = (12.0 + 0.25 * secs).min(26.0);
    (interval, speed)
}

/// Where the autopilot wants the player: the x with the most clear road
/// ahead, preferring short moves and the side the chat voted for.
/// Obstacles move at `speed` units per second.
pub fn autopilot_target(player_x: f32, obstacles: &[Vec2], speed: f32, preferred_x: f32) -> f32 {
    let reach = PLAYER_HALF + OBSTACLE_HALF + 0.15;
    // How far ahead the road is clear along the column at `x`.
    let clear_ahead = |x: f32| {
        obstacles
            .iter()
            .filter(|o| (o.x - x).abs() < reach)
            .map(|o| PLAYER_Z - o.y)
            .filter(|d| *d > -reach)
            .fold(HORIZON, f32::min)
    };
    (0..=24)
        .map(|i| -LANE_HALF + LANE_HALF * 2.0 * i as f32 / 24.0)
        .map(|x| {
            // Moving there sweeps the columns in between: the closest obstacle on the way counts.
            let steps = ((x - player_x).abs() / 0.25).ceil() as usize;
            let path_clear = (0..=steps)
                .map(|s| player_x + (x - player_x) * s as f32 / steps.max(1) as f32)
                .map(|px| {
                    // An obstacle that arrives after the player has moved past is no danger.
                    let time = (px - player_x).abs() / PLAYER_SPEED;
                    let d = clear_ahead(px);
                    if d > 2.0 + time * speed { HORIZON } else { d }
                })
                .fold(HORIZON, f32::min);
            let clear = clear_ahead(x).min(path_clear);
            let score = clear - 0.3 * (x - player_x).abs() - 0.5 * (x - preferred_x).abs();
            (x, score)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(player_x, |(x, _)| x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collisions_on_the_lane() {
        assert!(hits(0.0, Vec2::new(0.0, 0.0)));
        assert!(hits(0.8, Vec2::new(0.0, -0.8)));
        assert!(!hits(1.0, Vec2::new(0.0, 0.0)), "side by side");
        assert!(!hits(0.0, Vec2::new(0.0, -1.0)), "just ahead");
        assert!(!hits(0.0, Vec2::new(0.0, 5.0)), "passed");
    }

    #[test]
    fn chat_commands() {
        assert_eq!(parse_command("left"), Some(Command::Vote(Side::Left)));
        assert_eq!(parse_command(" RIGHT!"), None);
        assert_eq!(parse_command("Right now"), Some(Command::Vote(Side::Right)));
        assert_eq!(parse_command("!spawn"), Some(Command::Spawn(None)));
        assert_eq!(
            parse_command("!spawn left"),
            Some(Command::Spawn(Some(Side::Left)))
        );
        assert_eq!(parse_command("spawn left"), None, "commands need the !");
        assert_eq!(parse_command("hello"), None);
    }

    #[test]
    fn difficulty_rises_within_bounds() {
        let (i0, s0) = difficulty(0.0);
        let (i1, s1) = difficulty(30.0);
        assert!(i1 < i0 && s1 > s0);
        let (i, s) = difficulty(10_000.0);
        assert!(i >= 0.35 && s <= 26.0);
    }

    #[test]
    fn autopilot_sidesteps_the_obstacle_ahead() {
        let target = autopilot_target(0.0, &[Vec2::new(0.0, -8.0)], 12.0, 0.0);
        assert!(target.abs() >= PLAYER_HALF + OBSTACLE_HALF, "{target}");
    }

    #[test]
    fn autopilot_follows_the_vote_on_a_clear_road() {
        let target = autopilot_target(0.0, &[], 12.0, Side::Right.x());
        assert!((target - Side::Right.x()).abs() < 0.2, "{target}");
        // Obstacles past the player are no danger.
        let target = autopilot_target(0.0, &[Vec2::new(0.0, 3.0)], 12.0, 0.0);
        assert!(target.abs() < 0.2, "{target}");
    }

    #[test]
    fn autopilot_picks_the_open_side() {
        let wall: Vec<Vec2> = [-3.0, -2.0, -1.0, 0.0]
            .iter()
            .map(|&x| Vec2::new(x, -10.0))
            .collect();
        let target = autopilot_target(0.0, &wall, 12.0, Side::Left.x());
        assert!(target > 0.9, "{target}");
    }

    #[test]
    fn autopilot_survives_a_stream_of_obstacles() {
        let mut rng = demo_common::Rng::new(11);
        let (mut x, mut obstacles, mut next_spawn) = (0.0_f32, Vec::<Vec2>::new(), 0.0);
        let dt = 1.0 / 30.0;
        let mut crashes = 0;
        for frame in 0..(30 * 60) {
            let t = frame as f32 * dt;
            let (interval, speed) = difficulty(t.min(20.0));
            if t >= next_spawn {
                obstacles.push(Vec2::new((rng.unit() * 2.0 - 1.0) * LANE_HALF, SPAWN_Z));
                next_spawn = t + interval;
            }
            let target = autopilot_target(x, &obstacles, speed, 0.0);
            x += (target - x).clamp(-PLAYER_SPEED * dt, PLAYER_SPEED * dt);
            for o in &mut obstacles {
                o.y += speed * dt;
            }
            crashes += obstacles.iter().filter(|o| hits(x, **o)).count();
            obstacles.retain(|o| !hits(x, *o) && o.y < 5.0);
        }
        eprintln!("autopilot crashes in 60 s: {crashes}");
        assert!(crashes <= 3, "{crashes} crashes in 60 s");
    }
}
