//! Where the stream goes: parsing `--output` values, redacting secrets, and
//! building each output's elements.
//!
//! A stream key is a password: the [`core::fmt::Display`] of an [`Output`] is
//! always redacted, and the full URL is only handed to the sink element.
//!
//! Every output is a branch off the encode graph's two tees (see
//! [`branches`]): a queue per stream, then a [`Tail`] that its kind builds
//! (one file per kind: [`rtmp`], [`srt`], [`file`]). A new kind is a new
//! file, a [`Destination`] variant, and its arms in [`Output::parse`],
//! `Display` and [`Output::build_tail`].

pub(crate) mod branches;
mod file;
mod mux;
mod redact;
mod rtmp;
mod srt;

use std::path::PathBuf;

use gstreamer as gst;

use crate::config::TlsTrust;
use crate::error::MediaError;

pub use redact::redact_url;

/// Container used for an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// FLV (RTMP, `.flv` files).
    Flv,
    /// MPEG-TS (SRT).
    MpegTs,
    /// MP4 (`.mp4` files): fragmented, so a crash loses at most a second;
    /// a normal stop adds the duration and the fragment index.
    Mp4,
    /// Matroska (`.mkv` files).
    Matroska,
}

/// Where an output sends the muxed stream.
#[derive(Clone, PartialEq, Eq)]
pub enum Destination {
    /// An RTMP ingest: `rtmp://host[:port]/app/key` (or `rtmps://`).
    Rtmp(String),
    /// An SRT destination: `srt://host:port[?streamid=…]`.
    Srt(String),
    /// A local file.
    File(PathBuf),
}

/// One output of the stream.
#[derive(Clone, PartialEq, Eq)]
pub struct Output {
    /// Where it goes (holds secrets: never log it directly).
    pub destination: Destination,
    /// How it is muxed.
    pub container: Container,
}

/// Why an `--output` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// Not one of the supported forms.
    #[error("unsupported output {0:?}: use rtmp://…, srt://… or file:PATH.flv|.mp4|.mkv")]
    Unsupported(String),
    /// A file output without a known extension.
    #[error("file output {0:?} needs a .flv, .mp4 or .mkv extension")]
    FileExtension(String),
    /// A URL without a host.
    #[error("output URL {0} has no host")]
    NoHost(String),
}

impl Output {
    /// Parses `rtmp://…`, `rtmps://…`, `srt://…` or `file:PATH.flv|.mp4|.mkv`.
    pub fn parse(text: &str) -> Result<Self, OutputError> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("file:") {
            return file::parse(path);
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| OutputError::Unsupported(redact_url(text)))?;
        if rest.split(['/', '?']).next().is_none_or(str::is_empty) {
            return Err(OutputError::NoHost(redact_url(text)));
        }
        match scheme {
            "rtmp" | "rtmps" => Ok(Self {
                destination: Destination::Rtmp(text.to_owned()),
                container: Container::Flv,
            }),
            "srt" => Ok(Self {
                destination: Destination::Srt(text.to_owned()),
                container: Container::MpegTs,
            }),
            _ => Err(OutputError::Unsupported(redact_url(text))),
        }
    }

    /// Whether this output talks to a server (and so may need reconnecting).
    pub fn is_network(&self) -> bool {
        !matches!(self.destination, Destination::File(_))
    }

    /// Builds this output's [`Tail`] into `pipeline`, its elements named by `names`.
    pub(crate) fn build_tail(
        &self,
        pipeline: &gst::Pipeline,
        names: ElementNames,
        trust: TlsTrust,
    ) -> Result<Tail, MediaError> {
        match &self.destination {
            Destination::Rtmp(url) => rtmp::tail(pipeline, names, self.container, url, trust),
            Destination::Srt(url) => srt::tail(pipeline, names, self.container, url),
            Destination::File(path) => file::tail(pipeline, names, self.container, path),
        }
    }
}

/// The end of one output branch, after its video and audio queues: what an
/// output kind builds (a muxer and a sink, or whatever the kind needs).
#[derive(Debug)]
pub(crate) struct Tail {
    /// Its elements, upstream first, already in the pipeline and linked among themselves.
    pub elements: Vec<gst::Element>,
    /// Where the branch's (parsed) H.264 links.
    pub video_in: gst::Element,
    /// Where the branch's AAC links.
    pub audio_in: gst::Element,
}

/// Names the elements of one build of one output: `out<index>_<generation>_<part>`,
/// so an element's errors can be traced to its output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ElementNames {
    /// The output's index.
    pub index: usize,
    /// Which build of the branch (every rebuild gets new names).
    pub generation: u32,
}

impl ElementNames {
    /// The name of this build's element `part`.
    pub(crate) fn part(self, part: &str) -> String {
        format!("out{}_{}_{part}", self.index, self.generation)
    }

    /// Which output an element belongs to, from its name.
    pub(crate) fn output_of(name: &str) -> Option<usize> {
        name.strip_prefix("out")?.split('_').next()?.parse().ok()
    }
}

impl core::fmt::Display for Output {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.destination {
            Destination::Rtmp(url) | Destination::Srt(url) => f.write_str(&redact_url(url)),
            Destination::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl core::fmt::Debug for Output {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Output({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        let rtmp = Output::parse("rtmp://127.0.0.1:1935/live/abc").unwrap();
        assert_eq!(rtmp.container, Container::Flv);
        assert!(rtmp.is_network());
        let srt = Output::parse("srt://127.0.0.1:9000?streamid=x").unwrap();
        assert_eq!(srt.container, Container::MpegTs);
        let file = Output::parse("file:/tmp/out.mkv").unwrap();
        assert_eq!(file.container, Container::Matroska);
        assert!(!file.is_network());
        assert_eq!(
            Output::parse("file:/tmp/out.mp4").unwrap().container,
            Container::Mp4
        );
    }

    #[test]
    fn bad_outputs_are_clear_errors() {
        assert!(matches!(
            Output::parse("file:/tmp/out.avi"),
            Err(OutputError::FileExtension(_))
        ));
        assert!(matches!(
            Output::parse("http://x/y"),
            Err(OutputError::Unsupported(_))
        ));
        assert!(matches!(
            Output::parse("rtmp:///live"),
            Err(OutputError::NoHost(_))
        ));
        assert!(matches!(
            Output::parse("nonsense"),
            Err(OutputError::Unsupported(_))
        ));
    }

    #[test]
    fn stream_keys_never_show() {
        let output = Output::parse("rtmp://a.example:1935/live/sk_live_SECRET").unwrap();
        assert_eq!(output.to_string(), "rtmp://a.example:1935/live/***");
        assert!(!format!("{output:?}").contains("SECRET"));
        let err = Output::parse("ftp://h/SECRET?token=SECRET").unwrap_err();
        assert!(!err.to_string().contains("token=SECRET"), "{err}");
    }

    #[test]
    fn elements_name_their_output() {
        let names = ElementNames {
            index: 3,
            generation: 12,
        };
        assert_eq!(names.part("sink"), "out3_12_sink");
        assert_eq!(ElementNames::output_of(&names.part("sink")), Some(3));
        assert_eq!(ElementNames::output_of("venc"), None);
        assert_eq!(ElementNames::output_of("outx_1_mux"), None);
    }
}
