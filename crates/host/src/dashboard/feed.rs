//! The audience feed as the dashboard shows it: one line per stored event.

use livestream_protocol::{AudienceEvent, AudienceEventKind};

/// Most audience events the dashboard shows (the newest).
pub const FEED_LINES: usize = 100;

/// What kind of line, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// A chat line.
    Chat,
    /// A gift.
    Gift,
    /// Likes.
    Like,
    /// A follow or a subscription.
    Follow,
    /// A notice from the platform or the streamer's tools.
    Notice,
}

/// One audience event, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLine {
    /// The event's id (stable across frames: the line's identity).
    pub id: String,
    /// Its kind.
    pub kind: FeedKind,
    /// Who sent it.
    pub user: String,
    /// What happened, in words.
    pub text: String,
}

impl FeedLine {
    /// The line for a stored event; deletions are applied by the history
    /// and never stored, so they have none.
    pub fn from_event(event: &AudienceEvent) -> Option<Self> {
        let (kind, text) = match &event.kind {
            AudienceEventKind::Chat { text } => (FeedKind::Chat, text.clone()),
            AudienceEventKind::Gift { name, count, .. } => {
                (FeedKind::Gift, format!("sent {count} × {name}"))
            }
            AudienceEventKind::Like { count } => (FeedKind::Like, format!("liked × {count}")),
            AudienceEventKind::Follow => (FeedKind::Follow, "followed".to_owned()),
            AudienceEventKind::Subscribe {
                months: Some(months),
            } => (FeedKind::Follow, format!("subscribed ({months} months)")),
            AudienceEventKind::Subscribe { months: None } => {
                (FeedKind::Follow, "subscribed".to_owned())
            }
            AudienceEventKind::Notice { text } => (FeedKind::Notice, text.clone()),
            AudienceEventKind::DeleteMessage { .. } | AudienceEventKind::ClearUser { .. } => {
                return None;
            }
        };
        Some(Self {
            id: event.id.clone(),
            kind,
            user: event.user.display_name.clone(),
            text,
        })
    }
}

/// The lines of the newest [`FEED_LINES`] events of a history, oldest first
/// (newest at the bottom).
pub fn feed_lines<'a>(events: impl ExactSizeIterator<Item = &'a AudienceEvent>) -> Vec<FeedLine> {
    let skip = events.len().saturating_sub(FEED_LINES);
    events.skip(skip).filter_map(FeedLine::from_event).collect()
}

#[cfg(test)]
mod tests {
    use livestream_protocol::AudienceUser;

    use super::*;

    fn event(n: u64, kind: AudienceEventKind) -> AudienceEvent {
        AudienceEvent {
            id: format!("e{n}"),
            source: "test".into(),
            user: AudienceUser {
                id: "u".into(),
                display_name: "ann".into(),
                color: None,
                badges: Vec::new(),
            },
            timestamp_ms: n as i64,
            kind,
        }
    }

    #[test]
    fn newest_hundred_events_in_words_oldest_first() {
        let mut events: Vec<_> = (0..150)
            .map(|n| {
                event(
                    n,
                    AudienceEventKind::Chat {
                        text: format!("line {n}"),
                    },
                )
            })
            .collect();
        events.push(event(
            150,
            AudienceEventKind::Gift {
                gift_id: "rose".into(),
                name: "Rose".into(),
                count: 3,
                value: 1,
            },
        ));
        events.push(event(
            151,
            AudienceEventKind::DeleteMessage {
                target_id: "e1".into(),
            },
        ));
        let lines = feed_lines(events.iter());
        assert_eq!(lines.len(), FEED_LINES - 1, "a deletion has no line");
        assert_eq!(lines[0].text, "line 52");
        let last = lines.last().unwrap();
        assert_eq!(
            (last.kind, last.text.as_str()),
            (FeedKind::Gift, "sent 3 × Rose")
        );
        assert_eq!(last.user, "ann");
        let like = FeedLine::from_event(&event(1, AudienceEventKind::Like { count: 5 })).unwrap();
        assert_eq!(like.text, "liked × 5");
    }
}
