//! Rooms: each keeps a bounded history of its events, applies moderators'
//! deletions to it, and broadcasts every new event to the room's feed.
//!
//! Rooms listed in the configuration always exist. Others (unless the
//! server serves only listed rooms) are made by the first post or feed; at
//! [`MAX_ROOMS`] the room idle longest with no feed open makes way for a new
//! one, so made-up names cannot lock out real rooms (how fast one client may
//! make rooms is the caller's limit).
//!
//! Event ids are `{boot:x}-{seq}`. A server on its own chooses `boot` when it
//! starts and counts `seq` server-wide, so ids stay unique across restarts.
//! Servers of a cluster share both: `boot` names the cluster's stream and
//! `seq` is the event's place in it, so an id means the same event on every
//! node, and a reader moving to another node resumes where it was.
//! Sequence numbers only grow as events are stored (under the rooms' lock),
//! so a room's history is in `seq` order and "events after id X" is well
//! defined even once X itself has been deleted or has aged out of the history.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use livestream_interaction::{AudienceEvent, AudienceEventKind, AudienceUser};
use tokio::sync::broadcast;

/// Most rooms one server holds (a new one beyond this is refused).
pub const MAX_ROOMS: usize = 1000;
/// Longest room name, in characters.
pub const MAX_ROOM_NAME: usize = 64;
/// New events a feed subscriber may fall behind by before it is dropped
/// (it then reconnects and resumes from the history).
const FEED_BUFFER: usize = 256;

/// A valid room name: 1 to [`MAX_ROOM_NAME`] ASCII letters, digits, `-` or `_`,
/// so it is safe in URLs, logs and ids as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomName(String);

impl RoomName {
    /// `Some` when `name` is a valid room name.
    pub fn parse(name: &str) -> Option<Self> {
        let valid = (1..=MAX_ROOM_NAME).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(name.to_owned()))
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An event waiting for its id: everything else is decided before it is
/// stored (and it is what a cluster's stream carries).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewEvent {
    /// Who did it.
    pub user: AudienceUser,
    /// When it was accepted, Unix milliseconds.
    pub timestamp_ms: i64,
    /// What happened.
    pub kind: AudienceEventKind,
}

/// Which rooms exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomPolicy {
    /// Rooms that always exist and are never made way for.
    pub listed: Vec<RoomName>,
    /// Only the listed rooms: no other room is ever made.
    pub listed_only: bool,
}

/// Why an event was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// Every one of [`MAX_ROOMS`] rooms has a feed open: none can make way.
    #[error("this server already holds its maximum of {MAX_ROOMS} rooms, all in use")]
    TooManyRooms,
    /// The server serves only its listed rooms, and this is not one.
    #[error("no such room here")]
    NoSuchRoom,
    /// The event breaks the wire protocol's size limits.
    #[error("event refused: {0}")]
    Invalid(&'static str),
}

/// Makes the server's event ids.
#[derive(Debug)]
pub struct EventIds {
    boot: u64,
    next_seq: AtomicU64,
}

impl EventIds {
    /// Ids of one server run, `boot` telling runs apart.
    pub fn new(boot: u64) -> Self {
        Self {
            boot,
            next_seq: AtomicU64::new(1),
        }
    }

    /// Ids for this process: the boot nonce mixes the start time with the pid.
    pub fn for_this_run() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        Self::new(nanos ^ u64::from(std::process::id()).rotate_left(48))
    }

    fn next_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// The id of the event with sequence number `seq`.
    fn id(&self, seq: u64) -> String {
        format!("{:x}-{seq}", self.boot)
    }

    /// The sequence number of an id made by this run (or cluster); `None`
    /// for ids of another one or not ours at all.
    fn seq_of(&self, id: &str) -> Option<u64> {
        let (boot, seq) = id.split_once('-')?;
        (u64::from_str_radix(boot, 16).ok()? == self.boot)
            .then(|| seq.parse().ok())
            .flatten()
    }
}

/// One room's stored events and feed.
#[derive(Debug)]
struct Room {
    /// Oldest first, in `seq` order.
    history: VecDeque<(u64, AudienceEvent)>,
    feed: broadcast::Sender<(u64, AudienceEvent)>,
    /// Listed in the configuration: never makes way.
    listed: bool,
    /// Last post or feed opened.
    last_active: Instant,
}

impl Room {
    fn new(listed: bool, now: Instant) -> Self {
        Self {
            history: VecDeque::new(),
            feed: broadcast::channel(FEED_BUFFER).0,
            listed,
            last_active: now,
        }
    }

    /// Whether it may make way for a new room: not listed, no feed open.
    fn evictable(&self) -> bool {
        !self.listed && self.feed.receiver_count() == 0
    }

    fn push(&mut self, seq: u64, event: AudienceEvent, capacity: usize) {
        match &event.kind {
            AudienceEventKind::DeleteMessage { target_id } => {
                self.history.retain(|(_, stored)| stored.id != *target_id);
            }
            AudienceEventKind::ClearUser { user_id } => {
                self.history
                    .retain(|(_, stored)| stored.user.id != *user_id);
            }
            _ => {}
        }
        // Nobody listening is fine: the history keeps it for later.
        let _ = self.feed.send((seq, event.clone()));
        self.history.push_back((seq, event));
        while self.history.len() > capacity {
            self.history.pop_front();
        }
    }

    fn after(&self, after: Option<u64>) -> Vec<AudienceEvent> {
        let start = after.map_or(0, |after| {
            self.history.partition_point(|(seq, _)| *seq <= after)
        });
        self.history
            .range(start..)
            .map(|(_, event)| event.clone())
            .collect()
    }
}

/// A reader of one room: what it missed, then every new event.
#[derive(Debug)]
pub struct Feed {
    /// The stored events after the reader's last one, oldest first.
    pub backlog: Vec<AudienceEvent>,
    events: broadcast::Receiver<(u64, AudienceEvent)>,
    /// New events up to this sequence number are the reader's already: a
    /// node of a cluster may not have stored yet what the reader saw on
    /// another.
    seen: u64,
}

impl Feed {
    /// The next new event the reader does not have yet.
    pub async fn recv(&mut self) -> Result<AudienceEvent, broadcast::error::RecvError> {
        loop {
            let (seq, event) = self.events.recv().await?;
            if seq > self.seen {
                return Ok(event);
            }
        }
    }
}

/// Every room of the server.
#[derive(Debug)]
pub struct Rooms {
    rooms: Mutex<HashMap<RoomName, Room>>,
    ids: EventIds,
    /// The last sequence number stored from a cluster's stream (changed
    /// under the rooms' lock).
    applied: AtomicU64,
    history: usize,
    listed_only: bool,
}

impl Rooms {
    /// The listed rooms of `policy`; each room keeps its last `history` events.
    pub fn new(ids: EventIds, history: usize, policy: RoomPolicy) -> Self {
        let now = Instant::now();
        let rooms = policy
            .listed
            .into_iter()
            .map(|name| (name, Room::new(true, now)))
            .collect();
        Self {
            rooms: Mutex::new(rooms),
            ids,
            applied: AtomicU64::new(0),
            history,
            listed_only: policy.listed_only,
        }
    }

    /// Whether `room` exists now.
    pub fn exists(&self, room: &RoomName) -> bool {
        self.lock().contains_key(room)
    }

    /// Gives `event` the next id, checks it, stores it in `room` (creating
    /// the room) and sends it to the room's feed: a server on its own.
    pub fn publish(&self, room: &RoomName, event: NewEvent) -> Result<AudienceEvent, PublishError> {
        let mut rooms = self.lock();
        let seq = self.ids.next_seq();
        self.store(&mut rooms, room, seq, event)
    }

    /// Stores `event`, the cluster stream's `seq`th, in `room` and sends it
    /// to the room's feed. The stream is read in order; an event at or
    /// before the last one stored (the stream read again from an earlier
    /// place) is skipped: `Ok(None)`.
    pub fn apply(
        &self,
        room: &RoomName,
        seq: u64,
        event: NewEvent,
    ) -> Result<Option<AudienceEvent>, PublishError> {
        let mut rooms = self.lock();
        if seq <= self.applied.load(Ordering::Relaxed) {
            return Ok(None);
        }
        self.applied.store(seq, Ordering::Relaxed);
        self.store(&mut rooms, room, seq, event).map(Some)
    }

    /// The last sequence number [`apply`](Self::apply) stored.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Whether `event` could be stored in `room`, checked before it is sent
    /// to a cluster's stream (which stores what it is given).
    pub fn check(&self, room: &RoomName, event: &NewEvent) -> Result<(), PublishError> {
        self.stamp(u64::MAX, event.clone())
            .validate()
            .map_err(PublishError::Invalid)?;
        if self.listed_only && !self.exists(room) {
            return Err(PublishError::NoSuchRoom);
        }
        Ok(())
    }

    /// `event` as it is stored with sequence number `seq`.
    pub fn stamp(&self, seq: u64, event: NewEvent) -> AudienceEvent {
        AudienceEvent {
            id: self.ids.id(seq),
            source: "room".to_owned(),
            user: event.user,
            timestamp_ms: event.timestamp_ms,
            kind: event.kind,
        }
    }

    fn store(
        &self,
        rooms: &mut HashMap<RoomName, Room>,
        room: &RoomName,
        seq: u64,
        event: NewEvent,
    ) -> Result<AudienceEvent, PublishError> {
        let event = self.stamp(seq, event);
        event.validate().map_err(PublishError::Invalid)?;
        self.room_mut(rooms, room)?
            .push(seq, event.clone(), self.history);
        Ok(event)
    }

    /// The room's stored events after the one with id `after`, oldest first
    /// (all of them when `after` is absent or not an id of this run).
    pub fn events_after(&self, room: &RoomName, after: Option<&str>) -> Vec<AudienceEvent> {
        let after = after.and_then(|id| self.ids.seq_of(id));
        self.lock()
            .get(room)
            .map_or_else(Vec::new, |room| room.after(after))
    }

    /// A reader of `room` that has the events up to id `after`: the stored
    /// ones after it, and every later one, taken together so that nothing
    /// falls in between. Creates the room: a feed may well open before
    /// anyone has posted.
    pub fn subscribe(&self, room: &RoomName, after: Option<&str>) -> Result<Feed, PublishError> {
        let after = after.and_then(|id| self.ids.seq_of(id));
        let mut rooms = self.lock();
        let room = self.room_mut(&mut rooms, room)?;
        Ok(Feed {
            backlog: room.after(after),
            events: room.feed.subscribe(),
            seen: after.unwrap_or(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<RoomName, Room>> {
        // Every update leaves the map consistent, so a panic elsewhere does not poison it.
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The room, made if it may be (making way for the room idle longest
    /// when the server is full), marked active now.
    fn room_mut<'a>(
        &self,
        rooms: &'a mut HashMap<RoomName, Room>,
        name: &RoomName,
    ) -> Result<&'a mut Room, PublishError> {
        let now = Instant::now();
        if !rooms.contains_key(name) {
            if self.listed_only {
                return Err(PublishError::NoSuchRoom);
            }
            if rooms.len() >= MAX_ROOMS {
                let idlest = rooms
                    .iter()
                    .filter(|(_, room)| room.evictable())
                    .min_by_key(|(_, room)| room.last_active)
                    .map(|(name, _)| name.clone())
                    .ok_or(PublishError::TooManyRooms)?;
                rooms.remove(&idlest);
            }
        }
        let room = rooms
            .entry(name.clone())
            .or_insert_with(|| Room::new(false, now));
        room.last_active = now;
        Ok(room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> AudienceUser {
        AudienceUser {
            id: id.into(),
            display_name: id.into(),
            color: None,
            badges: vec![],
        }
    }

    fn chat(user_id: &str, text: &str) -> NewEvent {
        NewEvent {
            user: user(user_id),
            timestamp_ms: 7,
            kind: AudienceEventKind::Chat { text: text.into() },
        }
    }

    fn texts(events: &[AudienceEvent]) -> Vec<String> {
        events
            .iter()
            .map(|event| match &event.kind {
                AudienceEventKind::Chat { text } => text.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    #[test]
    fn room_names_are_short_url_safe_words() {
        assert!(RoomName::parse("Lobby_2-b").is_some());
        assert!(RoomName::parse(&"a".repeat(MAX_ROOM_NAME)).is_some());
        for bad in ["", "a b", "a/b", "é", "..", &"a".repeat(MAX_ROOM_NAME + 1)] {
            assert!(RoomName::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn ids_are_unique_and_resume_only_within_a_run() {
        let ids = EventIds::new(0xab);
        assert_eq!((ids.next_seq(), ids.next_seq()), (1, 2));
        assert_eq!(ids.id(2), "ab-2");
        assert_eq!(ids.seq_of("ab-2"), Some(2));
        for foreign in ["cd-2", "ab", "ab-x", "", "zz-1"] {
            assert_eq!(ids.seq_of(foreign), None, "{foreign:?}");
        }
        assert_ne!(EventIds::for_this_run().boot, 0);
    }

    #[test]
    fn publish_fills_in_the_event_and_keeps_a_bounded_history() {
        let rooms = Rooms::new(EventIds::new(1), 3, RoomPolicy::default());
        let lobby = room("lobby");
        let first = rooms.publish(&lobby, chat("ann", "one")).unwrap();
        assert_eq!(first.id, "1-1");
        assert_eq!(first.source, "room");
        assert_eq!(first.timestamp_ms, 7);
        for text in ["two", "three", "four"] {
            rooms.publish(&lobby, chat("ann", text)).unwrap();
        }
        let all = rooms.events_after(&lobby, None);
        assert_eq!(texts(&all), ["two", "three", "four"]);
        assert!(rooms.events_after(&room("elsewhere"), None).is_empty());
    }

    #[test]
    fn events_after_resumes_even_from_a_vanished_id() {
        let rooms = Rooms::new(EventIds::new(1), 10, RoomPolicy::default());
        let lobby = room("lobby");
        let ids: Vec<String> = ["a", "b", "c"]
            .into_iter()
            .map(|text| rooms.publish(&lobby, chat("ann", text)).unwrap().id)
            .collect();
        assert_eq!(
            texts(&rooms.events_after(&lobby, Some(&ids[0]))),
            ["b", "c"]
        );
        assert!(rooms.events_after(&lobby, Some(&ids[2])).is_empty());
        // Unknown or foreign ids replay everything.
        assert_eq!(rooms.events_after(&lobby, Some("nope")).len(), 3);
        assert_eq!(rooms.events_after(&lobby, Some("2-1")).len(), 3);
        // "b" deleted: resuming after it still starts at "c".
        let delete = NewEvent {
            kind: AudienceEventKind::DeleteMessage {
                target_id: ids[1].clone(),
            },
            ..chat("room", "")
        };
        rooms.publish(&lobby, delete).unwrap();
        let after_b = rooms.events_after(&lobby, Some(&ids[1]));
        assert_eq!(after_b.len(), 2);
        assert_eq!(texts(&after_b)[0], "c");
    }

    #[test]
    fn moderation_removes_stored_events() {
        let rooms = Rooms::new(EventIds::new(1), 10, RoomPolicy::default());
        let lobby = room("lobby");
        let spam = rooms.publish(&lobby, chat("bob", "spam")).unwrap();
        rooms.publish(&lobby, chat("ann", "hi")).unwrap();
        rooms.publish(&lobby, chat("bob", "more spam")).unwrap();
        rooms.publish(&lobby, chat("eve", "hey")).unwrap();
        let delete = NewEvent {
            kind: AudienceEventKind::DeleteMessage { target_id: spam.id },
            ..chat("room", "")
        };
        rooms.publish(&lobby, delete.clone()).unwrap();
        let clear = NewEvent {
            kind: AudienceEventKind::ClearUser {
                user_id: "eve".into(),
            },
            ..chat("room", "")
        };
        rooms.publish(&lobby, clear).unwrap();
        let left = texts(&rooms.events_after(&lobby, None));
        assert_eq!(left.len(), 4, "{left:?}");
        assert_eq!(left[..2], ["hi", "more spam"]);
        assert!(left[2].starts_with("DeleteMessage"), "{left:?}");
        assert!(left[3].starts_with("ClearUser"), "{left:?}");
    }

    #[tokio::test]
    async fn subscribers_get_the_backlog_then_every_new_event() {
        let rooms = Rooms::new(EventIds::new(1), 10, RoomPolicy::default());
        let lobby = room("lobby");
        let first = rooms.publish(&lobby, chat("ann", "before")).unwrap();
        let mut feed = rooms.subscribe(&lobby, None).unwrap();
        assert_eq!(feed.backlog, std::slice::from_ref(&first));
        let resumed = rooms.subscribe(&lobby, Some(&first.id)).unwrap();
        assert!(resumed.backlog.is_empty());
        let second = rooms.publish(&lobby, chat("ann", "after")).unwrap();
        assert_eq!(feed.recv().await.unwrap(), second);
        // Subscribing creates the room.
        assert!(
            rooms
                .subscribe(&room("fresh"), None)
                .unwrap()
                .backlog
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_cluster_stream_is_stored_once_in_order_and_readers_skip_what_they_have() {
        let rooms = Rooms::new(EventIds::new(7), 10, RoomPolicy::default());
        let lobby = room("lobby");
        let applied = rooms.apply(&lobby, 3, chat("ann", "three")).unwrap();
        assert_eq!(applied.unwrap().id, "7-3", "the stream's place is the id");
        // The stream read again after a reconnection: nothing twice.
        assert_eq!(rooms.apply(&lobby, 3, chat("ann", "three")), Ok(None));
        assert_eq!(rooms.apply(&lobby, 2, chat("ann", "two")), Ok(None));
        assert_eq!(rooms.applied(), 3);
        // A reader who saw up to 5 on another node, on this node that has
        // stored only up to 3, gets 6 and on, not 4 and 5 again.
        let mut feed = rooms.subscribe(&lobby, Some("7-5")).unwrap();
        assert!(feed.backlog.is_empty());
        for (seq, text) in [(4, "four"), (5, "five"), (6, "six")] {
            rooms.apply(&lobby, seq, chat("ann", text)).unwrap();
        }
        assert_eq!(texts(&[feed.recv().await.unwrap()]), ["six"]);
        assert_eq!(texts(&rooms.events_after(&lobby, Some("7-3"))).len(), 3);
    }

    #[test]
    fn events_are_checked_before_they_go_to_a_cluster() {
        let policy = RoomPolicy {
            listed: vec![room("stage")],
            listed_only: true,
        };
        let rooms = Rooms::new(EventIds::new(1), 10, policy);
        assert_eq!(rooms.check(&room("stage"), &chat("ann", "hi")), Ok(()));
        assert_eq!(
            rooms.check(&room("other"), &chat("ann", "hi")),
            Err(PublishError::NoSuchRoom)
        );
        assert!(matches!(
            rooms.check(&room("stage"), &chat("ann", &"x".repeat(5000))),
            Err(PublishError::Invalid(_))
        ));
    }

    #[test]
    fn refuses_invalid_events() {
        let rooms = Rooms::new(EventIds::new(1), 10, RoomPolicy::default());
        let too_long = chat("ann", &"x".repeat(5000));
        assert!(matches!(
            rooms.publish(&room("lobby"), too_long),
            Err(PublishError::Invalid(_))
        ));
        assert!(rooms.lock().is_empty(), "a refused event creates no room");
    }

    #[test]
    fn a_full_server_makes_way_for_new_rooms_but_never_for_listed_or_watched_ones() {
        let policy = RoomPolicy {
            listed: vec![room("stage")],
            listed_only: false,
        };
        let rooms = Rooms::new(EventIds::new(1), 10, policy);
        assert!(rooms.exists(&room("stage")));
        let _watching = rooms.subscribe(&room("watched"), None).unwrap();
        rooms.publish(&room("oldest"), chat("ann", "hi")).unwrap();
        for n in 0..MAX_ROOMS - 3 {
            rooms
                .publish(&room(&format!("r{n}")), chat("ann", "hi"))
                .unwrap();
        }
        assert_eq!(rooms.lock().len(), MAX_ROOMS);
        // Full: the room idle longest with no feed makes way.
        rooms.publish(&room("new"), chat("ann", "hi")).unwrap();
        assert!(rooms.exists(&room("new")));
        assert!(!rooms.exists(&room("oldest")));
        for kept in ["stage", "watched"] {
            assert!(rooms.exists(&room(kept)), "{kept}");
        }
        assert_eq!(rooms.lock().len(), MAX_ROOMS);
    }

    #[test]
    fn a_full_server_of_watched_rooms_refuses_new_ones() {
        let rooms = Rooms::new(EventIds::new(1), 10, RoomPolicy::default());
        let _feeds: Vec<_> = (0..MAX_ROOMS)
            .map(|n| rooms.subscribe(&room(&format!("r{n}")), None).unwrap())
            .collect();
        assert_eq!(
            rooms.publish(&room("one-too-many"), chat("ann", "hi")),
            Err(PublishError::TooManyRooms)
        );
        assert!(rooms.publish(&room("r7"), chat("ann", "hi")).is_ok());
    }

    #[test]
    fn a_server_of_listed_rooms_only_makes_no_other() {
        let policy = RoomPolicy {
            listed: vec![room("stage")],
            listed_only: true,
        };
        let rooms = Rooms::new(EventIds::new(1), 10, policy);
        assert!(rooms.publish(&room("stage"), chat("ann", "hi")).is_ok());
        assert_eq!(
            rooms.publish(&room("other"), chat("ann", "hi")),
            Err(PublishError::NoSuchRoom)
        );
        assert!(matches!(
            rooms.subscribe(&room("other"), None),
            Err(PublishError::NoSuchRoom)
        ));
    }
}
