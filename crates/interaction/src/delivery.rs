//! Fair delivery of audience events to one game: a bounded queue between the
//! host's history and the game's link, so a flood never stalls the host or the
//! game. When the game cannot keep up, likes are coalesced and the oldest
//! events are dropped first — chat before notices, gifts and deletions last —
//! and every loss is counted.

use std::collections::VecDeque;

use livestream_protocol::{AudienceEvent, AudienceEventKind};

/// Counters of one game's delivery, for `ctl status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryStats {
    /// Events handed to the game's link.
    pub delivered: u64,
    /// Likes merged into an earlier queued like.
    pub coalesced: u64,
    /// Events dropped because the game was too far behind.
    pub dropped: u64,
}

/// Events waiting to go to one game.
#[derive(Debug)]
pub struct DeliveryQueue {
    pending: VecDeque<AudienceEvent>,
    capacity: usize,
    stats: DeliveryStats,
}

impl DeliveryQueue {
    /// A queue holding at most `capacity` events (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            pending: VecDeque::new(),
            capacity: capacity.max(1),
            stats: DeliveryStats::default(),
        }
    }

    /// Queues an event; merges a like into a waiting like of the same viewer,
    /// and makes room by dropping the least important oldest event.
    pub fn push(&mut self, event: AudienceEvent) {
        if let AudienceEventKind::Like { count } = event.kind
            && let Some(AudienceEvent {
                kind: AudienceEventKind::Like { count: waiting },
                user,
                ..
            }) = self.pending.back_mut()
            && user.id == event.user.id
        {
            *waiting = waiting.saturating_add(count);
            self.stats.coalesced += 1;
            return;
        }
        if self.pending.len() >= self.capacity {
            self.drop_least_important();
        }
        self.pending.push_back(event);
    }

    /// Takes up to `max` events, oldest first, counting them as delivered.
    pub fn take(&mut self, max: usize) -> impl Iterator<Item = AudienceEvent> + '_ {
        let n = max.min(self.pending.len());
        self.stats.delivered += n as u64;
        self.pending.drain(..n)
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Counters so far.
    pub fn stats(&self) -> DeliveryStats {
        self.stats
    }

    fn drop_least_important(&mut self) {
        let lowest = self.pending.iter().map(importance).min();
        if let Some(lowest) = lowest
            && let Some(at) = self.pending.iter().position(|e| importance(e) == lowest)
        {
            self.pending.remove(at);
            self.stats.dropped += 1;
        }
    }
}

/// What a game loses least by missing: likes, then chat, then notices and
/// follows; gifts and deletions are kept longest.
fn importance(event: &AudienceEvent) -> u8 {
    match event.kind {
        AudienceEventKind::Like { .. } => 0,
        AudienceEventKind::Chat { .. } => 1,
        AudienceEventKind::Follow
        | AudienceEventKind::Subscribe { .. }
        | AudienceEventKind::Notice { .. } => 2,
        AudienceEventKind::Gift { .. }
        | AudienceEventKind::DeleteMessage { .. }
        | AudienceEventKind::ClearUser { .. } => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{chat, event};

    fn gift(id: &str) -> AudienceEvent {
        event(
            id,
            "ann",
            0,
            AudienceEventKind::Gift {
                gift_id: "rose".into(),
                name: "Rose".into(),
                count: 1,
                value: 1,
            },
        )
    }

    fn like(id: &str, user: &str, count: u32) -> AudienceEvent {
        event(id, user, 0, AudienceEventKind::Like { count })
    }

    #[test]
    fn delivers_in_order_within_the_window() {
        let mut queue = DeliveryQueue::new(10);
        for i in 0..5 {
            queue.push(chat(&format!("m{i}"), "ann", i));
        }
        let first: Vec<_> = queue.take(3).map(|e| e.id).collect();
        assert_eq!(first, ["m0", "m1", "m2"]);
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.stats().delivered, 3);
    }

    #[test]
    fn coalesces_waiting_likes_of_the_same_viewer() {
        let mut queue = DeliveryQueue::new(10);
        queue.push(like("l1", "ann", 2));
        queue.push(like("l2", "ann", 3));
        queue.push(like("l3", "bob", 1));
        let taken: Vec<_> = queue.take(10).map(|e| (e.id, e.kind)).collect();
        assert_eq!(
            taken,
            [
                ("l1".to_string(), AudienceEventKind::Like { count: 5 }),
                ("l3".to_string(), AudienceEventKind::Like { count: 1 }),
            ]
        );
        assert_eq!(queue.stats().coalesced, 1);
    }

    #[test]
    fn a_flood_drops_chat_oldest_first_and_keeps_gifts() {
        let mut queue = DeliveryQueue::new(4);
        queue.push(gift("g0"));
        for i in 0..10_000 {
            queue.push(chat(&format!("m{i}"), "bot", i));
        }
        queue.push(gift("g1"));
        let kept: Vec<_> = queue.take(10).map(|e| e.id).collect();
        assert_eq!(kept, ["g0", "m9998", "m9999", "g1"]);
        assert_eq!(queue.stats().dropped, 10_000 + 2 - 4);
    }

    #[test]
    fn gifts_go_when_nothing_else_is_left() {
        let mut queue = DeliveryQueue::new(2);
        for id in ["g0", "g1", "g2"] {
            queue.push(gift(id));
        }
        let kept: Vec<_> = queue.take(10).map(|e| e.id).collect();
        assert_eq!(kept, ["g1", "g2"]);
    }
}
