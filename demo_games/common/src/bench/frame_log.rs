//! `--frame-log`: each frame's time and capture state, and the streaming
//! counters at `--duration`.

use bevy::prelude::*;
use bevy_livestream::{LiveStream, LiveStreamStats};

use super::LineLog;
use crate::exit::exit_after;

/// `--frame-log`: where each frame's time goes.
#[derive(Resource)]
pub(crate) struct FrameLog(LineLog);

impl FrameLog {
    /// The last line: frames run and the plugin's counters, as JSON after `# stats `.
    pub(crate) fn write_stats(&mut self, frames: u32, s: &LiveStreamStats) {
        self.0.write(format_args!(
            "# stats {{\"frames\":{},\"frames_captured\":{},\"frames_sent\":{},\"frames_skipped\":{},\"frames_dropped\":{},\"video_bytes\":{},\"audio_chunks_sent\":{},\"audio_frames_dropped\":{}}}",
            frames,
            s.frames_captured,
            s.frames_sent,
            s.frames_skipped,
            s.frames_dropped,
            s.video_bytes,
            s.audio_chunks_sent,
            s.audio_frames_dropped
        ));
    }
}

/// Logs every frame to `log`.
pub(super) fn add(app: &mut App, log: LineLog) {
    app.insert_resource(FrameLog(log))
        .add_systems(Last, log_frame.before(exit_after));
}

/// Logs this frame's time, whether the host has the game capturing, and the
/// frames lost so far before the socket.
fn log_frame(mut log: ResMut<FrameLog>, time: Res<Time<Real>>, live: Res<LiveStream>) {
    let capturing = live.media.as_ref().is_some_and(|media| media.video);
    log.0.write(format_args!(
        "{:.4} {:.3} {} {} {}",
        time.elapsed_secs_f64(),
        time.delta_secs_f64() * 1000.0,
        u8::from(capturing),
        live.stats.frames_skipped,
        live.stats.frames_dropped
    ));
}
