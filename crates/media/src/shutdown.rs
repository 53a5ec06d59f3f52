//! Ending the stream: end-of-stream into every source, a bounded wait for
//! it to reach every output, and a bounded change to NULL.

use core::time::Duration;
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use tracing::warn;

use crate::error::{ElementError, MediaError};
use crate::graph::{GAME_AUDIO_SRC, VIDEO_SRC};

/// How long the final change to NULL may take before the pipeline is left behind.
pub(crate) const NULL_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends an EOS event to each live source (silence, microphone), from a helper thread.
///
/// Sending it can wait on a source's lock while that source is blocked
/// reading a device or pushing into a full queue, so it is never waited for.
/// It goes to each source, not to the pipeline: the pipeline would hold its
/// state lock meanwhile, and the state change to NULL (which unblocks such a
/// source by flushing the queues after it) could never start. The appsrcs
/// are ended by their owner.
pub(crate) fn end_live_sources(pipeline: &gst::Pipeline) {
    let sources: Vec<gst::Element> = pipeline
        .iterate_sources()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|source| source.name() != VIDEO_SRC && source.name() != GAME_AUDIO_SRC)
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
}

/// Waits until end-of-stream reached every output (true) or `timeout` passed;
/// errors meanwhile are logged.
pub(crate) fn wait_for_eos(
    pipeline: &gst::Pipeline,
    timeout: Duration,
) -> Result<bool, MediaError> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| MediaError::State("pipeline has no bus".into()))?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let Some(msg) = bus.timed_pop_filtered(
            Some(gst::ClockTime::from_mseconds(50)),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => return Ok(true),
            gst::MessageView::Error(err) => {
                let error = ElementError::from_message(&msg, err);
                warn!(
                    debug = error.debug.as_deref(),
                    "error while finishing the stream: {error}"
                );
            }
            _ => {}
        }
    }
    Ok(false)
}

/// Sets the pipeline to NULL from a helper thread and waits at most `timeout`.
///
/// A safety net: a stop that deadlocks inside GStreamer (one such case, an
/// encoder's allocation query stuck in an output queue, is prevented by the
/// encode graph's tees) leaves the pipeline abandoned (its threads die with
/// the process) and returns an error, rather than hanging the host.
pub(crate) fn set_null(pipeline: &gst::Pipeline, timeout: Duration) -> Result<(), MediaError> {
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
