//! The encode graph shared by every output: raw video and audio in, one
//! H.264 and one AAC stream out, each on a tee the outputs hang off.
//!
//! ```text
//! appsrc video (I420/RGBA, any size) → videoconvert → videoscale → I420 WxH → x264enc → h264parse → vtee
//! audiotestsrc silence ┐
//! appsrc game audio ───┼→ audiomixer → 48 kHz stereo → voaacenc → aacparse → atee
//! microphone ──────────┘
//! ```

use std::sync::Arc;
use std::sync::atomic::Ordering;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_audio as gst_audio;
use gstreamer_video as gst_video;
use livestream_protocol::PixelFormat;

use crate::config::{AUDIO_CHANNELS, AUDIO_RATE, MediaConfig, MicSource};
use crate::element::{caps_filter, make, static_pad};
use crate::error::MediaError;
use crate::frame::video_caps;
use crate::mic::Microphone;
use crate::pump::MAX_PLAYOUT_DELAY_NS;
use crate::stats::MediaStats;

/// Name of the video appsrc.
pub(crate) const VIDEO_SRC: &str = "video";
/// Name of the game audio appsrc.
pub(crate) const GAME_AUDIO_SRC: &str = "game_audio";

/// The built encode graph: where media goes in and where it comes out.
pub(crate) struct Graph {
    /// Raw frames in.
    pub video_src: gst_app::AppSrc,
    /// The shown game's PCM in.
    pub audio_src: gst_app::AppSrc,
    /// The H.264 encoder (asked for keyframes).
    pub encoder: gst::Element,
    /// Encoded video out.
    pub video_tee: gst::Element,
    /// Encoded audio out.
    pub audio_tee: gst::Element,
    /// The microphone, when one is mixed in.
    pub microphone: Option<Microphone>,
}

/// Builds the video and audio chains into `pipeline`.
pub(crate) fn build(
    pipeline: &gst::Pipeline,
    config: &MediaConfig,
    stats: &Arc<MediaStats>,
) -> Result<Graph, MediaError> {
    let (video_src, encoder, video_tee) = build_video(pipeline, config, stats)?;
    let (audio_src, audio_tee, microphone) = build_audio(pipeline, config, stats)?;
    Ok(Graph {
        video_src,
        audio_src,
        encoder,
        video_tee,
        audio_tee,
        microphone,
    })
}

/// A live appsrc of `caps` taking buffers stamped by their owner; it holds
/// at most `max_time` and then drops the oldest rather than block the owner.
fn live_appsrc(name: &str, caps: &gst::Caps, max_time: gst::ClockTime) -> gst_app::AppSrc {
    gst_app::AppSrc::builder()
        .name(name)
        .caps(caps)
        .format(gst::Format::Time)
        .is_live(true)
        .do_timestamp(false)
        .stream_type(gst_app::AppStreamType::Stream)
        .max_time(max_time)
        .leaky_type(gst_app::AppLeakyType::Downstream)
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
    let sink = static_pad(&tee, "sink")?;
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
) -> Result<(gst_app::AppSrc, gst::Element, gst::Element), MediaError> {
    let caps = video_caps(PixelFormat::I420, config.width, config.height, config.fps);
    let src = live_appsrc(VIDEO_SRC, &caps, gst::ClockTime::from_mseconds(500));
    let convert = make("videoconvert", None)?;
    let scale = make("videoscale", None)?;
    scale.set_property("add-borders", true);
    let filter = caps_filter(
        &gst_video::VideoCapsBuilder::new()
            .format(gst_video::VideoFormat::I420)
            .width(config.width as i32)
            .height(config.height as i32)
            .pixel_aspect_ratio(gst::Fraction::new(1, 1))
            .build(),
    )?;
    let encoder = make("x264enc", Some("venc"))?;
    encoder.set_property_from_str("tune", "zerolatency");
    encoder.set_property_from_str("speed-preset", &config.x264_preset);
    encoder.set_property_from_str("pass", "cbr");
    encoder.set_property("bitrate", config.video_kbps);
    encoder.set_property("key-int-max", config.fps * config.keyframe_seconds);
    // What Twitch's and YouTube's ingest guides ask for: High profile, whatever
    // the preset (ultrafast alone turns CABAC and 8x8 transforms off, which
    // makes the stream Constrained Baseline).
    encoder.set_property("cabac", true);
    encoder.set_property("dct8x8", true);
    let profile = caps_filter(
        &gst::Caps::builder("video/x-h264")
            .field("profile", "high")
            .build(),
    )?;
    let parse = make("h264parse", None)?;
    parse.set_property("config-interval", -1i32);
    let tee = encoded_tee("vtee", stats)?;
    let chain = [
        src.upcast_ref(),
        &convert,
        &scale,
        &filter,
        &encoder,
        &profile,
        &parse,
        &tee,
    ];
    pipeline.add_many(chain)?;
    gst::Element::link_many(chain)?;
    Ok((src, encoder, tee))
}

/// Interleaved `f32` audio at `rate` with `channels` (the wire's format, and
/// the mix's at 48 kHz stereo); more than two channels in the usual layout.
pub(crate) fn raw_audio_caps(rate: u32, channels: u16) -> gst::Caps {
    let builder = gst_audio::AudioCapsBuilder::new_interleaved()
        .format(gst_audio::AudioFormat::F32le)
        .rate(rate as i32)
        .channels(i32::from(channels));
    if channels > 2 {
        builder.fallback_channel_mask().build()
    } else {
        builder.build()
    }
}

fn build_audio(
    pipeline: &gst::Pipeline,
    config: &MediaConfig,
    stats: &Arc<MediaStats>,
) -> Result<(gst_app::AppSrc, gst::Element, Option<Microphone>), MediaError> {
    let raw_caps = raw_audio_caps(AUDIO_RATE, AUDIO_CHANNELS);
    let mixer = make("audiomixer", Some("amix"))?;
    // Wait this long for late game audio before mixing without it.
    // Video waits as long for late frames, so both reach the muxer alike.
    mixer.set_property("latency", MAX_PLAYOUT_DELAY_NS);
    let mixed_filter = caps_filter(&raw_caps)?;
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

    let game = live_appsrc(GAME_AUDIO_SRC, &raw_caps, gst::ClockTime::from_seconds(1));
    add_audio_source(pipeline, &mixer, game.upcast_ref(), &raw_caps)?;

    let microphone = Microphone::build(pipeline, &mixer, &raw_caps, &config.mic)?;
    Ok((game, tee, microphone))
}

/// Converts and resamples `source` to the mixer's format and queues it into the mixer.
fn add_audio_source(
    pipeline: &gst::Pipeline,
    mixer: &gst::Element,
    source: &gst::Element,
    caps: &gst::Caps,
) -> Result<(), MediaError> {
    converted_chain(pipeline.upcast_ref(), source, caps)?.link(mixer)?;
    Ok(())
}

/// `source → audioconvert → audioresample → caps → queue` in `bin`; returns
/// the queue, whose source pad goes to the mixer.
pub(crate) fn converted_chain(
    bin: &gst::Bin,
    source: &gst::Element,
    caps: &gst::Caps,
) -> Result<gst::Element, MediaError> {
    let convert = make("audioconvert", None)?;
    let resample = make("audioresample", None)?;
    let filter = caps_filter(caps)?;
    // The queue gives each live source the buffering the mixer's latency needs
    // (without it the latency cannot be configured and data is late).
    let queue = make("queue", None)?;
    let chain = [source, &convert, &resample, &filter, &queue];
    bin.add_many(chain)?;
    gst::Element::link_many(chain)?;
    Ok(queue)
}

/// The microphone's source element, named `mic` (never for [`MicSource::None`]).
pub(crate) fn mic_source(mic: &MicSource) -> Result<gst::Element, MediaError> {
    let element = match mic {
        MicSource::None => return Err(MediaError::Config("no microphone".into())),
        MicSource::Auto => pulse_source(None)?,
        MicSource::Pulse(device) => pulse_source(Some(device))?,
        MicSource::TestTone => {
            let src = make("audiotestsrc", Some("mic"))?;
            src.set_property("is-live", true);
            src.set_property("freq", 1000.0f64);
            src.set_property("volume", 0.3f64);
            src
        }
        MicSource::File(path) => wav_source(path)?,
    };
    Ok(element)
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

/// A WAV file played in real time, as a bin with one source pad.
fn wav_source(path: &std::path::Path) -> Result<gst::Element, MediaError> {
    let bin = gst::Bin::with_name("mic");
    let file = make("filesrc", None)?;
    file.set_property("location", path.display().to_string());
    let parse = make("wavparse", None)?;
    let pace = make("identity", None)?;
    pace.set_property("sync", true);
    bin.add_many([&file, &parse, &pace])?;
    gst::Element::link_many([&file, &parse])?;
    let pace_sink = static_pad(&pace, "sink")?;
    // wavparse exposes its pad once it has read the header.
    parse.connect_pad_added(move |_, pad| {
        let _ = pad.link(&pace_sink);
    });
    let ghost = gst::GhostPad::with_target(&static_pad(&pace, "src")?)?;
    bin.add_pad(&ghost)?;
    Ok(bin.upcast())
}
