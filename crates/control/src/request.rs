//! `ctl` requests and replies: one JSON line each way.

use serde::{Deserialize, Serialize};

use crate::HostStatus;

/// A control request. The same enum is the `livestream-host ctl` command
/// line (clap) and the JSON line on the control socket (serde), so the two
/// cannot drift apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Subcommand)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum CtlRequest {
    /// Print the host status as JSON.
    Status,
    /// Start streaming.
    GoLive {
        /// Mix the microphone in.
        #[arg(long)]
        mic: bool,
    },
    /// Stop streaming (files finalised, RTMP closed).
    Stop,
    /// Show one game (by name or id) and hide the others.
    Show {
        /// Game name or connection id.
        game: String,
    },
    /// Hide every game: the stream keeps its last frame.
    HideAll,
    /// Send a chat line to every game, as viewer USER.
    Say {
        /// Viewer name.
        #[arg(long, default_value = "streamer")]
        user: String,
        /// The text.
        text: String,
    },
    /// Send a gift to every game, as viewer USER.
    Gift {
        /// Viewer name.
        #[arg(long, default_value = "streamer")]
        user: String,
        /// Gift name.
        gift: String,
        /// How many.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Value of one gift.
        #[arg(long, default_value_t = 1)]
        value: u64,
    },
}

/// A control reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum CtlReply {
    /// Done; nothing to report.
    Done,
    /// The answer to [`CtlRequest::Status`].
    Status(Box<HostStatus>),
    /// An audience event was made (`say`, `gift`): its id.
    Posted {
        /// The new event's id.
        id: String,
    },
    /// Refused, with the reason.
    Error {
        /// Why.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_plain_json() {
        let text = serde_json::to_string(&CtlRequest::Show {
            game: "snake".into(),
        })
        .unwrap();
        assert_eq!(text, r#"{"command":"show","game":"snake"}"#);
        let back: CtlRequest = serde_json::from_str(r#"{"command":"go-live","mic":true}"#).unwrap();
        assert_eq!(back, CtlRequest::GoLive { mic: true });
        assert!(serde_json::from_str::<CtlRequest>(r#"{"command":"format-disk"}"#).is_err());
    }

    #[test]
    fn the_command_line_parses_into_the_same_requests() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(subcommand)]
            request: CtlRequest,
        }
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("ctl").chain(args.iter().copied()))
                .map(|cli| cli.request)
        };
        assert_eq!(parse(&["hide-all"]).unwrap(), CtlRequest::HideAll);
        assert_eq!(
            parse(&["go-live", "--mic"]).unwrap(),
            CtlRequest::GoLive { mic: true }
        );
        assert_eq!(
            parse(&["gift", "rose", "--count", "3"]).unwrap(),
            CtlRequest::Gift {
                user: "streamer".into(),
                gift: "rose".into(),
                count: 3,
                value: 1
            }
        );
        assert!(parse(&["format-disk"]).is_err());
    }

    #[test]
    fn replies_round_trip() {
        for reply in [
            CtlReply::Done,
            CtlReply::Status(Box::default()),
            CtlReply::Posted { id: "ctl:1".into() },
            CtlReply::Error {
                message: "no".into(),
            },
        ] {
            let text = serde_json::to_string(&reply).unwrap();
            assert_eq!(serde_json::from_str::<CtlReply>(&text).unwrap(), reply);
        }
    }
}
