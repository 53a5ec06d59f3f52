//! Local files: FLV, MP4 or Matroska (by extension) through `filesink`.

use std::path::{Path, PathBuf};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::mux::{muxed_tail, muxer};
use super::{Container, Destination, ElementNames, Output, OutputError, Tail};
use crate::element::make;
use crate::error::MediaError;

/// `PATH.flv|.mp4|.mkv` (what follows `file:`).
pub(super) fn parse(path: &str) -> Result<Output, OutputError> {
    let path = PathBuf::from(path);
    let container = match path.extension().and_then(|e| e.to_str()) {
        Some("flv") => Container::Flv,
        Some("mp4") => Container::Mp4,
        Some("mkv") => Container::Matroska,
        _ => return Err(OutputError::FileExtension(path.display().to_string())),
    };
    Ok(Output {
        destination: Destination::File(path),
        container,
    })
}

/// A (seekable) muxer into `filesink`.
pub(super) fn tail(
    pipeline: &gst::Pipeline,
    names: ElementNames,
    container: Container,
    path: &Path,
) -> Result<Tail, MediaError> {
    let sink = make("filesink", Some(&names.part("sink")))?;
    sink.set_property("location", path.display().to_string());
    // Every write reaches the kernel at once: a crash of the host then
    // loses nothing the muxer has written (the kernel keeps it).
    sink.set_property_from_str("buffer-mode", "unbuffered");
    muxed_tail(pipeline, muxer(container, false, names)?, sink)
}
