//! The bus: errors, end of stream and the reconnections of the outputs and
//! the microphone become [`MediaEvent`]s for the owner.
//!
//! Two parts: a sync handler, running in the failing element's own thread,
//! marks an output dead before its error can flow back to the tee; the bus
//! thread then tears that branch down and lets [`Branches`] rebuild it (and
//! the [`Microphone`] rebuild itself).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::Sender;
use gstreamer as gst;
use gstreamer::prelude::*;
use tracing::{debug, warn};

use crate::error::{ElementError, MediaError};
use crate::events::MediaEvent;
use crate::mic::Microphone;
use crate::outputs::ElementNames;
use crate::outputs::branches::Branches;

/// How long the bus thread waits for a message before looking at the outputs again.
const POLL: gst::ClockTime = gst::ClockTime::from_mseconds(100);

/// Installs the sync handler and starts the bus thread, which runs until `stop`.
pub(crate) fn spawn(
    pipeline: &gst::Pipeline,
    branches: Branches,
    microphone: Option<Microphone>,
    events: Sender<MediaEvent>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, MediaError> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| MediaError::Build("pipeline has no bus".into()))?;
    let dead = branches.dead_flags();
    bus.set_sync_handler(move |_, msg| {
        mark_dead(&dead, msg);
        gst::BusSyncReply::Pass
    });
    std::thread::Builder::new()
        .name("livestream-media-bus".into())
        .spawn(move || {
            let mut parts = Parts {
                branches,
                microphone,
            };
            run(&bus, &mut parts, &events, &stop);
        })
        .map_err(|err| MediaError::Build(format!("cannot start bus thread: {err}")))
}

/// From an output's error on, its tee drops that branch's data instead of
/// failing the whole pipeline (runs before the error flows back to the tee).
fn mark_dead(dead: &[AtomicBool], msg: &gst::Message) {
    if let gst::MessageView::Error(_) = msg.view()
        && let Some(index) = output_of(msg)
        && let Some(flag) = dead.get(index)
    {
        flag.store(true, Ordering::Release);
    }
}

/// The output whose element posted `msg`, if any.
fn output_of(msg: &gst::Message) -> Option<usize> {
    ElementNames::output_of(&msg.src()?.name())
}

/// What the bus thread rebuilds after a failure.
struct Parts {
    branches: Branches,
    microphone: Option<Microphone>,
}

/// The bus thread: rebuilds outputs and the microphone when due, turns
/// messages into events.
fn run(bus: &gst::Bus, parts: &mut Parts, events: &Sender<MediaEvent>, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        let mic = parts.microphone.as_mut().and_then(|mic| mic.tick(now));
        if !send_all(events, parts.branches.tick(now).into_iter().chain(mic)) {
            return; // the owner is gone
        }
        let said = bus.timed_pop(POLL).and_then(|msg| on_message(&msg, parts));
        if !send_all(events, said) {
            return;
        }
    }
}

/// Sends `batch` in order; false once the owner is gone.
fn send_all(events: &Sender<MediaEvent>, batch: impl IntoIterator<Item = MediaEvent>) -> bool {
    batch.into_iter().all(|event| events.send(event).is_ok())
}

/// What one bus message means for the owner.
fn on_message(msg: &gst::Message, parts: &mut Parts) -> Option<MediaEvent> {
    match msg.view() {
        gst::MessageView::Error(err) => on_error(msg, ElementError::from_message(msg, err), parts),
        gst::MessageView::Eos(_) => Some(MediaEvent::Eos),
        gst::MessageView::Warning(warning) => {
            debug!("pipeline warning: {}", warning.error());
            None
        }
        _ => None,
    }
}

/// An output's error is the branches' business, the microphone's its own;
/// any other loses the stream.
fn on_error(msg: &gst::Message, error: ElementError, parts: &mut Parts) -> Option<MediaEvent> {
    if let Some(index) = output_of(msg) {
        return parts.branches.on_error(index, error, Instant::now());
    }
    if Microphone::is_from_a_microphone(msg) {
        return parts
            .microphone
            .as_mut()
            .and_then(|mic| mic.on_error(msg, error, Instant::now()));
    }
    warn!(debug = error.debug.as_deref(), "pipeline error: {error}");
    Some(MediaEvent::Error {
        output: None,
        error,
    })
}
