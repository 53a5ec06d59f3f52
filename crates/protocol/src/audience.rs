//! Audience interaction as it crosses the wire: one normalised event type for
//! chat, gifts, likes, follows, deletions and notices, whatever the source.

use serde::{Deserialize, Serialize};

/// Longest chat or notice text carried, in bytes (sources cap and sanitise before this).
pub const MAX_TEXT_BYTES: usize = 2_000;
/// Longest id, user name, gift name or source name carried, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Most badges carried per user.
pub const MAX_BADGES: usize = 16;

/// One thing the audience did, normalised from any source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceEvent {
    /// Stable id from the source; the host de-duplicates on it.
    pub id: String,
    /// Where it came from (`room`, `irc`, `ctl`, …).
    pub source: String,
    /// Who did it.
    pub user: AudienceUser,
    /// When the source says it happened: Unix time in milliseconds.
    pub timestamp_ms: i64,
    /// What happened.
    pub kind: AudienceEventKind,
}

/// The viewer behind an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceUser {
    /// Stable id at the source.
    pub id: String,
    /// Name to show.
    pub display_name: String,
    /// Name colour chosen by the viewer, as RGB.
    pub color: Option<[u8; 3]>,
    /// Badges (moderator, subscriber, …) as the source names them.
    pub badges: Vec<String>,
}

/// What the audience did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AudienceEventKind {
    /// A chat line ("barrage").
    Chat {
        /// The message text, sanitised by the source.
        text: String,
    },
    /// A gift (bits, coins, a named present).
    Gift {
        /// The gift's id at the source.
        gift_id: String,
        /// The gift's name to show.
        name: String,
        /// How many were sent at once.
        count: u32,
        /// Value of one gift in the source's smallest unit (e.g. bits, coins).
        value: u64,
    },
    /// Likes (hearts, taps), possibly batched.
    Like {
        /// How many.
        count: u32,
    },
    /// A viewer followed the channel.
    Follow,
    /// A viewer subscribed (or renewed).
    Subscribe {
        /// Months subscribed in total, when the source says.
        months: Option<u32>,
    },
    /// A moderator removed one earlier event.
    DeleteMessage {
        /// Id of the removed event.
        target_id: String,
    },
    /// A moderator removed every earlier event of one user.
    ClearUser {
        /// Id of the user whose events are removed.
        user_id: String,
    },
    /// A message from the platform or the streamer's tools.
    Notice {
        /// The notice text.
        text: String,
    },
}

impl AudienceEvent {
    /// Checks the size limits that protect games from a flooded or hostile source.
    pub fn validate(&self) -> Result<(), &'static str> {
        let name_ok = |s: &str| s.len() <= MAX_NAME_BYTES;
        if self.id.is_empty() || !name_ok(&self.id) {
            return Err("event id empty or too long");
        }
        if !name_ok(&self.source) || !name_ok(&self.user.id) || !name_ok(&self.user.display_name) {
            return Err("source or user name too long");
        }
        if self.user.badges.len() > MAX_BADGES || !self.user.badges.iter().all(|b| name_ok(b)) {
            return Err("too many badges or a badge too long");
        }
        match &self.kind {
            AudienceEventKind::Chat { text } | AudienceEventKind::Notice { text }
                if text.len() > MAX_TEXT_BYTES =>
            {
                Err("text too long")
            }
            AudienceEventKind::Gift { gift_id, name, .. }
                if !name_ok(gift_id) || !name_ok(name) =>
            {
                Err("gift name too long")
            }
            AudienceEventKind::DeleteMessage { target_id: id }
            | AudienceEventKind::ClearUser { user_id: id }
                if !name_ok(id) =>
            {
                Err("target id too long")
            }
            _ => Ok(()),
        }
    }
}
