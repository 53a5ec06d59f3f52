//! Where the stream goes: parsing `--output` values and redacting secrets.
//!
//! A stream key is a password: the [`core::fmt::Display`] of an [`Output`] is
//! always redacted, and the full URL is only handed to the sink element.

use std::path::PathBuf;

/// Container used for an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// FLV (RTMP, `.flv` files).
    Flv,
    /// MPEG-TS (SRT).
    MpegTs,
    /// MP4 (`.mp4` files; finalised on stop).
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
            let path = PathBuf::from(path);
            let container = match path.extension().and_then(|e| e.to_str()) {
                Some("flv") => Container::Flv,
                Some("mp4") => Container::Mp4,
                Some("mkv") => Container::Matroska,
                _ => return Err(OutputError::FileExtension(path.display().to_string())),
            };
            return Ok(Self {
                destination: Destination::File(path),
                container,
            });
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

/// Replaces the secret parts of a streaming URL with `***`: the RTMP stream
/// key (last path segment after the app), user info, and the values of
/// `streamid`, `passphrase`, `key`, `token` and similar query parameters.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    let mut out = format!("{scheme}://{authority}");
    if let Some(path) = path {
        let mut segments: Vec<&str> = path.split('/').collect();
        // rtmp://host/app/KEY: everything after the application is the key.
        if scheme.starts_with("rtmp") && segments.len() > 1 {
            segments.truncate(1);
            segments.push("***");
        }
        out.push('/');
        out.push_str(&segments.join("/"));
    }
    if let Some(query) = query {
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_secret_param(k) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&redacted.join("&"));
    }
    out
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "streamid",
        "passphrase",
        "key",
        "token",
        "secret",
        "auth",
        "pass",
    ]
    .iter()
    .any(|s| name.contains(s))
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
        assert_eq!(
            redact_url("srt://h:9000?mode=caller&streamid=SECRET&passphrase=SECRET2"),
            "srt://h:9000?mode=caller&streamid=***&passphrase=***"
        );
        assert_eq!(
            redact_url("rtmp://user:SECRET@h/live/KEY"),
            "rtmp://***@h/live/***"
        );
        assert_eq!(redact_url("rtmp://h/live"), "rtmp://h/live");
        let err = Output::parse("ftp://h/SECRET?token=SECRET").unwrap_err();
        assert!(!err.to_string().contains("token=SECRET"), "{err}");
    }
}
