//! Audience events in the host: read from the sources, kept in the history,
//! and delivered to every connected game (hidden ones too), with the stored
//! backlog first for a game that joins late.

use std::time::{SystemTime, UNIX_EPOCH};

use bevy::prelude::*;
use crossbeam_channel::{Receiver, Sender};
use livestream_control::AudienceStatus;
use livestream_interaction::sanitize::{MAX_CHAT_CHARS, clean_text, clean_user_name};
use livestream_interaction::{
    AudienceEvent, AudienceEventKind, AudienceSource, AudienceUser, DeliveryQueue, DeliveryStats,
    History, Inserted, SourceSpec, SourceTls,
};
use livestream_protocol::{HostMessage, MAX_BACKLOG_EVENTS};
use tracing::{debug, info_span, warn};

use crate::games::{GameConnection, SubGame};

/// Events waiting between the source threads and the host loop; a source
/// that outruns the host counts drops instead of growing memory.
const SOURCE_QUEUE: usize = 65_536;
/// Most events taken from the sources per host frame, so a flood never
/// delays the frame pump.
const MAX_EVENTS_PER_FRAME: usize = 4_096;
/// Most audience messages waiting in one game's outbox: beyond this the game
/// is behind and its [`DeliveryQueue`] decides what to keep.
const DELIVERY_WINDOW: usize = 256;

/// The host's audience: sources, history, and the channel that joins them.
#[derive(Resource, Debug)]
pub struct Audience {
    history: History,
    sources: Vec<AudienceSource>,
    events: Receiver<AudienceEvent>,
    local: Sender<AudienceEvent>,
    local_ids: u64,
    boot: u64,
    queue_capacity: usize,
}

/// One game's audience delivery: what waits for it and what it got.
#[derive(Component, Debug)]
pub struct AudienceDelivery {
    queue: DeliveryQueue,
    /// Events sent in the backlog when the game joined.
    pub backlog: u64,
}

impl AudienceDelivery {
    /// Counters of live delivery (the backlog not included).
    pub fn stats(&self) -> DeliveryStats {
        self.queue.stats()
    }
}

impl Audience {
    /// Starts a thread per source (TLS ones trusting what `tls` trusts);
    /// `history` events are kept, `queue_capacity` events may wait per game.
    pub fn start(
        specs: &[SourceSpec],
        tls: &SourceTls,
        history: usize,
        queue_capacity: usize,
    ) -> Self {
        let (local, events) = crossbeam_channel::bounded(SOURCE_QUEUE);
        let sources = specs
            .iter()
            .map(|spec| AudienceSource::start(spec.clone(), tls, local.clone()))
            .collect();
        Self {
            history: History::new(history),
            sources,
            events,
            local,
            local_ids: 0,
            boot: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            queue_capacity,
        }
    }

    /// Adds an event made on this machine (`ctl say`, `ctl gift`), from `user`.
    pub fn post_local(&mut self, user: &str, kind: AudienceEventKind) -> Result<String, String> {
        let name = clean_user_name(user);
        if name.is_empty() {
            return Err("the user name is empty".into());
        }
        let kind = match kind {
            AudienceEventKind::Chat { text } => {
                let text = clean_text(&text, MAX_CHAT_CHARS);
                if text.is_empty() {
                    return Err("the message is empty".into());
                }
                AudienceEventKind::Chat { text }
            }
            other => other,
        };
        self.local_ids += 1;
        let event = AudienceEvent {
            id: format!("ctl:{:x}:{}", self.boot, self.local_ids),
            source: "ctl".into(),
            user: AudienceUser {
                id: format!("ctl:{}", name.to_lowercase()),
                display_name: name,
                color: None,
                badges: Vec::new(),
            },
            timestamp_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            kind,
        };
        event.validate().map_err(str::to_owned)?;
        let id = event.id.clone();
        self.local
            .try_send(event)
            .map_err(|_| "the audience queue is full".to_owned())?;
        Ok(id)
    }

    /// The stored events, oldest first, and their counters (the dashboard's feed).
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The audience part of `ctl status`.
    pub fn status(&self) -> AudienceStatus {
        AudienceStatus {
            history: self.history.len() as u64,
            stats: self.history.stats(),
            sources: self.sources.iter().map(AudienceSource::status).collect(),
        }
    }
}

/// Sends a newly connected game the stored backlog (in parts, oldest first)
/// and starts its delivery queue, so nothing newer can overtake the backlog.
pub fn welcome_games(
    mut commands: Commands,
    audience: Res<Audience>,
    games: Query<(Entity, &SubGame, &GameConnection), Without<AudienceDelivery>>,
) {
    for (entity, game, link) in &games {
        let events: Vec<_> = audience.history.events().cloned().collect();
        let parts = events.chunks(MAX_BACKLOG_EVENTS).count();
        for (index, part) in events.chunks(MAX_BACKLOG_EVENTS).enumerate() {
            let message = HostMessage::Backlog {
                events: part.to_vec(),
                more: index + 1 < parts,
            };
            if let Err(err) = link.0.outbox().send(message) {
                warn!(game = %game.name, "backlog not sent: {err}");
                break;
            }
        }
        debug!(game = %game.name, events = events.len(), "backlog sent");
        commands.entity(entity).insert(AudienceDelivery {
            queue: DeliveryQueue::new(audience.queue_capacity),
            backlog: events.len() as u64,
        });
    }
}

/// Takes what the sources delivered into the history and queues every new
/// event (and every deletion) for every game.
pub fn receive_audience(mut audience: ResMut<Audience>, mut games: Query<&mut AudienceDelivery>) {
    let audience = &mut *audience;
    for event in audience.events.try_iter().take(MAX_EVENTS_PER_FRAME) {
        match audience.history.insert(&event) {
            Inserted::New | Inserted::Deletion { .. } => {
                // With its log line's time, when the event reached the host
                // (the audience round-trip benchmark reads it).
                debug!(id = %event.id, source = %event.source, "audience event received");
                for mut delivery in &mut games {
                    delivery.queue.push(event.clone());
                }
            }
            Inserted::Duplicate | Inserted::AlreadyDeleted => {}
        }
    }
}

/// Hands each game as many queued events as its link has room for.
pub fn deliver_audience(mut games: Query<(&SubGame, &GameConnection, &mut AudienceDelivery)>) {
    for (game, link, mut delivery) in &mut games {
        if delivery.queue.is_empty() {
            continue;
        }
        let outbox = link.0.outbox();
        let room = DELIVERY_WINDOW.saturating_sub(outbox.backlog().0);
        for event in delivery.queue.take(room) {
            if let Err(err) = outbox.send(HostMessage::Audience(event)) {
                let span = info_span!("game", id = game.game_id, name = %game.name);
                let _entered = span.enter();
                warn!("audience event not sent: {err}");
                break;
            }
        }
    }
}
