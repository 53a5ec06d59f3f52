//! The host's audience history: bounded, de-duplicated by id, ordered by the
//! source's time, with deletions applied. Sources deliver at least once and
//! out of order; this is where that stops mattering.

use std::collections::{HashSet, VecDeque};

use livestream_protocol::{AudienceEvent, AudienceEventKind};

/// What [`History::insert`] did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// New: store it and hand it to the games.
    New,
    /// Seen before (same id): ignore it.
    Duplicate,
    /// A deletion arrived before the event it deletes: dropped.
    AlreadyDeleted,
    /// A deletion or clear: applied to the history (this many events removed)
    /// and to be forwarded so games apply it too.
    Deletion {
        /// Events removed from the history.
        removed: usize,
    },
}

/// Counters for `ctl status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryStats {
    /// Events accepted as new (deletions included).
    pub accepted: u64,
    /// Events ignored because their id was seen before.
    pub duplicates: u64,
    /// Events removed by deletions, or dropped because already deleted.
    pub deleted: u64,
    /// Events pushed out by the size bound.
    pub evicted: u64,
}

/// Stored audience events, oldest source time first.
#[derive(Debug)]
pub struct History {
    events: VecDeque<AudienceEvent>,
    capacity: usize,
    /// Ids seen recently (stored, evicted, or deletions), with their order for trimming.
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    /// Ids deleted before (or after) they arrived.
    deleted: HashSet<String>,
    deleted_order: VecDeque<String>,
    stats: HistoryStats,
}

/// How many ids to remember beyond the stored events, as a multiple of the capacity.
const REMEMBERED_IDS_FACTOR: usize = 4;

impl History {
    /// A history keeping at most `capacity` events (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            events: VecDeque::new(),
            capacity: capacity.max(1),
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            deleted: HashSet::new(),
            deleted_order: VecDeque::new(),
            stats: HistoryStats::default(),
        }
    }

    /// Stores an event in source-time order (deletions are applied, not stored).
    pub fn insert(&mut self, event: &AudienceEvent) -> Inserted {
        if self.seen.contains(&event.id) {
            self.stats.duplicates += 1;
            return Inserted::Duplicate;
        }
        let limit = self.capacity * REMEMBERED_IDS_FACTOR;
        remember(&mut self.seen, &mut self.seen_order, &event.id, limit);
        self.stats.accepted += 1;
        match &event.kind {
            AudienceEventKind::DeleteMessage { target_id } => {
                let before = self.events.len();
                self.events.retain(|e| &e.id != target_id);
                let removed = before - self.events.len();
                remember(&mut self.deleted, &mut self.deleted_order, target_id, limit);
                self.stats.deleted += removed as u64;
                Inserted::Deletion { removed }
            }
            AudienceEventKind::ClearUser { user_id } => {
                let before = self.events.len();
                self.events
                    .retain(|e| &e.user.id != user_id || e.timestamp_ms > event.timestamp_ms);
                let removed = before - self.events.len();
                self.stats.deleted += removed as u64;
                Inserted::Deletion { removed }
            }
            _ if self.deleted.contains(&event.id) => {
                self.stats.deleted += 1;
                Inserted::AlreadyDeleted
            }
            _ => {
                let at = self
                    .events
                    .partition_point(|e| e.timestamp_ms <= event.timestamp_ms);
                self.events.insert(at, event.clone());
                while self.events.len() > self.capacity {
                    self.events.pop_front();
                    self.stats.evicted += 1;
                }
                Inserted::New
            }
        }
    }

    /// The stored events, oldest first: the backlog for a game that joins late.
    pub fn events(&self) -> impl ExactSizeIterator<Item = &AudienceEvent> {
        self.events.iter()
    }

    /// How many events are stored.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Counters so far.
    pub fn stats(&self) -> HistoryStats {
        self.stats
    }
}

/// Adds an id to a bounded set, forgetting the oldest beyond `limit`.
fn remember(set: &mut HashSet<String>, order: &mut VecDeque<String>, id: &str, limit: usize) {
    if set.insert(id.to_owned()) {
        order.push_back(id.to_owned());
    }
    while order.len() > limit {
        if let Some(old) = order.pop_front() {
            set.remove(&old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{chat, event};

    fn ids(history: &History) -> Vec<&str> {
        history.events().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn orders_by_source_time_and_ignores_duplicates() {
        let mut history = History::new(10);
        assert_eq!(history.insert(&chat("b", "ann", 20)), Inserted::New);
        assert_eq!(history.insert(&chat("a", "bob", 10)), Inserted::New);
        assert_eq!(history.insert(&chat("c", "ann", 20)), Inserted::New);
        assert_eq!(history.insert(&chat("a", "bob", 10)), Inserted::Duplicate);
        assert_eq!(ids(&history), ["a", "b", "c"]);
        assert_eq!(history.stats().duplicates, 1);
    }

    #[test]
    fn keeps_the_newest_within_capacity() {
        let mut history = History::new(3);
        for i in 0..5 {
            history.insert(&chat(&format!("m{i}"), "ann", i));
        }
        assert_eq!(ids(&history), ["m2", "m3", "m4"]);
        assert_eq!(history.stats().evicted, 2);
        // An evicted id is still remembered: a late repeat is not new again.
        assert_eq!(history.insert(&chat("m0", "ann", 0)), Inserted::Duplicate);
    }

    #[test]
    fn deletions_apply_whatever_the_order() {
        let mut history = History::new(10);
        history.insert(&chat("a", "ann", 1));
        history.insert(&chat("b", "bob", 2));
        let delete = |id: &str, target: &str| {
            event(
                id,
                "mod",
                3,
                AudienceEventKind::DeleteMessage {
                    target_id: target.into(),
                },
            )
        };
        assert_eq!(
            history.insert(&delete("d1", "a")),
            Inserted::Deletion { removed: 1 }
        );
        assert_eq!(ids(&history), ["b"]);
        // Deletion first, target later (out of order): the target never shows.
        assert_eq!(
            history.insert(&delete("d2", "z")),
            Inserted::Deletion { removed: 0 }
        );
        assert_eq!(
            history.insert(&chat("z", "ann", 0)),
            Inserted::AlreadyDeleted
        );
        assert_eq!(ids(&history), ["b"]);
        // A repeated deletion is a duplicate like any event.
        assert_eq!(history.insert(&delete("d1", "a")), Inserted::Duplicate);
    }

    #[test]
    fn clearing_a_user_removes_only_their_earlier_events() {
        let mut history = History::new(10);
        history.insert(&chat("a", "ann", 1));
        history.insert(&chat("b", "bob", 2));
        history.insert(&chat("c", "ann", 9));
        let clear = event(
            "x",
            "mod",
            5,
            AudienceEventKind::ClearUser {
                user_id: "ann".into(),
            },
        );
        assert_eq!(history.insert(&clear), Inserted::Deletion { removed: 1 });
        assert_eq!(ids(&history), ["b", "c"]);
    }
}
