//! The JSON spoken by `livestream-room`: what viewers post, and the frames of a
//! room's WebSocket feed. Shared by the server and the host's room source so
//! both sides read the same types.
//!
//! Feed: `GET /rooms/{room}/ws?after={event id}` upgrades to a WebSocket. The
//! server first replays the room's stored events after `after` (all of them
//! when the id is unknown or absent), then sends each new event, one
//! [`FeedFrame`] per text message. A client may also send [`ViewerPost`]s on
//! the same socket.

use livestream_protocol::AudienceEvent;
use serde::{Deserialize, Serialize};

/// One text message of a room's feed, server to client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedFrame {
    /// Something the audience did.
    Event(AudienceEvent),
    /// A post from this client was refused.
    Error {
        /// Why, in words.
        message: String,
    },
}

/// What a viewer can do, over HTTP (`POST /rooms/{room}/post`) or the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ViewerPost {
    /// A chat line.
    Chat {
        /// Viewer name (cleaned and capped by the server).
        user: String,
        /// The text (cleaned and capped by the server).
        text: String,
    },
    /// Gifts from the room's catalogue.
    Gift {
        /// Viewer name.
        user: String,
        /// Catalogue id (`GET /gifts` lists them).
        gift: String,
        /// How many at once (1 when absent).
        #[serde(default = "one")]
        count: u32,
    },
    /// Likes.
    Like {
        /// Viewer name.
        user: String,
        /// How many (1 when absent).
        #[serde(default = "one")]
        count: u32,
    },
    /// A follow.
    Follow {
        /// Viewer name.
        user: String,
    },
}

/// A moderator's action (`POST /rooms/{room}/moderate` with `Authorization: Bearer TOKEN`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ModeratorAction {
    /// Remove one event.
    Delete {
        /// Its id.
        id: String,
    },
    /// Remove every event of one viewer.
    ClearUser {
        /// The viewer's id.
        user_id: String,
    },
    /// A notice from the room to everyone.
    Notice {
        /// The text.
        text: String,
    },
}

/// The server's answer to an accepted post or action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostAccepted {
    /// Id of the event it became.
    pub id: String,
}

fn one() -> u32 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use livestream_protocol::{AudienceEventKind, AudienceUser};

    #[test]
    fn posts_read_from_plain_json() {
        let post: ViewerPost =
            serde_json::from_str(r#"{"type":"gift","user":"ann","gift":"rose"}"#).unwrap();
        assert_eq!(
            post,
            ViewerPost::Gift {
                user: "ann".into(),
                gift: "rose".into(),
                count: 1
            }
        );
        assert!(serde_json::from_str::<ViewerPost>(r#"{"type":"shout"}"#).is_err());
    }

    #[test]
    fn feed_frames_round_trip() {
        let frame = FeedFrame::Event(AudienceEvent {
            id: "a-1".into(),
            source: "room".into(),
            user: AudienceUser {
                id: "ann".into(),
                display_name: "Ann".into(),
                color: None,
                badges: vec![],
            },
            timestamp_ms: 1,
            kind: AudienceEventKind::Follow,
        });
        let text = serde_json::to_string(&frame).unwrap();
        assert!(text.starts_with(r#"{"event":{"#), "{text}");
        assert_eq!(serde_json::from_str::<FeedFrame>(&text).unwrap(), frame);
    }
}
