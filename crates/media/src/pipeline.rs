//! The GStreamer pipeline and the threads that feed and watch it.
//!
//! ```text
//! appsrc video (I420/RGBA, any size) → videoconvert → videoscale → I420 WxH → x264enc → h264parse → tee ─┐
//! audiotestsrc silence ┐                                                                                 ├→ per output: queue → mux → sink
//! appsrc game audio ───┼→ audiomixer → 48 kHz stereo → voaacenc → aacparse → tee ──────────────────────┘
//! microphone ──────────┘
//! ```
//!
//! The pipeline runs on the system clock (`CLOCK_MONOTONIC`), so a game's
//! capture timestamp maps to running time by subtracting the base time. The
//! frame pump thread pushes one frame per output slot (constant frame rate),
//! placed by its capture timestamp like the audio (see [`FrameSchedule`]),
//! repeating the last frame when none is due; the bus thread turns bus
//! messages into [`MediaEvent`]s.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_audio as gst_audio;
use gstreamer_video as gst_video;
use livestream_protocol::{AudioChunkHeader, PixelFormat, VideoFrameHeader};
use tracing::{debug, info, warn};

use crate::audio::AudioTimeline;
use crate::config::{AUDIO_CHANNELS, AUDIO_RATE, MediaConfig, MicSource};
use crate::output::{Container, Destination, Output};
use crate::pump::{FrameSchedule, MAX_PLAYOUT_DELAY_NS, PumpState, PumpStep, TickAction};

/// Why the pipeline could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// GStreamer could not be initialised.
    #[error("GStreamer init failed: {0}")]
    Init(#[from] gst::glib::Error),
    /// A configuration value is out of range.
    #[error("invalid media config: {0}")]
    Config(String),
    /// An element is missing (plugin not installed) or could not be linked.
    #[error("building the pipeline failed: {0}")]
    Build(String),
    /// The pipeline refused to change state.
    #[error("pipeline state change failed: {0}")]
    State(String),
}

impl From<gst::glib::BoolError> for MediaError {
    fn from(err: gst::glib::BoolError) -> Self {
        Self::Build(err.to_string())
    }
}

/// What the pipeline reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// The pipeline reached PLAYING.
    Playing,
    /// An element failed; `output` names the (redacted) output it belongs to, if any.
    Error {
        /// The output that failed, redacted; `None` for the shared encode part.
        output: Option<String>,
        /// What GStreamer said.
        message: String,
    },
    /// A network output lost its connection; it is rebuilt after `retry_in`.
    OutputDown {
        /// The output, redacted.
        output: String,
        /// Reconnection attempt about to be made, from 1.
        attempt: u32,
        /// Delay before the attempt.
        retry_in: Duration,
    },
    /// A rebuilt output has been sending without error for a while.
    OutputUp {
        /// The output, redacted.
        output: String,
    },
    /// All outputs received end-of-stream (files are finalised).
    Eos,
}

/// A frame ready for the pump: the game's pixels wrapped without copying.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    source: u64,
    header: VideoFrameHeader,
    buffer: gst::Buffer,
}

impl VideoFrame {
    /// Wraps a received frame. `source` identifies the game (a switch forces a keyframe).
    pub fn new(
        source: u64,
        header: VideoFrameHeader,
        pixels: impl AsRef<[u8]> + Send + 'static,
    ) -> Self {
        let mut buffer = gst::Buffer::from_slice(pixels);
        let packed = header.format.packed_strides(header.width);
        if header.strides != packed
            && let Some(buffer) = buffer.get_mut()
        {
            let offsets: Vec<usize> = header.plane_ranges().iter().map(|r| r.start).collect();
            let strides: Vec<i32> = header.strides[..header.format.planes()]
                .iter()
                .map(|&s| s as i32)
                .collect();
            let _ = gst_video::VideoMeta::add_full(
                buffer,
                gst_video::VideoFrameFlags::empty(),
                video_format(header.format),
                header.width,
                header.height,
                &offsets,
                &strides,
            );
        }
        Self {
            source,
            header,
            buffer,
        }
    }
}

fn video_format(format: PixelFormat) -> gst_video::VideoFormat {
    match format {
        PixelFormat::I420 => gst_video::VideoFormat::I420,
        PixelFormat::Rgba8 => gst_video::VideoFormat::Rgba,
    }
}

/// Counters of a running stream.
#[derive(Debug, Default)]
pub struct MediaStats {
    /// Frames pushed to the encoder.
    pub frames_pushed: AtomicU64,
    /// Of those, repeats of the previous frame.
    pub frames_repeated: AtomicU64,
    /// Frames received but never streamed: a newer frame was due at the
    /// same output slot (the game delivers faster than the output rate, or
    /// the frame came later than the playout delay).
    pub frames_superseded: AtomicU64,
    /// How long after its presentation time the latest frame slot was
    /// emitted (ns): the wait for the slowest recent frame, see [`FrameSchedule`].
    pub playout_delay_ns: AtomicU64,
    /// Keyframes forced at switches.
    pub keyframes_forced: AtomicU64,
    /// Audio chunks pushed.
    pub audio_chunks: AtomicU64,
    /// Audio chunks dropped (late or overlapping entirely).
    pub audio_dropped: AtomicU64,
    /// Bytes of encoded video and audio leaving the encoders (what every
    /// output carries before muxing): the stream's measured bitrate.
    pub bytes_encoded: AtomicU64,
}

/// A running stream. Dropping it without [`Streamer::stop`] tears the
/// pipeline down without finalising files.
pub struct Streamer {
    pipeline: gst::Pipeline,
    audio_src: gst_app::AppSrc,
    video_src: gst_app::AppSrc,
    schedule: Arc<Mutex<FrameSchedule<VideoFrame>>>,
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

fn make(factory: &str, name: Option<&str>) -> Result<gst::Element, MediaError> {
    let mut builder = gst::ElementFactory::make(factory);
    if let Some(name) = name {
        builder = builder.name(name);
    }
    builder.build().map_err(|_| {
        MediaError::Build(format!(
            "GStreamer element {factory:?} is missing (install its plugin package; see scripts/setup.sh)"
        ))
    })
}

impl Streamer {
    /// Builds the pipeline, starts it, and starts the frame pump and bus threads.
    pub fn start(config: MediaConfig) -> Result<Self, MediaError> {
        config.validate().map_err(MediaError::Config)?;
        gst::init()?;
        let pipeline = gst::Pipeline::with_name("livestream");
        pipeline.use_clock(Some(&gst::SystemClock::obtain()));

        let stats = Arc::new(MediaStats::default());
        let (video_src, video_tee) = build_video(&pipeline, &config, &stats)?;
        let (audio_src, audio_tee) = build_audio(&pipeline, &config, &stats)?;
        let mut branches = Branches::new(&pipeline, video_tee, audio_tee, &config.outputs);
        for index in 0..config.outputs.len() {
            branches.build(index)?;
        }

        let (events_tx, events) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let schedule = Arc::new(Mutex::new(FrameSchedule::new(config.fps)));
        let bus_thread = spawn_bus_thread(&pipeline, branches, events_tx, stop.clone())?;

        pipeline
            .set_state(gst::State::Playing)
            .map_err(|err| MediaError::State(format!("cannot start: {err}")))?;
        info!(
            outputs = ?config.outputs,
            size = %format!("{}x{}", config.width, config.height),
            fps = config.fps,
            "stream pipeline started"
        );

        let pump_thread = spawn_pump(
            &pipeline,
            &video_src,
            &config,
            schedule.clone(),
            stats.clone(),
            stop.clone(),
        )?;
        Ok(Self {
            pipeline,
            audio_src,
            video_src,
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
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(frame, capture, arrival);
        self.stats
            .frames_superseded
            .fetch_add(dropped, Ordering::Relaxed);
    }

    /// Pushes a chunk of the shown game's audio, placed by its capture timestamp.
    pub fn submit_audio(&self, source: u64, header: &AudioChunkHeader, samples: &[u8]) {
        let Some(running_ns) = self.running_time_of(header.timestamp_ns) else {
            self.stats.audio_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if header.sample_rate != AUDIO_RATE || header.channels != AUDIO_CHANNELS {
            // The mixer resamples, but the timeline needs one format: convert upstream.
            warn!(
                rate = header.sample_rate,
                channels = header.channels,
                "game audio not 48 kHz stereo; dropped"
            );
            self.stats.audio_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let placed = self
            .audio
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .place(
                source,
                running_ns,
                header.sample_rate,
                header.channels,
                samples,
            );
        let Some(chunk) = placed else {
            self.stats.audio_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
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
        let base = self.pipeline.base_time()?.nseconds();
        monotonic_ns.checked_sub(base)
    }

    /// Bus events: playing, errors, end of stream.
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
        self.stop.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        let _ = self.video_src.end_of_stream();
        let _ = self.audio_src.end_of_stream();
        // Live sources (silence, microphone) end on an EOS event. Sending it can
        // wait on a source's lock while that source is blocked reading a device
        // or pushing into a full queue, so it is sent from its own thread and
        // never waited for beyond the deadline. It goes to each source, not to
        // the pipeline: the pipeline would hold its state lock meanwhile, and
        // the state change to NULL below (which unblocks such a source by
        // flushing the queues after it) could never start.
        let sources: Vec<gst::Element> = self
            .pipeline
            .iterate_sources()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|source| source.name() != "video" && source.name() != "game_audio")
            .collect();
        let eos_sender = std::thread::Builder::new()
            .name("livestream-media-eos".into())
            .spawn(move || {
                for source in sources {
                    source.send_event(gst::event::Eos::new());
                }
            });
        if let Err(err) = eos_sender {
            warn!("cannot start the end-of-stream thread: {err}");
        }
        let bus = self
            .pipeline
            .bus()
            .ok_or_else(|| MediaError::State("pipeline has no bus".into()))?;
        let deadline = Instant::now() + timeout;
        let mut finished = false;
        while Instant::now() < deadline {
            let wait = gst::ClockTime::from_mseconds(50);
            match bus.timed_pop_filtered(
                Some(wait),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            ) {
                Some(msg) => match msg.view() {
                    gst::MessageView::Eos(_) => {
                        finished = true;
                        break;
                    }
                    gst::MessageView::Error(err) => {
                        warn!("error while finishing the stream: {}", err.error());
                    }
                    _ => {}
                },
                None => continue,
            }
        }
        self.shut_down = true;
        shut_down(&self.pipeline, NULL_TIMEOUT)?;
        if finished {
            info!("stream finished cleanly");
            Ok(())
        } else {
            Err(MediaError::State(format!(
                "end of stream did not reach every output within {timeout:?}"
            )))
        }
    }
}

/// How long the final change to NULL may take before the pipeline is left behind.
const NULL_TIMEOUT: Duration = Duration::from_secs(5);

/// Sets the pipeline to NULL from a helper thread and waits at most `timeout`.
///
/// A safety net: a stop that deadlocks inside GStreamer (one such case, an
/// encoder's allocation query stuck in an output queue, is prevented by
/// [`encoded_tee`]) leaves the pipeline abandoned (its threads die with the
/// process) and returns an error, rather than hanging the host.
fn shut_down(pipeline: &gst::Pipeline, timeout: Duration) -> Result<(), MediaError> {
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let stopping = pipeline.clone();
    std::thread::Builder::new()
        .name("livestream-media-null".into())
        .spawn(move || {
            let _ = done_tx.send(stopping.set_state(gst::State::Null));
        })
        .map_err(|err| MediaError::State(format!("cannot start the stop thread: {err}")))?;
    match done_rx.recv_timeout(timeout) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(MediaError::State(format!("cannot stop: {err}"))),
        Err(_) => Err(MediaError::State(format!(
            "the pipeline did not reach NULL within {timeout:?}; abandoned"
        ))),
    }
}

impl Drop for Streamer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if !self.shut_down {
            let _ = shut_down(&self.pipeline, NULL_TIMEOUT);
        }
    }
}

fn video_caps(format: PixelFormat, width: u32, height: u32, fps: u32) -> gst::Caps {
    gst_video::VideoCapsBuilder::new()
        .format(video_format(format))
        .width(width as i32)
        .height(height as i32)
        .framerate(gst::Fraction::new(fps as i32, 1))
        .build()
}

/// A tee for encoded data that answers allocation queries itself.
///
/// A tee forwards an encoder's ALLOCATION query to every output, and each
/// output's queue holds a serialized query until it has drained; a muxer that
/// waits for the other stream never drains it, so the encoder's thread blocks
/// (seen at end of stream with a PulseAudio microphone, hanging the stop).
/// Encoded buffers need no downstream allocator, so the query is refused at
/// the tee and the encoder uses its default one. Every encoded byte passing
/// the tee is counted in [`MediaStats::bytes_encoded`].
fn encoded_tee(name: &str, stats: &Arc<MediaStats>) -> Result<gst::Element, MediaError> {
    let tee = make("tee", Some(name))?;
    tee.set_property("allow-not-linked", true);
    let sink = tee
        .static_pad("sink")
        .ok_or_else(|| MediaError::Build("tee has no sink pad".into()))?;
    sink.add_probe(gst::PadProbeType::QUERY_DOWNSTREAM, |_, info| {
        match info.query() {
            Some(query) if matches!(query.view(), gst::QueryView::Allocation(_)) => {
                gst::PadProbeReturn::Drop
            }
            _ => gst::PadProbeReturn::Ok,
        }
    });
    let stats = stats.clone();
    sink.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |_, info| {
            let bytes = match &info.data {
                Some(gst::PadProbeData::Buffer(buffer)) => buffer.size(),
                Some(gst::PadProbeData::BufferList(list)) => {
                    list.iter().map(gst::BufferRef::size).sum()
                }
                _ => 0,
            };
            stats
                .bytes_encoded
                .fetch_add(bytes as u64, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        },
    );
    Ok(tee)
}

fn build_video(
    pipeline: &gst::Pipeline,
    config: &MediaConfig,
    stats: &Arc<MediaStats>,
) -> Result<(gst_app::AppSrc, gst::Element), MediaError> {
    let caps = video_caps(PixelFormat::I420, config.width, config.height, config.fps);
    let src = gst_app::AppSrc::builder()
        .name("video")
        .caps(&caps)
        .format(gst::Format::Time)
        .is_live(true)
        .do_timestamp(false)
        .stream_type(gst_app::AppStreamType::Stream)
        .max_time(gst::ClockTime::from_mseconds(500))
        .leaky_type(gst_app::AppLeakyType::Downstream)
        .build();
    let convert = make("videoconvert", None)?;
    let scale = gst::ElementFactory::make("videoscale")
        .property("add-borders", true)
        .build()
        .map_err(|_| MediaError::Build("videoscale missing".into()))?;
    let out_caps = gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::I420)
        .width(config.width as i32)
        .height(config.height as i32)
        .pixel_aspect_ratio(gst::Fraction::new(1, 1))
        .build();
    let filter = gst::ElementFactory::make("capsfilter")
        .property("caps", &out_caps)
        .build()
        .map_err(|_| MediaError::Build("capsfilter missing".into()))?;
    let encoder = make("x264enc", Some("venc"))?;
    encoder.set_property_from_str("tune", "zerolatency");
    encoder.set_property_from_str("speed-preset", &config.x264_preset);
    encoder.set_property_from_str("pass", "cbr");
    encoder.set_property("bitrate", config.video_kbps);
    encoder.set_property("key-int-max", config.fps * config.keyframe_seconds);
    let parse = make("h264parse", None)?;
    parse.set_property("config-interval", -1i32);
    let tee = encoded_tee("vtee", stats)?;
    let elements = [
        src.upcast_ref(),
        &convert,
        &scale,
        &filter,
        &encoder,
        &parse,
        &tee,
    ];
    pipeline.add_many(elements)?;
    gst::Element::link_many(elements)?;
    Ok((src, tee))
}

fn build_audio(
    pipeline: &gst::Pipeline,
    config: &MediaConfig,
    stats: &Arc<MediaStats>,
) -> Result<(gst_app::AppSrc, gst::Element), MediaError> {
    let raw_caps = gst_audio::AudioCapsBuilder::new_interleaved()
        .format(gst_audio::AudioFormat::F32le)
        .rate(AUDIO_RATE as i32)
        .channels(i32::from(AUDIO_CHANNELS))
        .build();
    let mixer = make("audiomixer", Some("amix"))?;
    // Wait this long for late game audio before mixing without it.
    // Video waits as long for late frames, so both reach the muxer alike.
    mixer.set_property("latency", MAX_PLAYOUT_DELAY_NS);
    let mixed_filter = gst::ElementFactory::make("capsfilter")
        .property("caps", &raw_caps)
        .build()
        .map_err(|_| MediaError::Build("capsfilter missing".into()))?;
    let convert = make("audioconvert", None)?;
    let encoder = make("voaacenc", Some("aenc"))?;
    encoder.set_property("bitrate", (config.audio_kbps * 1000) as i32);
    let parse = make("aacparse", None)?;
    let tee = encoded_tee("atee", stats)?;
    let chain = [&mixer, &mixed_filter, &convert, &encoder, &parse, &tee];
    pipeline.add_many(chain)?;
    gst::Element::link_many(chain)?;

    // A live silent bed keeps the audio track clocked when no game is shown and no mic is on.
    let silence = make("audiotestsrc", Some("silence"))?;
    silence.set_property_from_str("wave", "silence");
    silence.set_property("is-live", true);
    add_audio_source(pipeline, &mixer, &silence, &raw_caps)?;

    let game = gst_app::AppSrc::builder()
        .name("game_audio")
        .caps(&raw_caps)
        .format(gst::Format::Time)
        .is_live(true)
        .do_timestamp(false)
        .stream_type(gst_app::AppStreamType::Stream)
        .max_time(gst::ClockTime::from_seconds(1))
        .leaky_type(gst_app::AppLeakyType::Downstream)
        .build();
    add_audio_source(pipeline, &mixer, game.upcast_ref(), &raw_caps)?;

    if let Some(mic) = mic_source(&config.mic)? {
        add_audio_source(pipeline, &mixer, &mic, &raw_caps)?;
    }
    Ok((game, tee))
}

fn mic_source(mic: &MicSource) -> Result<Option<gst::Element>, MediaError> {
    let element = match mic {
        MicSource::None => return Ok(None),
        MicSource::Auto => pulse_source(None)?,
        MicSource::Pulse(device) => pulse_source(Some(device))?,
        MicSource::TestTone => {
            let src = make("audiotestsrc", Some("mic"))?;
            src.set_property("is-live", true);
            src.set_property("freq", 1000.0f64);
            src.set_property("volume", 0.3f64);
            src
        }
        MicSource::File(path) => {
            let bin = gst::Bin::with_name("mic");
            let file = make("filesrc", None)?;
            file.set_property("location", path.display().to_string());
            let parse = make("wavparse", None)?;
            let pace = make("identity", None)?;
            pace.set_property("sync", true);
            bin.add_many([&file, &parse, &pace])?;
            gst::Element::link_many([&file, &parse])?;
            let pace_sink = pace
                .static_pad("sink")
                .ok_or_else(|| MediaError::Build("identity has no sink pad".into()))?;
            // wavparse exposes its pad once it has read the header.
            parse.connect_pad_added(move |_, pad| {
                let _ = pad.link(&pace_sink);
            });
            let src_pad = pace
                .static_pad("src")
                .ok_or_else(|| MediaError::Build("identity has no src pad".into()))?;
            let ghost = gst::GhostPad::with_target(&src_pad)?;
            bin.add_pad(&ghost)?;
            bin.upcast()
        }
    };
    Ok(Some(element))
}

/// A PulseAudio capture (the default source, or a named one).
fn pulse_source(device: Option<&str>) -> Result<gst::Element, MediaError> {
    let src = make("pulsesrc", Some("mic"))?;
    // The pipeline runs on the system clock; the device's clock is not offered.
    src.set_property("provide-clock", false);
    if let Some(device) = device {
        src.set_property("device", device);
    }
    Ok(src)
}

fn add_audio_source(
    pipeline: &gst::Pipeline,
    mixer: &gst::Element,
    source: &gst::Element,
    caps: &gst::Caps,
) -> Result<(), MediaError> {
    let convert = make("audioconvert", None)?;
    let resample = make("audioresample", None)?;
    let filter = gst::ElementFactory::make("capsfilter")
        .property("caps", caps)
        .build()
        .map_err(|_| MediaError::Build("capsfilter missing".into()))?;
    // The queue gives each live source the buffering the mixer's latency needs
    // (without it the latency cannot be configured and data is late).
    let queue = make("queue", None)?;
    let chain = [source, &convert, &resample, &filter, &queue];
    pipeline.add_many(chain)?;
    gst::Element::link_many(chain)?;
    queue.link(mixer)?;
    Ok(())
}

/// First reconnection delay; doubles per failed attempt.
const RECONNECT_FIRST: Duration = Duration::from_millis(500);
/// Longest reconnection delay.
const RECONNECT_MAX: Duration = Duration::from_secs(30);
/// Error-free time after which a rebuilt output counts as up again.
const RECONNECT_SETTLED: Duration = Duration::from_secs(3);

/// Delay before reconnection attempt `attempt` (from 1): 0.5 s, 1 s, 2 s, … 30 s.
pub fn reconnect_delay(attempt: u32) -> Duration {
    RECONNECT_FIRST
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(RECONNECT_MAX)
}

/// Where one output is in its life.
#[derive(Debug)]
enum BranchState {
    /// Built and (as far as we know) sending.
    Up {
        /// When it was (re)built; `None` once it has settled.
        unsettled_since: Option<Instant>,
    },
    /// Torn down after a failure; rebuilt at `at`.
    Waiting { at: Instant },
    /// A file output that failed: not retried, the others go on.
    Failed,
}

/// One output's elements and its two tee pads.
#[derive(Debug)]
struct Branch {
    elements: Vec<gst::Element>,
    tee_pads: [gst::Pad; 2],
}

/// The output branches hanging off the video and audio tees: built at start,
/// and for network outputs torn down and rebuilt with back-off after a failure
/// while every other output keeps going.
struct Branches {
    pipeline: gst::Pipeline,
    video_tee: gst::Element,
    audio_tee: gst::Element,
    outputs: Vec<Output>,
    /// Per output: set (from the bus's sync handler, before the failing
    /// element's error can reach the tee) to make the tee drop that branch's data.
    dead: Arc<[AtomicBool]>,
    built: Vec<Option<Branch>>,
    states: Vec<BranchState>,
    attempts: Vec<u32>,
    generation: u32,
}

impl Branches {
    fn new(
        pipeline: &gst::Pipeline,
        video_tee: gst::Element,
        audio_tee: gst::Element,
        outputs: &[Output],
    ) -> Self {
        Self {
            pipeline: pipeline.clone(),
            video_tee,
            audio_tee,
            outputs: outputs.to_vec(),
            dead: outputs.iter().map(|_| AtomicBool::new(false)).collect(),
            built: outputs.iter().map(|_| None).collect(),
            states: outputs
                .iter()
                .map(|_| BranchState::Up {
                    unsettled_since: None,
                })
                .collect(),
            attempts: vec![0; outputs.len()],
            generation: 0,
        }
    }

    /// Which output an element belongs to, from its name (`out<index>_<generation>_<part>`).
    fn output_of(name: &str) -> Option<usize> {
        name.strip_prefix("out")?.split('_').next()?.parse().ok()
    }

    fn build(&mut self, index: usize) -> Result<(), MediaError> {
        self.generation += 1;
        let output = &self.outputs[index];
        let name = |part: &str| format!("out{index}_{}_{part}", self.generation);
        let mux = match output.container {
            Container::Flv => {
                let mux = make("flvmux", Some(&name("mux")))?;
                mux.set_property("streamable", output.is_network());
                mux
            }
            Container::MpegTs => {
                let mux = make("mpegtsmux", Some(&name("mux")))?;
                // SRT (live mode) carries at most 1316 bytes per message: seven
                // 188-byte TS packets per buffer, or large frames (keyframes
                // with SPS/PPS) are refused by the socket and lost.
                mux.set_property("alignment", 7i32);
                mux
            }
            Container::Mp4 => make("mp4mux", Some(&name("mux")))?,
            Container::Matroska => make("matroskamux", Some(&name("mux")))?,
        };
        let sink = match &output.destination {
            Destination::Rtmp(url) => {
                let sink = make("rtmp2sink", Some(&name("sink")))?;
                sink.set_property("location", url);
                sink
            }
            Destination::Srt(url) => {
                let sink = make("srtsink", Some(&name("sink")))?;
                sink.set_property("uri", url);
                sink.set_property("wait-for-connection", false);
                sink
            }
            Destination::File(path) => {
                let sink = make("filesink", Some(&name("sink")))?;
                sink.set_property("location", path.display().to_string());
                sink
            }
        };
        // Outputs must not hold back the live encoder: sinks do not sync, the queues absorb jitter.
        sink.set_property("sync", false);
        let video_queue = make("queue", Some(&name("vqueue")))?;
        let audio_queue = make("queue", Some(&name("aqueue")))?;
        // Each container wants its own H.264 form (FLV and MP4 `avc`, MPEG-TS
        // `byte-stream` with SPS/PPS in band): a parser per output converts.
        let video_parse = make("h264parse", Some(&name("vparse")))?;
        video_parse.set_property("config-interval", -1i32);
        let elements = vec![
            video_queue.clone(),
            video_parse.clone(),
            audio_queue.clone(),
            mux.clone(),
            sink.clone(),
        ];
        self.pipeline.add_many(&elements)?;
        let mut tee_pads = Vec::with_capacity(2);
        for (tee, queue) in [
            (&self.video_tee, &video_queue),
            (&self.audio_tee, &audio_queue),
        ] {
            let tee_pad = tee
                .request_pad_simple("src_%u")
                .ok_or_else(|| MediaError::Build("tee gave no pad".into()))?;
            let queue_pad = queue
                .static_pad("sink")
                .ok_or_else(|| MediaError::Build("queue has no sink pad".into()))?;
            tee_pad
                .link(&queue_pad)
                .map_err(|err| MediaError::Build(format!("linking an output: {err}")))?;
            let dead = self.dead.clone();
            tee_pad.add_probe(
                gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
                move |_, _| {
                    if dead[index].load(Ordering::Acquire) {
                        gst::PadProbeReturn::Drop
                    } else {
                        gst::PadProbeReturn::Ok
                    }
                },
            );
            tee_pads.push(tee_pad);
        }
        // Linked after the tees so the muxer sees which queue carries video and which audio.
        video_queue.link(&video_parse)?;
        video_parse.link(&mux)?;
        audio_queue.link(&mux)?;
        mux.link(&sink)?;
        let [video_pad, audio_pad]: [gst::Pad; 2] = tee_pads
            .try_into()
            .map_err(|_| MediaError::Build("expected two tee pads".into()))?;
        self.built[index] = Some(Branch {
            elements,
            tee_pads: [video_pad, audio_pad],
        });
        Ok(())
    }

    /// Removes a failed branch from the running pipeline.
    fn tear_down(&mut self, index: usize) {
        let Some(branch) = self.built[index].take() else {
            return;
        };
        for (tee, pad) in [&self.video_tee, &self.audio_tee]
            .into_iter()
            .zip(&branch.tee_pads)
        {
            tee.release_request_pad(pad);
        }
        // Downstream first: a stopped muxer releases the queue threads blocked
        // pushing into it, so stopping the queues cannot deadlock.
        for element in branch.elements.iter().rev() {
            let _ = element.set_state(gst::State::Null);
            let _ = self.pipeline.remove(element);
        }
    }

    /// Reacts to an error of output `index`; returns what to tell the owner.
    fn on_error(&mut self, index: usize, now: Instant) -> Option<MediaEvent> {
        if matches!(
            self.states[index],
            BranchState::Waiting { .. } | BranchState::Failed
        ) {
            return None; // already handled (several elements of a branch may report)
        }
        self.tear_down(index);
        let output = self.outputs[index].to_string();
        if !self.outputs[index].is_network() {
            self.states[index] = BranchState::Failed;
            return None;
        }
        self.attempts[index] += 1;
        let attempt = self.attempts[index];
        let retry_in = reconnect_delay(attempt);
        self.states[index] = BranchState::Waiting { at: now + retry_in };
        warn!(%output, attempt, ?retry_in, "output lost; reconnecting");
        Some(MediaEvent::OutputDown {
            output,
            attempt,
            retry_in,
        })
    }

    /// Rebuilds outputs whose delay has passed; reports outputs that settled.
    fn tick(&mut self, now: Instant, encoder: Option<&gst::Element>) -> Vec<MediaEvent> {
        let mut events = Vec::new();
        for index in 0..self.outputs.len() {
            match self.states[index] {
                BranchState::Waiting { at } if now >= at => {
                    let rebuilt = self.build(index).and_then(|()| {
                        for element in self.built[index]
                            .as_ref()
                            .map_or(&[][..], |b| &b.elements[..])
                        {
                            element
                                .sync_state_with_parent()
                                .map_err(|err| MediaError::State(err.to_string()))?;
                        }
                        Ok(())
                    });
                    self.dead[index].store(false, Ordering::Release);
                    match rebuilt {
                        Ok(()) => {
                            info!(output = %self.outputs[index], "output rebuilt");
                            self.states[index] = BranchState::Up {
                                unsettled_since: Some(now),
                            };
                            // The new muxer must start on a keyframe.
                            if let Some(pad) = encoder.and_then(|e| e.static_pad("src")) {
                                pad.send_event(
                                    gst_video::UpstreamForceKeyUnitEvent::builder()
                                        .all_headers(true)
                                        .build(),
                                );
                            }
                        }
                        Err(err) => {
                            warn!(output = %self.outputs[index], "rebuilding failed: {err}");
                            self.dead[index].store(true, Ordering::Release);
                            self.states[index] = BranchState::Up {
                                unsettled_since: Some(now),
                            };
                            events.extend(self.on_error(index, now));
                        }
                    }
                }
                BranchState::Up {
                    unsettled_since: Some(since),
                } if now.duration_since(since) >= RECONNECT_SETTLED => {
                    self.states[index] = BranchState::Up {
                        unsettled_since: None,
                    };
                    self.attempts[index] = 0;
                    events.push(MediaEvent::OutputUp {
                        output: self.outputs[index].to_string(),
                    });
                }
                _ => {}
            }
        }
        events
    }
}

fn spawn_bus_thread(
    pipeline: &gst::Pipeline,
    mut branches: Branches,
    events: Sender<MediaEvent>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, MediaError> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| MediaError::Build("pipeline has no bus".into()))?;
    // Runs in the failing element's streaming thread, before its error flows
    // back to the tee: from now on the tee drops that branch's data instead of
    // failing the whole pipeline.
    let dead = branches.dead.clone();
    bus.set_sync_handler(move |_, msg| {
        if let gst::MessageView::Error(_) = msg.view()
            && let Some(index) = msg.src().and_then(|s| Branches::output_of(&s.name()))
            && let Some(flag) = dead.get(index)
        {
            flag.store(true, Ordering::Release);
        }
        gst::BusSyncReply::Pass
    });
    let pipeline_name = pipeline.name();
    let encoder = pipeline.by_name("venc");
    std::thread::Builder::new()
        .name("livestream-media-bus".into())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                for event in branches.tick(Instant::now(), encoder.as_ref()) {
                    if events.send(event).is_err() {
                        return;
                    }
                }
                let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
                    continue;
                };
                let event = match msg.view() {
                    gst::MessageView::Error(err) => {
                        let element = msg.src().map(|s| s.name().to_string()).unwrap_or_default();
                        let message = err.error().to_string();
                        match Branches::output_of(&element) {
                            Some(index) => {
                                let output = branches.outputs[index].to_string();
                                warn!(element, %output, "output error: {message}");
                                match branches.on_error(index, Instant::now()) {
                                    Some(event) => event,
                                    None if !branches.outputs[index].is_network() => {
                                        MediaEvent::Error {
                                            output: Some(output),
                                            message,
                                        }
                                    }
                                    None => continue,
                                }
                            }
                            None => {
                                warn!(element, "pipeline error: {message}");
                                MediaEvent::Error {
                                    output: None,
                                    message,
                                }
                            }
                        }
                    }
                    gst::MessageView::Eos(_) => MediaEvent::Eos,
                    gst::MessageView::StateChanged(change)
                        if msg.src().map(|s| s.name()) == Some(pipeline_name.clone())
                            && change.current() == gst::State::Playing =>
                    {
                        MediaEvent::Playing
                    }
                    gst::MessageView::Warning(warning) => {
                        debug!("pipeline warning: {}", warning.error());
                        continue;
                    }
                    _ => continue,
                };
                if events.send(event).is_err() {
                    return;
                }
            }
        })
        .map_err(|err| MediaError::Build(format!("cannot start bus thread: {err}")))
}

fn spawn_pump(
    pipeline: &gst::Pipeline,
    video_src: &gst_app::AppSrc,
    config: &MediaConfig,
    schedule: Arc<Mutex<FrameSchedule<VideoFrame>>>,
    stats: Arc<MediaStats>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, MediaError> {
    let pipeline = pipeline.clone();
    let src = video_src.clone();
    let fps = config.fps;
    let encoder = pipeline
        .by_name("venc")
        .ok_or_else(|| MediaError::Build("encoder missing".into()))?;
    std::thread::Builder::new()
        .name("livestream-frame-pump".into())
        .spawn(move || {
            let mut state = PumpState::default();
            let mut last: Option<VideoFrame> = None;
            let mut caps_of: Option<(PixelFormat, u32, u32)> = None;
            while !stop.load(Ordering::Acquire) {
                let Some(now) = running_now(&pipeline) else {
                    std::thread::sleep(PUMP_IDLE_POLL);
                    continue;
                };
                let step = schedule
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .step(now);
                let (pts, fresh) = match step {
                    PumpStep::Idle => {
                        std::thread::sleep(PUMP_IDLE_POLL);
                        continue;
                    }
                    PumpStep::Wait(ns) => {
                        std::thread::sleep(Duration::from_nanos(ns).min(PUMP_IDLE_POLL));
                        continue;
                    }
                    PumpStep::Emit {
                        pts_ns,
                        frame,
                        superseded,
                        delay_ns,
                    } => {
                        stats
                            .frames_superseded
                            .fetch_add(superseded, Ordering::Relaxed);
                        stats.playout_delay_ns.store(delay_ns, Ordering::Relaxed);
                        (pts_ns, frame)
                    }
                };
                let action = state.tick(fresh.as_ref().map(|f| f.source));
                if let Some(frame) = fresh {
                    last = Some(frame);
                }
                let Some(frame) = last.as_ref() else {
                    continue;
                };
                if matches!(action, TickAction::Wait) {
                    continue;
                }
                let shape = (frame.header.format, frame.header.width, frame.header.height);
                if caps_of != Some(shape) {
                    src.set_caps(Some(&video_caps(shape.0, shape.1, shape.2, fps)));
                    caps_of = Some(shape);
                }
                if let TickAction::Fresh { keyframe: true } = action {
                    let event = gst_video::UpstreamForceKeyUnitEvent::builder()
                        .all_headers(true)
                        .build();
                    if let Some(pad) = encoder.static_pad("src") {
                        pad.send_event(event);
                    }
                    stats.keyframes_forced.fetch_add(1, Ordering::Relaxed);
                }
                // A new buffer header sharing the frame's memory: repeats cost no copy.
                let mut buffer = frame.buffer.copy();
                if let Some(buffer) = buffer.get_mut() {
                    buffer.set_pts(gst::ClockTime::from_nseconds(pts + AAC_DECODE_DELAY_NS));
                    buffer.set_duration(gst::ClockTime::from_nseconds(
                        1_000_000_000 / u64::from(fps),
                    ));
                }
                if src.push_buffer(buffer).is_err() {
                    debug!("video appsrc refused a frame (pipeline stopping)");
                    continue;
                }
                stats.frames_pushed.fetch_add(1, Ordering::Relaxed);
                if matches!(action, TickAction::Repeat) {
                    stats.frames_repeated.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .map_err(|err| MediaError::Build(format!("cannot start frame pump: {err}")))
}

/// How much later a sound is heard than its timestamp says once the AAC
/// track is decoded: the encoder's priming and look-ahead, which FLV,
/// MPEG-TS and Matroska cannot signal and mp4mux does not (measured: a
/// click through voaacenc to FLV, Matroska or MP4 decodes 1600 samples,
/// 33.3 ms, late in ffmpeg).
/// Video frames are stamped that much later, so picture and sound of the
/// same capture instant play together.
const AAC_DECODE_DELAY_NS: u64 = 1_600 * 1_000_000_000 / AUDIO_RATE as u64;

/// Longest the pump sleeps before looking at the clock and its frames again.
const PUMP_IDLE_POLL: Duration = Duration::from_millis(5);

/// Running time now: the pipeline's clock minus its base time (`None`
/// until the pipeline has started).
fn running_now(pipeline: &gst::Pipeline) -> Option<u64> {
    let base = pipeline.base_time()?.nseconds();
    let now = pipeline.clock()?.time().nseconds();
    now.checked_sub(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_backs_off_exponentially_up_to_a_cap() {
        assert_eq!(reconnect_delay(1), Duration::from_millis(500));
        assert_eq!(reconnect_delay(2), Duration::from_secs(1));
        assert_eq!(reconnect_delay(4), Duration::from_secs(4));
        assert_eq!(reconnect_delay(7), Duration::from_secs(30));
        assert_eq!(reconnect_delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn branch_elements_name_their_output() {
        assert_eq!(Branches::output_of("out3_12_sink"), Some(3));
        assert_eq!(Branches::output_of("venc"), None);
        assert_eq!(Branches::output_of("outx_1_mux"), None);
    }
}
