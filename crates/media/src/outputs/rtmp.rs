//! RTMP(S) ingests: FLV over `rtmp2sink`.

use gstreamer as gst;
use gstreamer::prelude::*;

use super::mux::{muxed_tail, muxer};
use super::{Container, ElementNames, Tail};
use crate::config::TlsTrust;
use crate::element::make;
use crate::error::MediaError;

/// GIO's certificate checks bar "unknown authority": what
/// [`TlsTrust::AnyAuthorityInsecure`] still checks.
const ALL_BUT_AUTHORITY: &str = "bad-identity+not-activated+expired+revoked+insecure+generic-error";

/// A streamable muxer into `rtmp2sink`.
pub(super) fn tail(
    pipeline: &gst::Pipeline,
    names: ElementNames,
    container: Container,
    url: &str,
    trust: TlsTrust,
) -> Result<Tail, MediaError> {
    let sink = make("rtmp2sink", Some(&names.part("sink")))?;
    sink.set_property("location", url);
    if trust == TlsTrust::AnyAuthorityInsecure {
        sink.set_property_from_str("tls-validation-flags", ALL_BUT_AUTHORITY);
    }
    muxed_tail(pipeline, muxer(container, true, names)?, sink)
}
