//! Audience events counted and logged (the end-to-end tests read the log).

use bevy::prelude::*;
use bevy_livestream::AudienceMessage;

/// Audience events received: live ones and those from the backlog (which
/// happened before the game joined and trigger no gameplay).
#[derive(Resource, Debug, Default)]
pub struct AudienceCount {
    /// Events received while this game runs.
    pub live: u64,
    /// Events replayed from the host's backlog on connect.
    pub backlog: u64,
}

/// The [`AudienceCount`] resource, kept up to date.
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<AudienceCount>()
        .add_systems(PreUpdate, count_audience);
}

fn count_audience(mut events: MessageReader<AudienceMessage>, mut count: ResMut<AudienceCount>) {
    for message in events.read() {
        info!(
            id = %message.event.id,
            backlog = message.from_backlog,
            "audience event"
        );
        if message.from_backlog {
            count.backlog += 1;
        } else {
            count.live += 1;
        }
    }
}
