//! The frame pump thread: at every output slot, pushes the frame the
//! [`FrameSchedule`] picked (or the last one again) into the video appsrc.

use core::time::Duration;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use gstreamer as gst;
use gstreamer_app as gst_app;
use livestream_protocol::PixelFormat;
use tracing::debug;

use crate::clock::running_now;
use crate::config::AUDIO_RATE;
use crate::element::force_keyframe;
use crate::error::MediaError;
use crate::frame::{VideoFrame, video_caps};
use crate::graph::Graph;
use crate::pump::{FrameSchedule, PumpState, PumpStep, TickAction};
use crate::stats::MediaStats;

/// How much later a sound is heard than its timestamp says once the AAC
/// track is decoded: the encoder's priming and look-ahead, which FLV,
/// MPEG-TS and Matroska cannot signal and mp4mux does not (measured: a
/// click through voaacenc to FLV, Matroska or MP4 decodes 1600 samples,
/// 33.3 ms, late in ffmpeg).
/// Video frames are stamped that much later, so picture and sound of the
/// same capture instant play together.
const AAC_DECODE_DELAY_NS: u64 = 1_600 * 1_000_000_000 / AUDIO_RATE as u64;

/// Longest the pump sleeps before looking at the clock and its frames again.
const IDLE_POLL: Duration = Duration::from_millis(5);

/// The frames waiting for their slot, shared by the submitter and the pump.
pub(crate) type SharedSchedule = Arc<Mutex<FrameSchedule<VideoFrame>>>;

/// The pump thread's state.
struct FramePump {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    encoder: gst::Element,
    fps: u32,
    schedule: SharedSchedule,
    stats: Arc<MediaStats>,
    state: PumpState,
    /// The frame last pushed (repeated when no new one is due).
    last: Option<VideoFrame>,
    /// The format and size the appsrc's caps announce.
    caps_of: Option<(PixelFormat, u32, u32)>,
}

/// Starts the pump thread, which runs until `stop`.
pub(crate) fn spawn(
    pipeline: &gst::Pipeline,
    graph: &Graph,
    fps: u32,
    schedule: SharedSchedule,
    stats: Arc<MediaStats>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, MediaError> {
    let mut pump = FramePump {
        pipeline: pipeline.clone(),
        src: graph.video_src.clone(),
        encoder: graph.encoder.clone(),
        fps,
        schedule,
        stats,
        state: PumpState::default(),
        last: None,
        caps_of: None,
    };
    std::thread::Builder::new()
        .name("livestream-frame-pump".into())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                if let Some((pts_ns, fresh)) = pump.next_slot() {
                    pump.emit(pts_ns, fresh);
                }
            }
        })
        .map_err(|err| MediaError::Build(format!("cannot start frame pump: {err}")))
}

impl FramePump {
    /// The next slot due (its time and new frame, if any), or `None` after
    /// sleeping a little when none is.
    fn next_slot(&self) -> Option<(u64, Option<VideoFrame>)> {
        let step = running_now(&self.pipeline).map(|now| {
            self.schedule
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .step(now)
        });
        match step {
            None | Some(PumpStep::Idle) => std::thread::sleep(IDLE_POLL),
            Some(PumpStep::Wait(ns)) => std::thread::sleep(Duration::from_nanos(ns).min(IDLE_POLL)),
            Some(PumpStep::Emit {
                pts_ns,
                frame,
                superseded,
                delay_ns,
            }) => {
                self.stats
                    .frames_superseded
                    .fetch_add(superseded, Ordering::Relaxed);
                self.stats
                    .playout_delay_ns
                    .store(delay_ns, Ordering::Relaxed);
                return Some((pts_ns, frame));
            }
        }
        None
    }

    /// Pushes the slot at `pts_ns`: `fresh` if given, else the last frame again.
    fn emit(&mut self, pts_ns: u64, fresh: Option<VideoFrame>) {
        let action = self.state.tick(fresh.as_ref().map(|f| f.source));
        if let Some(frame) = fresh {
            self.last = Some(frame);
        }
        let Some(frame) = self.last.as_ref() else {
            return;
        };
        if matches!(action, TickAction::Wait) {
            return;
        }
        let shape = frame.shape();
        if self.caps_of != Some(shape) {
            let (format, width, height) = shape;
            self.src
                .set_caps(Some(&video_caps(format, width, height, self.fps)));
            self.caps_of = Some(shape);
        }
        if let TickAction::Fresh { keyframe: true } = action {
            force_keyframe(&self.encoder);
            self.stats.keyframes_forced.fetch_add(1, Ordering::Relaxed);
        }
        // A new buffer header sharing the frame's memory: repeats cost no copy.
        let mut buffer = frame.buffer.copy();
        if let Some(buffer) = buffer.get_mut() {
            buffer.set_pts(gst::ClockTime::from_nseconds(pts_ns + AAC_DECODE_DELAY_NS));
            buffer.set_duration(gst::ClockTime::from_nseconds(
                1_000_000_000 / u64::from(self.fps),
            ));
        }
        if self.src.push_buffer(buffer).is_err() {
            debug!("video appsrc refused a frame (pipeline stopping)");
            return;
        }
        self.stats.frames_pushed.fetch_add(1, Ordering::Relaxed);
        if matches!(action, TickAction::Repeat) {
            self.stats.frames_repeated.fetch_add(1, Ordering::Relaxed);
        }
    }
}
