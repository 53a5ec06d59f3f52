//! The tail shared by every kind that muxes: one muxer for both streams, then a sink.

use gstreamer as gst;
use gstreamer::prelude::*;

use super::{Container, ElementNames, Tail};
use crate::element::make;
use crate::error::MediaError;

/// How much of a recording a crash may cost at most (beside what the
/// encoder holds): the length of an MP4 fragment or a Matroska cluster.
const CRASH_LOSS_NS: u64 = 1_000_000_000;

/// The muxer for `container`; `streamable` when nothing can seek back to
/// rewrite headers (a network output).
pub(super) fn muxer(
    container: Container,
    streamable: bool,
    names: ElementNames,
) -> Result<gst::Element, MediaError> {
    let name = names.part("mux");
    let mux = match container {
        Container::Flv => {
            let mux = make("flvmux", Some(&name))?;
            mux.set_property("streamable", streamable);
            mux
        }
        Container::MpegTs => {
            let mux = make("mpegtsmux", Some(&name))?;
            // SRT (live mode) carries at most 1316 bytes per message: seven
            // 188-byte TS packets per buffer, or large frames (keyframes
            // with SPS/PPS) are refused by the socket and lost.
            mux.set_property("alignment", 7i32);
            mux
        }
        Container::Mp4 => {
            let mux = make("mp4mux", Some(&name))?;
            // Fragmented MP4: a fragment a second, each complete on disk
            // before the next starts, so a file cut short (a crash, a
            // kill, power loss) plays up to its last fragment; a normal
            // stop adds the duration and the fragment index (`mfra`) that
            // players seek with. (GStreamer 1.22's "first-moov-then-
            // finalise" mode, which would end in an ordinary MP4, writes
            // a zero-size sample after a forced keyframe, and a file cut
            // short then does not open at all.)
            mux.set_property("fragment-duration", (CRASH_LOSS_NS / 1_000_000) as u32);
            mux.set_property_from_str("fragment-mode", "dash-or-mss");
            mux
        }
        Container::Matroska => {
            let mux = make("matroskamux", Some(&name))?;
            // A cluster a second at least (not only at keyframes): a file
            // cut short plays up to its last complete cluster.
            mux.set_property("max-cluster-duration", CRASH_LOSS_NS as i64);
            mux
        }
    };
    Ok(mux)
}

/// `mux → sink` in `pipeline`; both streams go into the muxer.
pub(super) fn muxed_tail(
    pipeline: &gst::Pipeline,
    mux: gst::Element,
    sink: gst::Element,
) -> Result<Tail, MediaError> {
    // Outputs must not hold back the live encoder: sinks do not sync, the queues absorb jitter.
    sink.set_property("sync", false);
    pipeline.add_many([&mux, &sink])?;
    mux.link(&sink)?;
    Ok(Tail {
        elements: vec![mux.clone(), sink],
        video_in: mux.clone(),
        audio_in: mux,
    })
}
