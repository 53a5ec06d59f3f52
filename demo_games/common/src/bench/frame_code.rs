//! `--frame-code`: the frame number drawn as `bevy_livestream::frame_code`
//! along the bottom of the view, with when each was decided.

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use bevy_livestream::frame_code::{CODE_BITS, code_for};
use bevy_livestream::monotonic_ns;

use super::LineLog;

/// `--frame-code`: when each drawn code was decided.
#[derive(Resource)]
struct FrameCodeLog(LineLog);

/// One block of the `--frame-code` band: the code bit it shows.
#[derive(Component)]
struct FrameCodeBit(u32);

/// Draws the code every frame and logs to `log`.
pub(super) fn add(app: &mut App, log: LineLog) {
    app.insert_resource(FrameCodeLog(log))
        .add_systems(Startup, spawn_frame_code)
        .add_systems(Update, show_frame_code);
}

/// The band, laid out as the frame code is read: the bottom eighth of the
/// view, [`CODE_BITS`] equal blocks, bit 0 left.
fn spawn_frame_code(mut commands: Commands) {
    commands
        .spawn((
            Node {
                position_type: PositionType::Absolute,
                left: Val::Px(0.0),
                bottom: Val::Px(0.0),
                width: Val::Percent(100.0),
                height: Val::Percent(12.5),
                ..default()
            },
            GlobalZIndex(i32::MAX),
        ))
        .with_children(|band| {
            for bit in 0..CODE_BITS {
                band.spawn((
                    Node {
                        width: Val::Percent(100.0 / CODE_BITS as f32),
                        height: Val::Percent(100.0),
                        ..default()
                    },
                    BackgroundColor(Color::BLACK),
                    FrameCodeBit(bit),
                ));
            }
        });
}

/// Draws this frame's number and logs when it was decided, on the clock the
/// plugin stamps captured frames with.
fn show_frame_code(
    frames: Res<FrameCount>,
    mut log: ResMut<FrameCodeLog>,
    mut bits: Query<(&FrameCodeBit, &mut BackgroundColor)>,
) {
    let code = code_for(u64::from(frames.0));
    for (bit, mut colour) in &mut bits {
        let level = if code >> bit.0 & 1 == 1 { 235 } else { 16 };
        colour.0 = Color::srgb_u8(level, level, level);
    }
    log.0.write(format_args!("{} {}", frames.0, monotonic_ns()));
}
