//! Running time: where the pipeline's clock (`CLOCK_MONOTONIC`, shared by
//! every process on the machine) is, relative to the pipeline's start.

use gstreamer as gst;
use gstreamer::prelude::*;

/// Running time (ns since the pipeline started) of a `CLOCK_MONOTONIC`
/// timestamp; `None` before the pipeline has started or for an earlier time.
pub(crate) fn running_time_of(pipeline: &gst::Pipeline, monotonic_ns: u64) -> Option<u64> {
    let base = pipeline.base_time()?.nseconds();
    monotonic_ns.checked_sub(base)
}

/// Running time now (`None` until the pipeline has started).
pub(crate) fn running_now(pipeline: &gst::Pipeline) -> Option<u64> {
    running_time_of(pipeline, pipeline.clock()?.time().nseconds())
}
