//! The tail shared by every kind that muxes: one muxer for both streams, then a sink.

use gstreamer as gst;
use gstreamer::prelude::*;

use super::{Container, ElementNames, Tail};
use crate::element::make;
use crate::error::MediaError;

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
        Container::Mp4 => make("mp4mux", Some(&name))?,
        Container::Matroska => make("matroskamux", Some(&name))?,
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
