//! The settings a streamer fills in, drawn with egui, like OBS's Settings →
//! Stream and Output: where the stream goes (Record only, Twitch, YouTube,
//! a server of one's own), the stream key in a masked field, and the
//! picture's quality. The game's Go-live pop-up and the host's dashboard
//! draw the same form, so a streamer sees one set of choices wherever they
//! set up.
//!
//! Pure UI over plain data: no I/O, no Bevy; what the form holds becomes a
//! [`StreamDestination`](livestream_protocol::StreamDestination) or a
//! [`Quality`], which the caller sends or saves.

mod destination;
mod quality;

pub use destination::{
    CUSTOM, DestinationForm, DestinationKind, KEY, RECORD_ONLY, REMEMBER, SERVER, TWITCH, YOUTUBE,
    destination_fields,
};
pub use quality::{QUALITY_PRESETS, Quality, QualityPreset, quality_field};
