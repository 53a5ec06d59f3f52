//! Finishing a stream off the host loop. Ending a stream waits for end of
//! stream through every output (files finalised, network sessions closed,
//! up to [`STOP_TIMEOUT`], then a bounded teardown): seconds in which games,
//! `ctl` and the dashboard must still be answered. So a stream is finished
//! on a thread of its own, and the loop only looks whether it is done.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};
use tracing::{error, info};

use crate::media_backend::StreamSink;

/// How long the pipeline gets to finalise files and close sessions on stop.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What is known when the finishing thread ended without its outcome.
const UNFINISHED: &str = "the stream could not be finished: recordings may lack their index";

/// A stream being finished on its thread.
pub struct Finishing {
    done: Receiver<Result<(), String>>,
    thread: Option<JoinHandle<()>>,
}

impl core::fmt::Debug for Finishing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Finishing").finish_non_exhaustive()
    }
}

impl Finishing {
    /// Starts finishing `sink` on its own thread.
    pub fn start(sink: Box<dyn StreamSink>) -> Self {
        let (report, done) = crossbeam_channel::bounded(1);
        let thread = std::thread::Builder::new()
            .name("stream-stop".into())
            .spawn(move || {
                let _ = report.send(finish(sink));
            })
            .map_err(|err| error!("cannot start the thread that finishes the stream: {err}"))
            .ok();
        // Without its thread the sink was dropped unfinished: `poll` says so.
        Self { done, thread }
    }

    /// The outcome once the stream is finished (never waits).
    pub fn poll(&mut self) -> Option<Result<(), String>> {
        match self.done.try_recv() {
            Ok(outcome) => {
                self.join();
                Some(outcome)
            }
            // The thread ended without a word (it panicked) or never ran.
            Err(TryRecvError::Disconnected) => {
                self.join();
                Some(Err(UNFINISHED.into()))
            }
            Err(TryRecvError::Empty) => None,
        }
    }

    /// Waits until the stream is finished (the host is exiting).
    pub fn wait(mut self) -> Result<(), String> {
        let outcome = self.done.recv().unwrap_or_else(|_| Err(UNFINISHED.into()));
        self.join();
        outcome
    }

    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Ends `sink`'s stream cleanly within [`STOP_TIMEOUT`].
fn finish(sink: Box<dyn StreamSink>) -> Result<(), String> {
    info!("finishing the stream");
    let outcome = sink.stop(STOP_TIMEOUT).map_err(|err| {
        error!("stream did not finish cleanly: {err}");
        err.to_string()
    });
    crate::memory::release_freed_memory();
    outcome
}
