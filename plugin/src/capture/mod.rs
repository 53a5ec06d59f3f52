//! Capture of the streamable camera: the main world decides when a frame is
//! due and which camera it comes from; the render world converts and reads it
//! back (see `render`).
//!
//! With several `Streamable` cameras, the active one with the highest
//! `Camera::order` is captured: the one drawn last, usually the one the
//! player looks at. Compositing several cameras is left to the game (render
//! them into one camera's target).

mod convert;
mod geometry;
mod readback;
mod render;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bevy::asset::embedded_asset;
use bevy::asset::io::embedded::EmbeddedAssetRegistry;
use bevy::core_pipeline::{Core2d, Core2dSystems, Core3d, Core3dSystems, upscaling::upscaling};
use bevy::prelude::*;
use bevy::render::sync_world::RenderEntity;
use bevy::render::{Extract, ExtractSchedule, Render, RenderApp, RenderStartup, RenderSystems};
use livestream_ipc::monotonic_ns;

use crate::Streamable;
use crate::route::MediaRoute;
use crate::state::LiveStream;
use crate::{LiveStreamSettings, LiveStreamSystems};
use render::{CaptureBuffers, CaptureView, capture_view, init_capture_pipelines, send_captures};

/// Counters of the capture path, written by the render world.
#[derive(Debug, Default)]
pub(crate) struct CaptureCounters {
    /// Frames written by the GPU (converted, or copied for the CPU to convert).
    pub captured: AtomicU64,
    /// Frames handed to the host connection.
    pub sent: AtomicU64,
    /// Frames not captured because the GPU still held every staging buffer
    /// (or the pipeline was still compiling).
    pub skipped: AtomicU64,
    /// Frames read back but not sent (no connection, or the read failed).
    pub dropped: AtomicU64,
    /// Payload bytes handed to the connection.
    pub bytes: AtomicU64,
    /// Frames converted to I420 on the CPU (see [`crate::Conversion`]).
    pub cpu_converted: AtomicU64,
}

/// Shared handle on the capture counters (main world side).
#[derive(Resource, Clone, Default)]
pub(crate) struct CaptureStats(pub Arc<CaptureCounters>);

/// Decides which frames are captured: one every `period`, on schedule, never
/// catching up with bursts after a stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct FramePacer {
    next_due_ns: u64,
}

impl FramePacer {
    /// Whether a frame rendered at `now_ns` should be captured at `fps`.
    pub fn due(&mut self, now_ns: u64, fps: u32) -> bool {
        let period = 1_000_000_000 / u64::from(fps.max(1));
        if now_ns < self.next_due_ns {
            return false;
        }
        // On time (or a little late): keep the grid. Far behind: restart it.
        self.next_due_ns = if now_ns - self.next_due_ns < period {
            self.next_due_ns + period
        } else {
            now_ns + period
        };
        true
    }
}

/// What to capture this frame, decided in the main world and extracted.
#[derive(Resource, Debug, Default, Clone, Copy)]
pub(crate) struct CapturePlan {
    order: Option<(Entity, CaptureView)>,
    pacer: FramePacer,
    next_frame_number: u64,
}

/// Picks the camera and decides whether this frame is captured.
fn plan_capture(
    settings: Res<LiveStreamSettings>,
    live: Res<LiveStream>,
    cameras: Query<(Entity, &Camera), With<Streamable>>,
    mut plan: ResMut<CapturePlan>,
) {
    plan.order = None;
    let Some(request) = live.media.filter(|m| m.video) else {
        return;
    };
    let Some((camera, _)) = cameras
        .iter()
        .filter(|(_, camera)| camera.is_active)
        .max_by_key(|(_, camera)| camera.order)
    else {
        return;
    };
    let fps = match request.fps {
        0 => settings.capture_fps,
        wanted => wanted.min(settings.capture_fps),
    };
    let now = monotonic_ns();
    if !plan.pacer.due(now, fps) {
        return;
    }
    let frame_number = plan.next_frame_number;
    plan.next_frame_number += 1;
    plan.order = Some((
        camera,
        CaptureView {
            timestamp_ns: now,
            frame_number,
            format: settings.pixel_format,
            conversion: settings.conversion,
            max_size: settings.max_capture_size,
        },
    ));
}

/// Moves this frame's capture order onto the camera's render entity.
fn extract_capture_order(
    mut commands: Commands,
    plan: Extract<Res<CapturePlan>>,
    cameras: Extract<Query<&RenderEntity>>,
    previous: Query<Entity, With<CaptureView>>,
) {
    for entity in &previous {
        commands.entity(entity).remove::<CaptureView>();
    }
    if let Some((camera, order)) = plan.order
        && let Ok(render_entity) = cameras.get(camera)
    {
        commands.entity(render_entity.id()).insert(order);
    }
}

/// Adds capture to the app: planning in the main world, conversion and
/// readback in the render world (when there is one).
pub(crate) fn build(app: &mut App) {
    if app.world().contains_resource::<EmbeddedAssetRegistry>() {
        embedded_asset!(app, "capture.wgsl");
    }
    app.init_resource::<CapturePlan>()
        .init_resource::<CaptureStats>()
        .add_systems(PostUpdate, plan_capture.in_set(LiveStreamSystems::Capture));
}

/// Render-world part; runs in `Plugin::finish`, once the render device exists.
pub(crate) fn finish(app: &mut App) {
    let counters = app.world().resource::<CaptureStats>().0.clone();
    let route = app.world_mut().resource_mut::<MediaRoute>().subscribe();
    let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
        warn!("no render app: streamable cameras cannot be captured");
        return;
    };
    // Seen by viewers: the scene, post-processing and the game's bevy_ui HUD.
    // Never seen: anything drawn by egui (our overlay and the Go-live UI).
    let capture_2d = capture_view
        .after(bevy::ui_render::ui_pass)
        .after(Core2dSystems::PostProcess)
        .before(bevy_egui::render::egui_pass)
        .before(upscaling);
    let capture_3d = capture_view
        .after(bevy::ui_render::ui_pass)
        .after(Core3dSystems::PostProcess)
        .before(bevy_egui::render::egui_pass)
        .before(upscaling);
    render_app
        .insert_resource(CaptureBuffers::new(route, counters))
        .add_systems(RenderStartup, init_capture_pipelines)
        .add_systems(ExtractSchedule, extract_capture_order)
        .add_systems(Core2d, capture_2d)
        .add_systems(Core3d, capture_3d)
        .add_systems(Render, send_captures.in_set(RenderSystems::Cleanup));
}

impl CaptureStats {
    /// The counters as plain numbers: captured, sent, skipped, dropped, bytes and
    /// CPU conversions.
    pub fn snapshot(&self) -> [u64; 6] {
        let c = &self.0;
        [
            &c.captured,
            &c.sent,
            &c.skipped,
            &c.dropped,
            &c.bytes,
            &c.cpu_converted,
        ]
        .map(|v| v.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_keeps_a_steady_grid() {
        let mut pacer = FramePacer::default();
        let ms = 1_000_000;
        // 60 Hz game, 30 fps capture: every other frame.
        let taken: Vec<bool> = (0..8)
            .map(|i| pacer.due(1_000 * ms + i * 16_667_000, 30))
            .collect();
        assert_eq!(taken, [true, false, true, false, true, false, true, false]);
    }

    #[test]
    fn pacer_does_not_burst_after_a_stall() {
        let mut pacer = FramePacer::default();
        let ms = 1_000_000;
        assert!(pacer.due(1_000 * ms, 30));
        assert!(pacer.due(2_000 * ms, 30), "first frame after a stall");
        assert!(!pacer.due(2_001 * ms, 30), "no catch-up burst");
        assert!(pacer.due(2_034 * ms, 30));
    }
}
