//! [`Streamer`]: the running stream, as the host sees it.
//!
//! The pipeline runs on the system clock (`CLOCK_MONOTONIC`), so a game's
//! capture timestamp maps to running time by subtracting the base time. The
//! frame pump thread pushes one frame per output slot (constant frame rate),
//! placed by its capture timestamp like the audio (see [`FrameSchedule`]),
//! repeating the last frame when none is due; the bus thread turns bus
//! messages into [`MediaEvent`]s and reconnects outputs.

use core::time::Duration;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use livestream_protocol::AudioChunkHeader;
use tracing::{debug, info};

use crate::audio::AudioTimeline;
use crate::clock::{running_now, running_time_of};
use crate::config::MediaConfig;
use crate::error::MediaError;
use crate::events::MediaEvent;
use crate::frame::VideoFrame;
use crate::frame_pump::SharedSchedule;
use crate::graph::raw_audio_caps;
use crate::outputs::Output;
use crate::outputs::branches::Branches;
use crate::pump::FrameSchedule;
use crate::shutdown::{NULL_TIMEOUT, end_live_sources, set_null, wait_for_eos};
use crate::stats::MediaStats;
use crate::{bus, frame_pump, graph};

/// A running stream. Dropping it without [`Streamer::stop`] tears the
/// pipeline down without finalising files.
pub struct Streamer {
    pipeline: gst::Pipeline,
    audio_src: gst_app::AppSrc,
    video_src: gst_app::AppSrc,
    schedule: SharedSchedule,
    audio: Mutex<AudioTimeline>,
    stats: Arc<MediaStats>,
    events: Receiver<MediaEvent>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    outputs: Vec<Output>,
    /// Set once the pipeline was taken to NULL (or abandoned trying).
    shut_down: bool,
}

impl core::fmt::Debug for Streamer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Streamer")
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

impl Streamer {
    /// Builds the pipeline, starts it, and starts the frame pump and bus threads.
    pub fn start(config: MediaConfig) -> Result<Self, MediaError> {
        config.validate().map_err(MediaError::Config)?;
        gst::init()?;
        let pipeline = gst::Pipeline::with_name("livestream");
        pipeline.use_clock(Some(&gst::SystemClock::obtain()));

        let stats = Arc::new(MediaStats::default());
        let mut graph = graph::build(&pipeline, &config, &stats)?;
        let microphone = graph.microphone.take();
        let branches = Branches::build_all(&pipeline, &graph, &config.outputs, config.tls_trust)?;

        let (events_tx, events) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let schedule = Arc::new(Mutex::new(FrameSchedule::new(config.fps)));
        let bus_thread = bus::spawn(&pipeline, branches, microphone, events_tx, stop.clone())?;

        pipeline
            .set_state(gst::State::Playing)
            .map_err(|err| MediaError::State(format!("cannot start: {err}")))?;
        info!(
            outputs = ?config.outputs,
            size = %format!("{}x{}", config.width, config.height),
            fps = config.fps,
            "stream pipeline started"
        );

        let pump_thread = frame_pump::spawn(
            &pipeline,
            &graph,
            (config.width, config.height),
            config.fps,
            schedule.clone(),
            stats.clone(),
            stop.clone(),
        )?;
        Ok(Self {
            pipeline,
            audio_src: graph.audio_src,
            video_src: graph.video_src,
            schedule,
            audio: Mutex::new(AudioTimeline::default()),
            stats,
            events,
            stop,
            threads: vec![bus_thread, pump_thread],
            outputs: config.outputs,
            shut_down: false,
        })
    }

    /// Hands the shown game's next frame to the pump, which places it on the
    /// output by its capture timestamp (see [`FrameSchedule`]).
    pub fn submit_frame(&self, frame: VideoFrame) {
        let Some(arrival) = running_now(&self.pipeline) else {
            debug!("a frame arrived before the pipeline runs; not streamed");
            self.stats.frames_superseded.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let capture = self
            .running_time_of(frame.header.timestamp_ns)
            .unwrap_or(arrival);
        let dropped = self
            .schedule
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(frame, capture, arrival);
        self.stats
            .frames_superseded
            .fetch_add(dropped, Ordering::Relaxed);
    }

    /// Pushes a chunk of the shown game's audio, placed by its capture
    /// timestamp, in whatever rate and channel count it has (the pipeline
    /// converts it to the mix's).
    pub fn submit_audio(&self, source: u64, header: &AudioChunkHeader, samples: &[u8]) {
        let (Some(running_ns), Some(arrival_ns)) = (
            self.running_time_of(header.timestamp_ns),
            running_now(&self.pipeline),
        ) else {
            self.stats.audio_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let placed = self
            .audio
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .place(
                source,
                (running_ns, arrival_ns),
                (header.sample_rate, header.channels),
                samples,
            );
        let Some(chunk) = placed else {
            self.stats.audio_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if let Some((rate, channels)) = chunk.new_format {
            // Serialized with the buffers: the caps reach the converter
            // right before the first chunk in the new format.
            self.audio_src
                .set_caps(Some(&raw_audio_caps(rate, channels)));
        }
        let mut buffer = gst::Buffer::from_mut_slice(chunk.bytes);
        if let Some(buffer) = buffer.get_mut() {
            buffer.set_pts(gst::ClockTime::from_nseconds(chunk.pts_ns));
            buffer.set_duration(gst::ClockTime::from_nseconds(chunk.duration_ns));
        }
        if self.audio_src.push_buffer(buffer).is_ok() {
            self.stats.audio_chunks.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.audio_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Running time (ns since the pipeline started) of a `CLOCK_MONOTONIC` timestamp.
    pub fn running_time_of(&self, monotonic_ns: u64) -> Option<u64> {
        running_time_of(&self.pipeline, monotonic_ns)
    }

    /// Bus events: errors, outputs down and up again, end of stream.
    pub fn events(&self) -> &Receiver<MediaEvent> {
        &self.events
    }

    /// Counters.
    pub fn stats(&self) -> &MediaStats {
        &self.stats
    }

    /// The outputs (display is redacted).
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// Ends the stream cleanly: end-of-stream through every branch so files are
    /// finalised and RTMP sessions closed, then tears down. Waits up to `timeout`.
    pub fn stop(mut self, timeout: Duration) -> Result<(), MediaError> {
        self.join_threads();
        let _ = self.video_src.end_of_stream();
        let _ = self.audio_src.end_of_stream();
        end_live_sources(&self.pipeline);
        let finished = wait_for_eos(&self.pipeline, timeout)?;
        self.shut_down = true;
        set_null(&self.pipeline, NULL_TIMEOUT)?;
        if finished {
            info!("stream finished cleanly");
            Ok(())
        } else {
            Err(MediaError::State(format!(
                "end of stream did not reach every output within {timeout:?}"
            )))
        }
    }

    /// Stops the pump and bus threads and waits for them.
    fn join_threads(&mut self) {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Streamer {
    fn drop(&mut self) {
        self.join_threads();
        if !self.shut_down {
            let _ = set_null(&self.pipeline, NULL_TIMEOUT);
        }
    }
}
