//! What the audience overlay shows, kept apart from drawing: a bounded list of
//! chat lines and one of highlights (gifts, likes, follows, subscriptions),
//! with moderators' deletions applied. A game that draws its own overlay can
//! read the same [`AudienceFeed`] resource.

use std::collections::VecDeque;

use bevy::prelude::*;
use livestream_protocol::{AudienceEvent, AudienceEventKind};

use crate::state::AudienceMessage;

/// One chat line (or a notice) as the overlay shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    /// The event's id (moderators delete by it).
    pub id: String,
    /// The viewer's id at the source.
    pub user_id: String,
    /// The viewer's name to show; empty for notices.
    pub user: String,
    /// The name colour the viewer chose.
    pub color: Option<[u8; 3]>,
    /// The text.
    pub text: String,
    /// A notice from the platform or the streamer rather than a viewer's line.
    pub notice: bool,
}

/// A gift, like, follow or subscription, shown apart from chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Highlight {
    /// Id of the (latest) event behind it.
    pub id: String,
    /// The viewer's id at the source.
    pub user_id: String,
    /// The viewer's name to show.
    pub user: String,
    /// What they did, e.g. "sent 3 × rose".
    pub what: String,
    /// Whether it was a gift (drawn in the gift colour).
    pub gift: bool,
    /// Seconds (app time) when it arrived; `None` for backlog events, which are
    /// old news and are not flashed.
    pub arrived_s: Option<f64>,
}

/// The audience as the overlay shows it; updated from [`AudienceMessage`]s.
#[derive(Resource, Debug, Clone)]
pub struct AudienceFeed {
    chat: VecDeque<ChatLine>,
    highlights: VecDeque<Highlight>,
    capacity: usize,
    lines_added: u64,
}

impl AudienceFeed {
    /// An empty feed keeping at most `capacity` chat lines and as many highlights.
    pub fn new(capacity: usize) -> Self {
        Self {
            chat: VecDeque::new(),
            highlights: VecDeque::new(),
            capacity: capacity.max(1),
            lines_added: 0,
        }
    }

    /// Chat lines, oldest first.
    pub fn chat(&self) -> &VecDeque<ChatLine> {
        &self.chat
    }

    /// Highlights, oldest first.
    pub fn highlights(&self) -> &VecDeque<Highlight> {
        &self.highlights
    }

    /// How many chat lines were ever added (the overlay counts unread lines with it).
    pub fn lines_added(&self) -> u64 {
        self.lines_added
    }

    /// Applies one event; `now_s` is the app's elapsed time, `None` for backlog.
    pub fn apply(&mut self, event: &AudienceEvent, arrived_s: Option<f64>) {
        let user = &event.user;
        let highlight = |what: String, gift: bool| Highlight {
            id: event.id.clone(),
            user_id: user.id.clone(),
            user: user.display_name.clone(),
            what,
            gift,
            arrived_s,
        };
        match &event.kind {
            AudienceEventKind::Chat { text } | AudienceEventKind::Notice { text } => {
                let notice = matches!(event.kind, AudienceEventKind::Notice { .. });
                self.push_line(ChatLine {
                    id: event.id.clone(),
                    user_id: user.id.clone(),
                    user: if notice {
                        String::new()
                    } else {
                        user.display_name.clone()
                    },
                    color: user.color,
                    text: text.clone(),
                    notice,
                });
            }
            AudienceEventKind::Gift { name, count, .. } => {
                self.push_highlight(highlight(format!("sent {count} × {name}"), true));
            }
            AudienceEventKind::Like { count } => self.add_likes(event, *count, arrived_s),
            AudienceEventKind::Follow => self.push_highlight(highlight("followed".into(), false)),
            AudienceEventKind::Subscribe { months } => {
                let what = match months {
                    Some(months) if *months > 1 => format!("subscribed ({months} months)"),
                    _ => "subscribed".to_owned(),
                };
                self.push_highlight(highlight(what, false));
            }
            AudienceEventKind::DeleteMessage { target_id } => {
                self.chat.retain(|line| &line.id != target_id);
                self.highlights.retain(|h| &h.id != target_id);
            }
            AudienceEventKind::ClearUser { user_id } => {
                self.chat.retain(|line| &line.user_id != user_id);
                self.highlights.retain(|h| &h.user_id != user_id);
            }
        }
    }

    fn push_line(&mut self, line: ChatLine) {
        if self.chat.len() == self.capacity {
            self.chat.pop_front();
        }
        self.chat.push_back(line);
        self.lines_added += 1;
    }

    fn push_highlight(&mut self, highlight: Highlight) {
        if self.highlights.len() == self.capacity {
            self.highlights.pop_front();
        }
        self.highlights.push_back(highlight);
    }

    /// Likes from the viewer of the newest highlight add up in one row.
    fn add_likes(&mut self, event: &AudienceEvent, count: u32, arrived_s: Option<f64>) {
        let total = match self.highlights.back_mut() {
            Some(last) if last.user_id == event.user.id && last.what.starts_with("liked") => {
                let earlier = last
                    .what
                    .strip_prefix("liked × ")
                    .and_then(|n| n.parse().ok());
                let total = earlier.unwrap_or(1u64) + u64::from(count);
                self.highlights.pop_back();
                total
            }
            _ => u64::from(count),
        };
        let what = if total > 1 {
            format!("liked × {total}")
        } else {
            "liked".to_owned()
        };
        self.push_highlight(Highlight {
            id: event.id.clone(),
            user_id: event.user.id.clone(),
            user: event.user.display_name.clone(),
            what,
            gift: false,
            arrived_s,
        });
    }
}

/// Feeds every [`AudienceMessage`] into the [`AudienceFeed`].
pub(crate) fn collect_audience(
    mut messages: MessageReader<AudienceMessage>,
    mut feed: ResMut<AudienceFeed>,
    time: Res<Time<Real>>,
) {
    let now = time.elapsed_secs_f64();
    for message in messages.read() {
        feed.apply(&message.event, (!message.from_backlog).then_some(now));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use livestream_protocol::AudienceUser;

    use super::*;

    pub(crate) fn event(id: &str, user: &str, kind: AudienceEventKind) -> AudienceEvent {
        AudienceEvent {
            id: id.into(),
            source: "test".into(),
            user: AudienceUser {
                id: format!("{user}-id"),
                display_name: user.into(),
                color: None,
                badges: Vec::new(),
            },
            timestamp_ms: 0,
            kind,
        }
    }

    pub(crate) fn chat(id: &str, user: &str, text: &str) -> AudienceEvent {
        event(id, user, AudienceEventKind::Chat { text: text.into() })
    }

    #[test]
    fn chat_and_highlights_are_kept_apart_and_bounded() {
        let mut feed = AudienceFeed::new(3);
        for n in 0..5 {
            feed.apply(&chat(&format!("c{n}"), "ann", &format!("line {n}")), None);
        }
        let gift = AudienceEventKind::Gift {
            gift_id: "rose".into(),
            name: "rose".into(),
            count: 3,
            value: 1,
        };
        feed.apply(&event("g1", "bob", gift), Some(2.0));
        let texts: Vec<_> = feed.chat().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["line 2", "line 3", "line 4"]);
        assert_eq!(feed.lines_added(), 5);
        let gift = &feed.highlights()[0];
        assert_eq!((gift.what.as_str(), gift.gift), ("sent 3 × rose", true));
        assert_eq!(gift.arrived_s, Some(2.0));
    }

    #[test]
    fn deletions_remove_lines_and_highlights() {
        let mut feed = AudienceFeed::new(10);
        feed.apply(&chat("a", "ann", "keep"), None);
        feed.apply(&chat("b", "spam", "buy now"), None);
        feed.apply(&chat("c", "spam", "buy more"), None);
        feed.apply(&chat("d", "bob", "oops"), None);
        feed.apply(&event("f", "spam", AudienceEventKind::Follow), None);
        let delete = AudienceEventKind::DeleteMessage {
            target_id: "d".into(),
        };
        feed.apply(&event("x", "mod", delete), None);
        let clear = AudienceEventKind::ClearUser {
            user_id: "spam-id".into(),
        };
        feed.apply(&event("y", "mod", clear), None);
        let texts: Vec<_> = feed.chat().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["keep"]);
        assert!(feed.highlights().is_empty());
    }

    #[test]
    fn likes_of_one_viewer_add_up_in_one_row() {
        let mut feed = AudienceFeed::new(10);
        let like = |count| AudienceEventKind::Like { count };
        feed.apply(&event("l1", "ann", like(1)), Some(1.0));
        feed.apply(&event("l2", "ann", like(4)), Some(1.5));
        feed.apply(&event("l3", "bob", like(1)), Some(2.0));
        let rows: Vec<_> = feed
            .highlights()
            .iter()
            .map(|h| (h.user.as_str(), h.what.as_str()))
            .collect();
        assert_eq!(rows, [("ann", "liked × 5"), ("bob", "liked")]);
        assert_eq!(feed.highlights()[0].arrived_s, Some(1.5));
    }

    #[test]
    fn notices_have_no_user_name() {
        let mut feed = AudienceFeed::new(10);
        let notice = AudienceEventKind::Notice {
            text: "raid incoming".into(),
        };
        feed.apply(&event("n", "system", notice), None);
        let line = &feed.chat()[0];
        assert!(line.notice);
        assert_eq!(line.user, "");
    }
}
