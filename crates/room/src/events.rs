//! Turning what viewers post and what moderators do into events: cleaning
//! names and text, the gift catalogue, and each viewer's name colour.

use livestream_interaction::room_api::{ModeratorAction, ViewerPost};
use livestream_interaction::sanitize::{MAX_CHAT_CHARS, clean_text, clean_user_name};
use livestream_interaction::{AudienceEventKind, AudienceUser};
use serde::Serialize;

use crate::rooms::NewEvent;

/// Most gifts or likes one post may carry.
pub const MAX_COUNT: u32 = 1000;

/// A gift viewers can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gift {
    /// Id used in posts.
    pub id: &'static str,
    /// Name to show.
    pub name: &'static str,
    /// Value of one, in the room's coins.
    pub value: u64,
}

/// The room's gift catalogue (`GET /gifts`).
pub const GIFTS: [Gift; 5] = [
    Gift {
        id: "rose",
        name: "Rose",
        value: 1,
    },
    Gift {
        id: "heart",
        name: "Heart",
        value: 5,
    },
    Gift {
        id: "star",
        name: "Star",
        value: 10,
    },
    Gift {
        id: "rocket",
        name: "Rocket",
        value: 100,
    },
    Gift {
        id: "crown",
        name: "Crown",
        value: 500,
    },
];

/// Readable name colours on both dark and light backgrounds.
const PALETTE: [[u8; 3]; 8] = [
    [0xe0, 0x5d, 0x5d],
    [0xe0, 0x8e, 0x3c],
    [0xc9, 0xa2, 0x27],
    [0x4c, 0xaf, 0x50],
    [0x26, 0xa6, 0x9a],
    [0x42, 0x8b, 0xe0],
    [0x8e, 0x6c, 0xe0],
    [0xd4, 0x5d, 0xb0],
];

/// Why a post or action cannot become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The viewer name had nothing printable.
    #[error("the name is empty once control characters and spaces are removed")]
    EmptyName,
    /// The chat or notice text had nothing printable.
    #[error("the text is empty once control characters and spaces are removed")]
    EmptyText,
    /// Not in [`GIFTS`].
    #[error("unknown gift {0:?} (GET /gifts lists them)")]
    UnknownGift(String),
    /// Gift or like count outside `1..=MAX_COUNT`.
    #[error("count must be between 1 and {MAX_COUNT}, not {0}")]
    BadCount(u32),
    /// A moderator action named no event or user.
    #[error("the id to act on is empty")]
    EmptyId,
}

/// The event a viewer's post becomes, accepted at `timestamp_ms`.
pub fn from_post(post: &ViewerPost, timestamp_ms: i64) -> Result<NewEvent, Refusal> {
    let (user, kind) = match post {
        ViewerPost::Chat { user, text } => (
            user,
            AudienceEventKind::Chat {
                text: chat_text(text)?,
            },
        ),
        ViewerPost::Gift { user, gift, count } => {
            let found = GIFTS
                .iter()
                .find(|known| known.id == gift)
                .ok_or_else(|| Refusal::UnknownGift(gift.clone()))?;
            let kind = AudienceEventKind::Gift {
                gift_id: found.id.to_owned(),
                name: found.name.to_owned(),
                count: checked_count(*count)?,
                value: found.value,
            };
            (user, kind)
        }
        ViewerPost::Like { user, count } => (
            user,
            AudienceEventKind::Like {
                count: checked_count(*count)?,
            },
        ),
        ViewerPost::Follow { user } => (user, AudienceEventKind::Follow),
    };
    Ok(NewEvent {
        user: viewer(user)?,
        timestamp_ms,
        kind,
    })
}

/// The event a moderator's action becomes, accepted at `timestamp_ms`; it
/// comes from the room itself.
pub fn from_action(action: &ModeratorAction, timestamp_ms: i64) -> Result<NewEvent, Refusal> {
    let non_empty = |id: &str| {
        if id.is_empty() {
            Err(Refusal::EmptyId)
        } else {
            Ok(id.to_owned())
        }
    };
    let kind = match action {
        ModeratorAction::Delete { id } => AudienceEventKind::DeleteMessage {
            target_id: non_empty(id)?,
        },
        ModeratorAction::ClearUser { user_id } => AudienceEventKind::ClearUser {
            user_id: non_empty(user_id)?,
        },
        ModeratorAction::Notice { text } => AudienceEventKind::Notice {
            text: chat_text(text)?,
        },
    };
    let user = AudienceUser {
        id: "room".to_owned(),
        display_name: "Room".to_owned(),
        color: None,
        badges: Vec::new(),
    };
    Ok(NewEvent {
        user,
        timestamp_ms,
        kind,
    })
}

/// A viewer from the name they typed: `room:` + the lowercased cleaned name
/// as id, so the same name is the same viewer.
fn viewer(name: &str) -> Result<AudienceUser, Refusal> {
    let display_name = clean_user_name(name);
    if display_name.is_empty() {
        return Err(Refusal::EmptyName);
    }
    let key = display_name.to_lowercase();
    Ok(AudienceUser {
        id: format!("room:{key}"),
        color: Some(color_of(&key)),
        display_name,
        badges: Vec::new(),
    })
}

fn chat_text(text: &str) -> Result<String, Refusal> {
    let text = clean_text(text, MAX_CHAT_CHARS);
    if text.is_empty() {
        Err(Refusal::EmptyText)
    } else {
        Ok(text)
    }
}

fn checked_count(count: u32) -> Result<u32, Refusal> {
    if (1..=MAX_COUNT).contains(&count) {
        Ok(count)
    } else {
        Err(Refusal::BadCount(count))
    }
}

/// A palette colour picked by a stable hash (FNV-1a) of the name, the same
/// on every run and every server.
fn color_of(name: &str) -> [u8; 3] {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    PALETTE[(hash % PALETTE.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(user: &str, text: &str) -> ViewerPost {
        ViewerPost::Chat {
            user: user.into(),
            text: text.into(),
        }
    }

    #[test]
    fn chat_is_cleaned_and_capped() {
        let event = from_post(&chat(" Ann\u{7} ", "hi\u{0}\n there"), 42).unwrap();
        assert_eq!(event.timestamp_ms, 42);
        assert_eq!(event.user.id, "room:ann");
        assert_eq!(event.user.display_name, "Ann");
        assert_eq!(event.user.color, Some(color_of("ann")));
        assert!(event.user.badges.is_empty());
        assert_eq!(
            event.kind,
            AudienceEventKind::Chat {
                text: "hi there".into()
            }
        );
        let long = from_post(&chat("ann", &"é".repeat(2 * MAX_CHAT_CHARS)), 0).unwrap();
        let AudienceEventKind::Chat { text } = long.kind else {
            panic!("not a chat: {long:?}")
        };
        assert_eq!(text.chars().count(), MAX_CHAT_CHARS);
    }

    #[test]
    fn empty_names_and_texts_are_refused() {
        assert_eq!(
            from_post(&chat(" \u{1b} ", "hi"), 0),
            Err(Refusal::EmptyName)
        );
        assert_eq!(from_post(&chat("ann", "\n\t "), 0), Err(Refusal::EmptyText));
    }

    #[test]
    fn gifts_come_from_the_catalogue() {
        let post = ViewerPost::Gift {
            user: "ann".into(),
            gift: "rocket".into(),
            count: 3,
        };
        assert_eq!(
            from_post(&post, 0).unwrap().kind,
            AudienceEventKind::Gift {
                gift_id: "rocket".into(),
                name: "Rocket".into(),
                count: 3,
                value: 100
            }
        );
        let unknown = ViewerPost::Gift {
            user: "ann".into(),
            gift: "yacht".into(),
            count: 1,
        };
        assert_eq!(
            from_post(&unknown, 0),
            Err(Refusal::UnknownGift("yacht".into()))
        );
    }

    #[test]
    fn counts_must_be_sensible() {
        for (count, ok) in [
            (0, false),
            (1, true),
            (MAX_COUNT, true),
            (MAX_COUNT + 1, false),
        ] {
            let like = ViewerPost::Like {
                user: "ann".into(),
                count,
            };
            assert_eq!(from_post(&like, 0).is_ok(), ok, "{count}");
        }
        let follow = ViewerPost::Follow { user: "ann".into() };
        assert_eq!(
            from_post(&follow, 0).unwrap().kind,
            AudienceEventKind::Follow
        );
    }

    #[test]
    fn moderator_actions_come_from_the_room() {
        let notice = from_action(
            &ModeratorAction::Notice {
                text: " be\u{7} nice ".into(),
            },
            5,
        )
        .unwrap();
        assert_eq!(notice.user.id, "room");
        assert_eq!(notice.user.display_name, "Room");
        assert_eq!(
            notice.kind,
            AudienceEventKind::Notice {
                text: "be nice".into()
            }
        );
        let delete = from_action(&ModeratorAction::Delete { id: "1-2".into() }, 5).unwrap();
        assert_eq!(
            delete.kind,
            AudienceEventKind::DeleteMessage {
                target_id: "1-2".into()
            }
        );
        let clear = ModeratorAction::ClearUser {
            user_id: String::new(),
        };
        assert_eq!(from_action(&clear, 5), Err(Refusal::EmptyId));
    }

    #[test]
    fn colours_are_stable_and_varied() {
        assert_eq!(color_of("ann"), color_of("ann"));
        let distinct: std::collections::HashSet<_> =
            ["ann", "bob", "eve", "kim", "lee", "max", "sam", "zoe"]
                .map(color_of)
                .into();
        assert!(distinct.len() > 3, "{distinct:?}");
    }
}
