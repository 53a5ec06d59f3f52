//! RTMP(S) ingests: FLV over `rtmp2sink`.

use gstreamer as gst;
use gstreamer::prelude::*;

use super::mux::{muxed_tail, muxer};
use super::{Container, ElementNames, Tail};
use crate::element::make;
use crate::error::MediaError;

/// A streamable muxer into `rtmp2sink`.
pub(super) fn tail(
    pipeline: &gst::Pipeline,
    names: ElementNames,
    container: Container,
    url: &str,
) -> Result<Tail, MediaError> {
    let sink = make("rtmp2sink", Some(&names.part("sink")))?;
    sink.set_property("location", url);
    muxed_tail(pipeline, muxer(container, true, names)?, sink)
}
