//! Audience interaction for `livestream-host`.
//!
//! Events come from sources ([`source`]: the room server's WebSocket feed or an
//! IRC channel, plus `ctl say`/`ctl gift` in the host), normalised to
//! [`AudienceEvent`]. The host keeps a bounded, de-duplicated [`History`]
//! ordered by source time and hands each new event to every game through a
//! per-game [`DeliveryQueue`] that never lets a flood stall anyone. Everything
//! but the source threads is pure and tested without I/O.

mod delivery;
mod history;
pub mod irc;
mod lines;
pub mod room_api;
pub mod sanitize;
pub mod source;

pub use delivery::{DeliveryQueue, DeliveryStats};
pub use history::{History, HistoryStats, Inserted};
pub use livestream_protocol::{AudienceEvent, AudienceEventKind, AudienceUser};
pub use source::{
    AudienceSource, SourceSpec, SourceState, SourceStatus, SourceTls, SpecError, TlsSetupError,
};

#[cfg(test)]
mod tests {
    //! Event builders shared by the unit tests.
    use super::*;

    /// An event of `kind` by `user` at `timestamp_ms`.
    pub(crate) fn event(
        id: &str,
        user: &str,
        timestamp_ms: i64,
        kind: AudienceEventKind,
    ) -> AudienceEvent {
        AudienceEvent {
            id: id.into(),
            source: "test".into(),
            user: AudienceUser {
                id: user.into(),
                display_name: user.into(),
                color: None,
                badges: vec![],
            },
            timestamp_ms,
            kind,
        }
    }

    /// A chat line.
    pub(crate) fn chat(id: &str, user: &str, timestamp_ms: i64) -> AudienceEvent {
        event(
            id,
            user,
            timestamp_ms,
            AudienceEventKind::Chat {
                text: format!("{id} from {user}"),
            },
        )
    }
}
