//! The output branches hanging off the encode graph's tees: built at start,
//! and for network outputs torn down and rebuilt (as [`Reconnect`] decides)
//! after a failure while every other output keeps going.
//!
//! ```text
//! vtee → queue → h264parse ┐
//!                          ├→ tail (mux → sink, as the output's kind builds it)
//! atee → queue ────────────┘
//! ```
//!
//! A failing branch's data is dropped at its tee pads (a probe reads the
//! branch's dead flag, set from the bus's sync handler), so its error never
//! reaches the encoder or the other outputs.

use core::time::Duration;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use tracing::{info, warn};

use livestream_protocol::OutputProblem;

use super::{ElementNames, Output};
use crate::config::TlsTrust;
use crate::element::{force_keyframe, make, static_pad};
use crate::error::{ElementError, MediaError};
use crate::events::MediaEvent;
use crate::graph::Graph;
use crate::reconnect::{Due, Failure, Reconnect};

/// One build of an output's elements, with its two tee pads.
#[derive(Debug)]
struct Branch {
    elements: Vec<gst::Element>,
    tee_pads: [gst::Pad; 2],
    /// When it was built (a server that closes it soon after refused it).
    built_at: Instant,
}

/// One output: what it is, its elements while built, and its reconnect state.
struct Slot {
    output: Output,
    built: Option<Branch>,
    reconnect: Reconnect,
}

/// Every output branch of the pipeline.
pub(crate) struct Branches {
    pipeline: gst::Pipeline,
    video_tee: gst::Element,
    audio_tee: gst::Element,
    encoder: gst::Element,
    slots: Vec<Slot>,
    /// Which certificates secure servers may present.
    trust: TlsTrust,
    /// Per output: set (from the bus's sync handler, before the failing
    /// element's error can reach the tee) to make the tee drop that branch's data.
    dead: Arc<[AtomicBool]>,
    /// Bumped per build, so a rebuilt branch's elements get new names.
    generation: u32,
}

impl Branches {
    /// Builds a branch per output off `graph`'s tees.
    pub(crate) fn build_all(
        pipeline: &gst::Pipeline,
        graph: &Graph,
        outputs: &[Output],
        trust: TlsTrust,
    ) -> Result<Self, MediaError> {
        let mut branches = Self {
            pipeline: pipeline.clone(),
            video_tee: graph.video_tee.clone(),
            audio_tee: graph.audio_tee.clone(),
            encoder: graph.encoder.clone(),
            slots: outputs
                .iter()
                .map(|output| Slot {
                    output: output.clone(),
                    built: None,
                    reconnect: Reconnect::new(output.is_network()),
                })
                .collect(),
            trust,
            dead: outputs.iter().map(|_| AtomicBool::new(false)).collect(),
            generation: 0,
        };
        for index in 0..outputs.len() {
            branches.build(index)?;
        }
        Ok(branches)
    }

    /// The per-output flags that make the tees drop a failing branch's data.
    pub(crate) fn dead_flags(&self) -> Arc<[AtomicBool]> {
        self.dead.clone()
    }

    /// Reacts to an error of output `index`; returns what to tell the owner.
    pub(crate) fn on_error(
        &mut self,
        index: usize,
        error: ElementError,
        now: Instant,
    ) -> Option<MediaEvent> {
        let output = self.slots[index].output.to_string();
        warn!(%output, debug = error.debug.as_deref(), "output error: {error}");
        let sent_for = self.slots[index]
            .built
            .as_ref()
            .map(|branch| now.saturating_duration_since(branch.built_at));
        let problem = error.problem(sent_for);
        match self.fail(index, now) {
            Failure::AlreadyHandled => None,
            Failure::GiveUp => Some(MediaEvent::Error {
                output: Some(output),
                error,
            }),
            Failure::Retry { attempt, retry_in } => {
                Some(self.down(index, attempt, retry_in, problem))
            }
        }
    }

    /// Rebuilds outputs whose delay has passed; reports outputs that settled
    /// and rebuilds that failed.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<MediaEvent> {
        let mut events = Vec::new();
        for index in 0..self.slots.len() {
            match self.slots[index].reconnect.tick(now) {
                Due::Nothing => {}
                Due::Rebuild => events.extend(self.rebuild(index, now)),
                Due::Settled => events.push(MediaEvent::OutputUp {
                    output: self.slots[index].output.to_string(),
                }),
            }
        }
        events
    }

    /// Builds output `index` into the pipeline (not started).
    fn build(&mut self, index: usize) -> Result<(), MediaError> {
        self.generation += 1;
        let names = ElementNames {
            index,
            generation: self.generation,
        };
        let network = self.slots[index].output.is_network();
        let video_queue = output_queue(&names.part("vqueue"), network)?;
        let audio_queue = output_queue(&names.part("aqueue"), network)?;
        // Each container wants its own H.264 form (FLV and MP4 `avc`, MPEG-TS
        // `byte-stream` with SPS/PPS in band): a parser per output converts.
        let video_parse = make("h264parse", Some(&names.part("vparse")))?;
        video_parse.set_property("config-interval", -1i32);
        self.pipeline
            .add_many([&video_queue, &audio_queue, &video_parse])?;
        let tee_pads = [
            self.tee_pad(&self.video_tee, &video_queue, index)?,
            self.tee_pad(&self.audio_tee, &audio_queue, index)?,
        ];
        // Linked after the tees so the muxer sees which queue carries video and which audio.
        video_queue.link(&video_parse)?;
        let tail = self.slots[index]
            .output
            .build_tail(&self.pipeline, names, self.trust)?;
        video_parse.link(&tail.video_in)?;
        audio_queue.link(&tail.audio_in)?;
        let mut elements = vec![video_queue, video_parse, audio_queue];
        elements.extend(tail.elements);
        self.slots[index].built = Some(Branch {
            elements,
            tee_pads,
            built_at: Instant::now(),
        });
        Ok(())
    }

    /// Links a new pad of `tee` to `queue`; the pad drops data while output `index` is dead.
    fn tee_pad(
        &self,
        tee: &gst::Element,
        queue: &gst::Element,
        index: usize,
    ) -> Result<gst::Pad, MediaError> {
        let tee_pad = tee
            .request_pad_simple("src_%u")
            .ok_or_else(|| MediaError::Build("tee gave no pad".into()))?;
        tee_pad
            .link(&static_pad(queue, "sink")?)
            .map_err(|err| MediaError::Build(format!("linking an output: {err}")))?;
        let dead = self.dead.clone();
        tee_pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, _| {
                if dead[index].load(Ordering::Acquire) {
                    gst::PadProbeReturn::Drop
                } else {
                    gst::PadProbeReturn::Ok
                }
            },
        );
        Ok(tee_pad)
    }

    /// Brings a rebuilt branch to the pipeline's state.
    fn start(&self, index: usize) -> Result<(), MediaError> {
        let elements = self.slots[index]
            .built
            .as_ref()
            .map_or(&[][..], |branch| &branch.elements[..]);
        for element in elements {
            element
                .sync_state_with_parent()
                .map_err(|err| MediaError::State(err.to_string()))?;
        }
        Ok(())
    }

    /// Builds and starts output `index` again; reports a failed rebuild.
    fn rebuild(&mut self, index: usize, now: Instant) -> Option<MediaEvent> {
        let rebuilt = self.build(index).and_then(|()| self.start(index));
        let output = self.slots[index].output.to_string();
        match rebuilt {
            Ok(()) => {
                info!(%output, "output rebuilt");
                self.dead[index].store(false, Ordering::Release);
                // The new muxer must start on a keyframe.
                force_keyframe(&self.encoder);
                None
            }
            Err(err) => {
                warn!(%output, "rebuilding failed: {err}");
                let problem = OutputProblem::Other {
                    message: err.to_string(),
                };
                match self.fail(index, now) {
                    Failure::Retry { attempt, retry_in } => {
                        Some(self.down(index, attempt, retry_in, problem))
                    }
                    // Only outputs that retry are rebuilt.
                    Failure::GiveUp | Failure::AlreadyHandled => None,
                }
            }
        }
    }

    /// Output `index` failed: its branch is torn down unless that was done already.
    fn fail(&mut self, index: usize, now: Instant) -> Failure {
        let failure = self.slots[index].reconnect.on_error(now);
        if failure != Failure::AlreadyHandled {
            self.tear_down(index);
        }
        failure
    }

    /// Removes output `index`'s branch from the running pipeline.
    fn tear_down(&mut self, index: usize) {
        let Some(branch) = self.slots[index].built.take() else {
            return;
        };
        for (tee, pad) in [&self.video_tee, &self.audio_tee]
            .into_iter()
            .zip(&branch.tee_pads)
        {
            tee.release_request_pad(pad);
        }
        // Downstream first: a stopped muxer releases the queue threads blocked
        // pushing into it, so stopping the queues cannot deadlock.
        for element in branch.elements.iter().rev() {
            let _ = element.set_state(gst::State::Null);
            let _ = self.pipeline.remove(element);
        }
    }

    /// The event for output `index` going down before reconnection `attempt`.
    fn down(
        &self,
        index: usize,
        attempt: u32,
        retry_in: Duration,
        problem: OutputProblem,
    ) -> MediaEvent {
        let output = self.slots[index].output.to_string();
        warn!(%output, attempt, ?retry_in, %problem, "output lost; reconnecting");
        MediaEvent::OutputDown {
            output,
            attempt,
            retry_in,
            problem,
        }
    }
}

/// How much a network output may fall behind before its oldest data is
/// dropped: longer than a (re)connection takes, so the keyframe forced for a
/// rebuilt branch is not dropped while its sink connects.
const NETWORK_BACKLOG_NS: u64 = 5_000_000_000;

/// The queue at the head of an output branch. A network output's drops its
/// oldest data once [`NETWORK_BACKLOG_NS`] behind: an ingest that stalls
/// (a stuck server, a saturated uplink) must never hold back the encoder,
/// and with it the recordings and the other outputs; its picture recovers
/// at the next keyframe, as OBS drops frames for a slow connection.
fn output_queue(name: &str, network: bool) -> Result<gst::Element, MediaError> {
    let queue = make("queue", Some(name))?;
    if network {
        queue.set_property("max-size-time", NETWORK_BACKLOG_NS);
        queue.set_property("max-size-buffers", 0u32);
        queue.set_property("max-size-bytes", 0u32);
        queue.set_property_from_str("leaky", "downstream");
    }
    Ok(queue)
}
