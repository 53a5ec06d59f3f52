//! The frame pump thread: at every output slot, pushes the frame the
//! [`FrameSchedule`] picked (or the last one again) into the video appsrc.
//! Until the first game frame arrives it pushes a black slate at the output
//! rate, so an ingest sees video from the stream's first second (never an
//! audio-only stream while the player picks a game).

use core::time::Duration;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use gstreamer as gst;
use gstreamer_app as gst_app;
use livestream_protocol::{PixelFormat, VideoFrameHeader};
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

/// The source id of the slate (games are numbered from 1).
const SLATE_SOURCE: u64 = u64::MAX;

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
    /// Black at the output size, pushed until the first frame arrives.
    slate: VideoFrame,
    /// When the next slate is due (running time), once the pump has started.
    next_slate_ns: Option<u64>,
}

/// A black I420 picture of `width` × `height` (BT.601 limited range).
fn black_slate(width: u32, height: u32) -> VideoFrame {
    let header = VideoFrameHeader::packed(PixelFormat::I420, width, height);
    let luma = (width * height) as usize;
    let mut pixels = vec![16u8; luma];
    pixels.resize(luma + luma / 2, 128);
    VideoFrame::new(SLATE_SOURCE, header, pixels)
}

/// Starts the pump thread, which runs until `stop`.
pub(crate) fn spawn(
    pipeline: &gst::Pipeline,
    graph: &Graph,
    (width, height): (u32, u32),
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
        slate: black_slate(width, height),
        next_slate_ns: None,
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
    /// sleeping a little when none is. Before the first frame, pushes the
    /// slate when one is due.
    fn next_slot(&mut self) -> Option<(u64, Option<VideoFrame>)> {
        let Some(now) = running_now(&self.pipeline) else {
            std::thread::sleep(IDLE_POLL);
            return None;
        };
        let period = 1_000_000_000 / u64::from(self.fps);
        let step = {
            let mut schedule = self.schedule.lock().unwrap_or_else(PoisonError::into_inner);
            let step = schedule.step(now);
            if matches!(step, PumpStep::Idle) {
                let slate_pts = *self.next_slate_ns.get_or_insert(now);
                if now >= slate_pts {
                    // Under the lock: no frame can start the grid before this slate ends.
                    schedule.start_no_earlier_than(slate_pts + period);
                    self.next_slate_ns = Some(slate_pts + period);
                    drop(schedule);
                    let slate = self.slate.clone();
                    self.push(&slate, slate_pts, false, true);
                    return None;
                }
            }
            step
        };
        match step {
            PumpStep::Idle => std::thread::sleep(IDLE_POLL),
            PumpStep::Wait(ns) => std::thread::sleep(Duration::from_nanos(ns).min(IDLE_POLL)),
            PumpStep::Emit {
                pts_ns,
                frame,
                superseded,
                delay_ns,
            } => {
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
        let Some(frame) = self.last.clone() else {
            // A slot before the first frame's (the pump ran late after the
            // slate): the slate goes on, so the output has no gap.
            let slate = self.slate.clone();
            self.push(&slate, pts_ns, false, true);
            return;
        };
        let keyframe = match action {
            TickAction::Wait => return,
            TickAction::Fresh { keyframe } => keyframe,
            TickAction::Repeat => false,
        };
        self.push(
            &frame,
            pts_ns,
            keyframe,
            matches!(action, TickAction::Repeat),
        );
    }

    /// Pushes `frame` for the slot at `pts_ns`; `repeat` counts it as a
    /// repeated picture (the last frame again, or the slate).
    fn push(&mut self, frame: &VideoFrame, pts_ns: u64, keyframe: bool, repeat: bool) {
        let shape = frame.shape();
        if self.caps_of != Some(shape) {
            let (format, width, height) = shape;
            self.src
                .set_caps(Some(&video_caps(format, width, height, self.fps)));
            self.caps_of = Some(shape);
        }
        if keyframe {
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
        if repeat {
            self.stats.frames_repeated.fetch_add(1, Ordering::Relaxed);
        }
    }
}
