//! The microphone, in a bin of its own before the mixer: when it fails (the
//! sound server restarts, the device goes away) only the bin is torn down,
//! and it is rebuilt with back-off ([`Reconnect`]) while the stream goes on
//! with the silent bed and the game's audio.
//!
//! Every build gets a new name (`microphone_<n>`), so a late error of a bin
//! already torn down is told apart from one of the current build.

use std::collections::VecDeque;
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use tracing::{info, warn};

use crate::config::MicSource;
use crate::error::{ElementError, MediaError};
use crate::events::MediaEvent;
use crate::graph::{converted_chain, mic_source};
use crate::reconnect::{Due, Failure, Reconnect};

/// Names of the microphone's bins: this, then the build's number.
const BIN_PREFIX: &str = "microphone_";

/// Torn-down builds kept (their late errors arrive within moments).
const RETIRED_KEPT: usize = 4;

/// The microphone's place in the pipeline and its rebuilds.
#[derive(Debug)]
pub(crate) struct Microphone {
    pipeline: gst::Pipeline,
    mixer: gst::Element,
    caps: gst::Caps,
    source: MicSource,
    reconnect: Reconnect,
    generation: u32,
    /// The current build: its bin and the mixer pad it feeds.
    built: Option<(gst::Bin, gst::Pad)>,
    /// The last builds torn down, kept so that their elements still know
    /// their bin when their late errors are read (a dropped bin orphans them).
    retired: VecDeque<gst::Bin>,
}

impl Microphone {
    /// Builds the microphone `source` into `pipeline`, feeding `mixer` in
    /// `caps`; `None` when there is no microphone.
    pub(crate) fn build(
        pipeline: &gst::Pipeline,
        mixer: &gst::Element,
        caps: &gst::Caps,
        source: &MicSource,
    ) -> Result<Option<Self>, MediaError> {
        if *source == MicSource::None {
            return Ok(None);
        }
        let mut mic = Self {
            pipeline: pipeline.clone(),
            mixer: mixer.clone(),
            caps: caps.clone(),
            source: source.clone(),
            reconnect: Reconnect::new(true),
            generation: 0,
            built: None,
            retired: VecDeque::new(),
        };
        mic.attach()?;
        Ok(Some(mic))
    }

    /// Whether `msg` comes from a microphone bin (this build or an old one).
    pub(crate) fn is_from_a_microphone(msg: &gst::Message) -> bool {
        generation_of(msg).is_some()
    }

    /// The microphone reported `error`: the bin is torn down and a rebuild
    /// scheduled; what to tell the owner (nothing for an old build's error).
    pub(crate) fn on_error(
        &mut self,
        msg: &gst::Message,
        error: ElementError,
        now: Instant,
    ) -> Option<MediaEvent> {
        if generation_of(msg) != Some(self.generation) {
            return None; // a bin already torn down
        }
        self.failed(error, now)
    }

    /// Rebuilds the microphone when due, and says when it is back.
    pub(crate) fn tick(&mut self, now: Instant) -> Option<MediaEvent> {
        match self.reconnect.tick(now) {
            Due::Nothing => None,
            Due::Rebuild => match self.attach() {
                Ok(()) => None,
                Err(err) => self.failed(
                    ElementError {
                        element: format!("{BIN_PREFIX}{}", self.generation),
                        message: err.to_string(),
                        debug: None,
                    },
                    now,
                ),
            },
            Due::Settled => {
                info!("microphone back");
                Some(MediaEvent::MicUp)
            }
        }
    }

    fn failed(&mut self, error: ElementError, now: Instant) -> Option<MediaEvent> {
        match self.reconnect.on_error(now) {
            // Another element of the same build reported too (`GiveUp`
            // never comes: the microphone is always retried).
            Failure::AlreadyHandled | Failure::GiveUp => None,
            Failure::Retry { attempt, retry_in } => {
                warn!(%error, attempt, ?retry_in, "microphone lost: the stream goes on without it");
                self.detach();
                Some(MediaEvent::MicDown {
                    error,
                    attempt,
                    retry_in,
                })
            }
        }
    }

    /// Builds a new bin, links it to a new mixer pad, and starts it with the pipeline.
    fn attach(&mut self) -> Result<(), MediaError> {
        self.generation += 1;
        let bin = gst::Bin::with_name(&format!("{BIN_PREFIX}{}", self.generation));
        let source = mic_source(&self.source)?;
        let last = converted_chain(&bin, &source, &self.caps)?;
        let ghost = gst::GhostPad::with_target(&crate::element::static_pad(&last, "src")?)?;
        bin.add_pad(&ghost)?;
        let mixer_pad = self
            .mixer
            .request_pad_simple("sink_%u")
            .ok_or_else(|| MediaError::Build("the mixer gave no pad for the microphone".into()))?;
        if let Err(err) = self.pipeline.add(&bin) {
            self.mixer.release_request_pad(&mixer_pad);
            return Err(err.into());
        }
        // From here on a failure is undone by `detach`.
        self.built = Some((bin.clone(), mixer_pad.clone()));
        ghost
            .link(&mixer_pad)
            .map_err(|err| MediaError::Build(format!("microphone link: {err:?}")))?;
        bin.sync_state_with_parent()
            .map_err(|err| MediaError::State(format!("microphone start: {err}")))?;
        Ok(())
    }

    /// Takes the current bin out of the pipeline (the mixer goes on without it).
    fn detach(&mut self) {
        let Some((bin, mixer_pad)) = self.built.take() else {
            return;
        };
        let _ = bin.set_state(gst::State::Null);
        if let Some(ghost) = bin.static_pad("src") {
            let _ = ghost.unlink(&mixer_pad);
        }
        self.mixer.release_request_pad(&mixer_pad);
        let _ = self.pipeline.remove(&bin);
        if self.retired.len() == RETIRED_KEPT {
            self.retired.pop_front();
        }
        self.retired.push_back(bin);
    }
}

/// The build number of the microphone bin `msg`'s source is in, if any.
fn generation_of(msg: &gst::Message) -> Option<u32> {
    let mut object = msg.src().cloned();
    while let Some(current) = object {
        if let Some(generation) = current
            .name()
            .strip_prefix(BIN_PREFIX)
            .and_then(|n| n.parse().ok())
        {
            return Some(generation);
        }
        object = current.parent();
    }
    None
}
