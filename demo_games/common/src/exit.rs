//! `--duration`: the game exits cleanly once it has run this long.

use std::time::Duration;

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use bevy_livestream::LiveStream;

use crate::bench::FrameLog;

/// `--duration`: how long the game runs.
#[derive(Resource)]
pub(crate) struct ExitAfter(Duration);

/// Exits after `limit`.
pub(crate) fn add(app: &mut App, limit: Duration) {
    app.insert_resource(ExitAfter(limit))
        .add_systems(Last, exit_after);
}

/// Exits once the time is up, with a line on the frame rate and, with
/// `--frame-log`, the streaming counters in the log.
pub(crate) fn exit_after(
    limit: Res<ExitAfter>,
    time: Res<Time<Real>>,
    frames: Res<FrameCount>,
    live: Res<LiveStream>,
    frame_log: Option<ResMut<FrameLog>>,
    mut exit: MessageWriter<AppExit>,
) {
    let elapsed = time.elapsed();
    if elapsed >= limit.0 {
        let secs = elapsed.as_secs_f64();
        info!(
            "--duration reached: {} frames in {secs:.1} s ({:.1} fps); exiting",
            frames.0,
            f64::from(frames.0) / secs.max(1e-3)
        );
        if let Some(mut log) = frame_log {
            log.write_stats(frames.0, &live.stats);
        }
        exit.write(AppExit::Success);
    }
}
