//! What the pipeline reports to its owner.

use core::time::Duration;

use livestream_protocol::OutputProblem;

use crate::error::ElementError;

/// What the pipeline reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// An element failed: the shared encode part (the stream is lost), or an
    /// output that is not retried (a file; the other outputs go on).
    Error {
        /// The output that failed, redacted; `None` for the shared encode part.
        output: Option<String>,
        /// What the element reported.
        error: ElementError,
    },
    /// A network output lost its connection; it is rebuilt after `retry_in`.
    OutputDown {
        /// The output, redacted.
        output: String,
        /// Reconnection attempt about to be made, from 1.
        attempt: u32,
        /// Delay before the attempt.
        retry_in: Duration,
        /// Why it went down, for the streamer.
        problem: OutputProblem,
    },
    /// A rebuilt output has been sending without error for a while.
    OutputUp {
        /// The output, redacted.
        output: String,
    },
    /// The microphone failed (the sound server went away): the stream goes
    /// on without it, and it is rebuilt after `retry_in`.
    MicDown {
        /// What its element reported.
        error: ElementError,
        /// Rebuild attempt about to be made, from 1.
        attempt: u32,
        /// Delay before the attempt.
        retry_in: Duration,
    },
    /// A rebuilt microphone has been capturing without error for a while.
    MicUp,
    /// All outputs received end-of-stream (files are finalised).
    Eos,
}
