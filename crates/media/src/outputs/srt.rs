//! SRT destinations: MPEG-TS over `srtsink` (caller mode).

use gstreamer as gst;
use gstreamer::prelude::*;

use super::mux::{muxed_tail, muxer};
use super::{Container, ElementNames, Tail};
use crate::element::make;
use crate::error::MediaError;

/// A muxer into `srtsink`, which does not wait for the listener to stream.
pub(super) fn tail(
    pipeline: &gst::Pipeline,
    names: ElementNames,
    container: Container,
    url: &str,
) -> Result<Tail, MediaError> {
    let sink = make("srtsink", Some(&names.part("sink")))?;
    sink.set_property("uri", url);
    sink.set_property("wait-for-connection", false);
    muxed_tail(pipeline, muxer(container, true, names)?, sink)
}
