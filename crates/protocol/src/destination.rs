//! Destinations as a streamer knows them: a service and a stream key, or a
//! server of their own, or "Record only". Each becomes one output URL. The
//! key is a secret: it travels only in the user's `host.ron` (owner-only) and
//! over the same-user socket when a player picks a destination in a game,
//! never in argv, and `Debug` never prints it.

use serde::{Deserialize, Serialize};

/// Where a stream goes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamDestination {
    /// Twitch, over RTMPS (its ingest guide's primary endpoint).
    Twitch {
        /// The stream key from the Twitch dashboard.
        key: String,
    },
    /// YouTube Live, over RTMPS.
    YouTube {
        /// The stream key from YouTube Studio.
        key: String,
    },
    /// A server of the streamer's own: `rtmp://…`, `rtmps://…` or `srt://…`.
    Custom {
        /// The server URL without the key (`rtmps://ingest.example/live`).
        server: String,
        /// The stream key (RTMP: the last path part; SRT: the `streamid`).
        key: String,
    },
    /// No network: each session recorded to a new file in the videos directory.
    RecordOnly,
}

impl core::fmt::Debug for StreamDestination {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Twitch { .. } => f.write_str("Twitch { key: *** }"),
            Self::YouTube { .. } => f.write_str("YouTube { key: *** }"),
            Self::Custom { server, .. } => write!(f, "Custom {{ server: {server:?}, key: *** }}"),
            Self::RecordOnly => f.write_str("RecordOnly"),
        }
    }
}

/// Longest server URL or stream key accepted from a peer.
const MAX_FIELD_BYTES: usize = 1024;

/// Twitch's RTMPS ingest.
const TWITCH_INGEST: &str = "rtmps://live.twitch.tv:443/app";
/// YouTube's RTMPS ingest.
const YOUTUBE_INGEST: &str = "rtmps://a.rtmps.youtube.com:443/live2";

impl StreamDestination {
    /// The output URL, key included (`None` for "Record only", which the
    /// host resolves per session).
    pub fn output_url(&self) -> Option<String> {
        match self {
            Self::Twitch { key } => Some(rtmp_url(TWITCH_INGEST, key)),
            Self::YouTube { key } => Some(rtmp_url(YOUTUBE_INGEST, key)),
            Self::Custom { server, key } if server.starts_with("srt://") => {
                let separator = if server.contains('?') { '&' } else { '?' };
                Some(format!("{server}{separator}streamid={key}"))
            }
            Self::Custom { server, key } => Some(rtmp_url(server, key)),
            Self::RecordOnly => None,
        }
    }

    /// Checks the sizes of what a peer sent (server and key at most 1 KiB).
    pub fn validate(&self) -> Result<(), &'static str> {
        let (server, key) = match self {
            Self::Twitch { key } | Self::YouTube { key } => ("", key.as_str()),
            Self::Custom { server, key } => (server.as_str(), key.as_str()),
            Self::RecordOnly => ("", ""),
        };
        if server.len() > MAX_FIELD_BYTES || key.len() > MAX_FIELD_BYTES {
            return Err("destination server or key too long");
        }
        Ok(())
    }

    /// Whether the destination can be used: a key where one is needed.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Self::Twitch { key } | Self::YouTube { key } | Self::Custom { key, .. }
                if key.trim().is_empty() =>
            {
                Err("a destination has no stream key".into())
            }
            _ => Ok(()),
        }
    }
}

/// `server/key`, with one slash between.
fn rtmp_url(server: &str, key: &str) -> String {
    format!("{}/{}", server.trim_end_matches('/'), key.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_become_their_ingest_urls() {
        let key = "live_123_abc".to_owned();
        assert_eq!(
            StreamDestination::Twitch { key: key.clone() }.output_url(),
            Some("rtmps://live.twitch.tv:443/app/live_123_abc".into())
        );
        assert_eq!(
            StreamDestination::YouTube { key: key.clone() }.output_url(),
            Some("rtmps://a.rtmps.youtube.com:443/live2/live_123_abc".into())
        );
        let custom = |server: &str| StreamDestination::Custom {
            server: server.into(),
            key: key.clone(),
        };
        assert_eq!(
            custom("rtmp://127.0.0.1:1935/live/").output_url(),
            Some("rtmp://127.0.0.1:1935/live/live_123_abc".into())
        );
        assert_eq!(
            custom("srt://ingest.example:9000").output_url(),
            Some("srt://ingest.example:9000?streamid=live_123_abc".into())
        );
        assert_eq!(
            custom("srt://ingest.example:9000?latency=200").output_url(),
            Some("srt://ingest.example:9000?latency=200&streamid=live_123_abc".into())
        );
        assert_eq!(StreamDestination::RecordOnly.output_url(), None);
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let custom = StreamDestination::Custom {
            server: "rtmp://h/live".into(),
            key: "sekrit".into(),
        };
        let text = format!(
            "{custom:?} {:?}",
            StreamDestination::Twitch {
                key: "sekrit".into()
            }
        );
        assert!(
            !text.contains("sekrit") && text.contains("rtmp://h/live"),
            "{text}"
        );
    }

    #[test]
    fn a_service_needs_a_key() {
        let no_key = StreamDestination::Twitch { key: " ".into() };
        assert!(no_key.check().is_err());
        assert!(StreamDestination::RecordOnly.check().is_ok());
    }
}
