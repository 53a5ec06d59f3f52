//! Small helpers for making elements and talking to them.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

use crate::error::MediaError;

/// Makes an element of `factory`, named `name` if given.
pub(crate) fn make(factory: &str, name: Option<&str>) -> Result<gst::Element, MediaError> {
    let mut builder = gst::ElementFactory::make(factory);
    if let Some(name) = name {
        builder = builder.name(name);
    }
    builder
        .build()
        .map_err(|_| MediaError::MissingElement(factory.to_owned()))
}

/// A `capsfilter` letting only `caps` through.
pub(crate) fn caps_filter(caps: &gst::Caps) -> Result<gst::Element, MediaError> {
    let filter = make("capsfilter", None)?;
    filter.set_property("caps", caps);
    Ok(filter)
}

/// An element's always-present pad `name`.
pub(crate) fn static_pad(element: &gst::Element, name: &str) -> Result<gst::Pad, MediaError> {
    element
        .static_pad(name)
        .ok_or_else(|| MediaError::Build(format!("{} has no {name} pad", element.name())))
}

/// Asks `encoder` for a keyframe with its headers (SPS/PPS) next.
pub(crate) fn force_keyframe(encoder: &gst::Element) {
    if let Some(pad) = encoder.static_pad("src") {
        pad.send_event(
            gst_video::UpstreamForceKeyUnitEvent::builder()
                .all_headers(true)
                .build(),
        );
    }
}
