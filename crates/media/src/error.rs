//! Typed errors: why the pipeline could not be built or run, and what an
//! element reported on the bus.

use gstreamer as gst;
use gstreamer::prelude::*;

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
}

#[cfg(test)]
mod tests {
    use super::*;

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
