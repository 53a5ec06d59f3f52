//! Typed errors: why the pipeline could not be built or run, and what an
//! element reported on the bus.

use core::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use livestream_protocol::OutputProblem;

use crate::reconnect::SETTLE;

/// Why the pipeline could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// GStreamer could not be initialised.
    #[error("GStreamer init failed: {0}")]
    Init(#[from] gst::glib::Error),
    /// A configuration value is out of range.
    #[error("invalid media config: {0}")]
    Config(String),
    /// An element factory is not installed.
    #[error(
        "GStreamer element {0:?} is missing (install its plugin package; see scripts/setup.sh)"
    )]
    MissingElement(String),
    /// Elements could not be added, linked or given pads.
    #[error("building the pipeline failed: {0}")]
    Build(String),
    /// The pipeline refused to change state.
    #[error("pipeline state change failed: {0}")]
    State(String),
}

impl From<gst::glib::BoolError> for MediaError {
    fn from(err: gst::glib::BoolError) -> Self {
        Self::Build(err.to_string())
    }
}

/// An error an element posted on the bus, with everything GStreamer said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{element}: {message}")]
pub struct ElementError {
    /// Path of the element that failed (`/GstPipeline:livestream/GstRtmp2Sink:out0_1_sink`);
    /// empty when the message had no source.
    pub element: String,
    /// What GStreamer said.
    pub message: String,
    /// GStreamer's debug text (where in the element, the system error), if any.
    pub debug: Option<String>,
}

impl ElementError {
    /// Reads an error message off the bus.
    pub fn from_message(msg: &gst::Message, err: &gst::message::Error) -> Self {
        Self {
            element: msg
                .src()
                .map(|s| s.path_string().to_string())
                .unwrap_or_default(),
            message: err.error().to_string(),
            debug: err.debug().map(|d| d.to_string()),
        }
    }

    /// What this error means for a streamer, read from what GStreamer 1.22
    /// says (`rtmp2sink`, `filesink`). `sent_for` is how long a network
    /// output had been running: a server that closes a connection it took
    /// within [`SETTLE`] refused the stream (ingests answer a wrong key so),
    /// later it lost it.
    pub fn problem(&self, sent_for: Option<Duration>) -> OutputProblem {
        let debug = self.debug.as_deref().unwrap_or_default();
        let says = |text: &str| self.message.contains(text) || debug.contains(text);
        if says("g-tls-error-quark") || says("TLS") {
            OutputProblem::Insecure
        } else if says("g-resolver-error-quark") || says("Error resolving") {
            OutputProblem::UnknownServer
        } else if says("'publish' cmd failed") {
            OutputProblem::KeyRefused
        } else if says("closed remotely") || says("Broken pipe") || says("reset by peer") {
            match sent_for {
                Some(running) if running < SETTLE => OutputProblem::KeyRefused,
                _ => OutputProblem::ConnectionLost,
            }
        } else if says("Connection refused")
            || says("Failed to connect")
            || says("timed out")
            || says("unreachable")
        {
            OutputProblem::Unreachable
        } else if says("No space left") {
            OutputProblem::DiskFull
        } else {
            OutputProblem::Other {
                message: self.message.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `rtmp2sink` and `filesink` said in each case, on Debian 12's GStreamer 1.22.
    #[test]
    fn streamers_read_what_went_wrong() {
        let error = |message: &str, debug: &str| ElementError {
            element: "/GstPipeline:livestream/GstRtmp2Sink:out0_1_sink".into(),
            message: message.into(),
            debug: Some(debug.into()),
        };
        let closed = error(
            "Connection error: connection closed remotely",
            "../gst/rtmp2/gstrtmp2sink.c(1085): error_callback (): domain g-io-error-quark, code 44",
        );
        let second = Some(Duration::from_secs(1));
        let publish = error(
            "Failed to connect: 'publish' cmd failed: connection closed remotely",
            "../gst/rtmp2/gstrtmp2sink.c(1117): send_connect_error (): domain g-io-error-quark, code 0",
        );
        assert_eq!(publish.problem(None), OutputProblem::KeyRefused);
        let minute = Some(Duration::from_secs(60));
        assert_eq!(closed.problem(second), OutputProblem::KeyRefused);
        assert_eq!(closed.problem(minute), OutputProblem::ConnectionLost);
        assert_eq!(closed.problem(None), OutputProblem::ConnectionLost);
        let refused = error(
            "Connection refused: Could not connect to 127.0.0.1: Connection refused",
            "../gst/rtmp2/gstrtmp2sink.c(1114): send_connect_error ()",
        );
        assert_eq!(refused.problem(second), OutputProblem::Unreachable);
        let unknown = error(
            "Failed to connect: Error resolving “nonexistent.invalid”: Name or service not known",
            "send_connect_error (): domain g-resolver-error-quark, code 0",
        );
        assert_eq!(unknown.problem(second), OutputProblem::UnknownServer);
        let untrusted = error(
            "Failed to connect: Unacceptable TLS certificate",
            "send_connect_error (): domain g-tls-error-quark, code 2",
        );
        assert_eq!(untrusted.problem(second), OutputProblem::Insecure);
        let full = error(
            "Error while writing to file \"/v/a.mkv\".",
            "../plugins/elements/gstfilesink.c(702): No space left on device",
        );
        assert_eq!(full.problem(None), OutputProblem::DiskFull);
        let odd = error(
            "Internal data stream error.",
            "streaming stopped, reason error",
        );
        assert_eq!(
            odd.problem(None),
            OutputProblem::Other {
                message: "Internal data stream error.".into()
            }
        );
    }

    #[test]
    fn an_element_error_keeps_the_path_and_debug_text() {
        gst::init().unwrap();
        let bin = gst::Bin::with_name("outer");
        let sink = gst::ElementFactory::make("fakesink")
            .name("out0_3_sink")
            .build()
            .unwrap();
        bin.add(&sink).unwrap();
        let msg = gst::message::Error::builder(gst::ResourceError::OpenWrite, "Could not open")
            .src(&sink)
            .debug("filesink.c(42): no such directory")
            .build();
        let gst::MessageView::Error(err) = msg.view() else {
            unreachable!("built an error message");
        };
        let error = ElementError::from_message(&msg, err);
        assert_eq!(error.element, "/GstBin:outer/GstFakeSink:out0_3_sink");
        assert_eq!(error.message, "Could not open");
        assert_eq!(
            error.debug.as_deref(),
            Some("filesink.c(42): no such directory")
        );
        assert_eq!(
            error.to_string(),
            "/GstBin:outer/GstFakeSink:out0_3_sink: Could not open"
        );
    }
}
