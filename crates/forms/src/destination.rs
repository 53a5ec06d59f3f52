//! Where the stream goes: the kind, the server for one's own, the stream
//! key (masked on screen, never in `Debug`), and "Remember".

use egui::Ui;
use livestream_protocol::StreamDestination;

/// The choice that needs no account.
pub const RECORD_ONLY: &str = "Record only (a file in your Videos folder)";
/// Twitch's choice.
pub const TWITCH: &str = "Twitch";
/// YouTube's choice.
pub const YOUTUBE: &str = "YouTube";
/// A server of the streamer's own.
pub const CUSTOM: &str = "My own server (RTMP, RTMPS or SRT)";
/// The key field's label.
pub const KEY: &str = "Stream key";
/// The server field's label.
pub const SERVER: &str = "Server";
/// Keep the choice in `host.ron`.
pub const REMEMBER: &str = "Remember for next time";
/// Which kind of destination the player picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DestinationKind {
    /// A file, no network.
    #[default]
    RecordOnly,
    /// Twitch (the key from its dashboard).
    Twitch,
    /// YouTube Live (the key from YouTube Studio).
    YouTube,
    /// A server URL and a key.
    Custom,
}

/// What the streamer entered. The key lives only here until it is
/// sent to the host, and `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DestinationForm {
    /// The kind picked.
    pub kind: DestinationKind,
    /// The server, for [`DestinationKind::Custom`].
    pub server: String,
    /// The stream key.
    pub key: String,
    /// Keep it in the user's `host.ron`.
    pub remember: bool,
}

impl Default for DestinationForm {
    fn default() -> Self {
        Self {
            kind: DestinationKind::default(),
            server: String::new(),
            key: String::new(),
            remember: true,
        }
    }
}

impl core::fmt::Debug for DestinationForm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DestinationForm")
            .field("kind", &self.kind)
            .field("server", &self.server)
            .field("key", &"***")
            .field("remember", &self.remember)
            .finish()
    }
}

impl DestinationForm {
    /// The destination entered, once it is complete (a key where one is
    /// needed, a server URL the host can use).
    pub fn destination(&self) -> Option<StreamDestination> {
        let key = self.key.trim().to_owned();
        let server = self.server.trim().to_owned();
        let needs_key = self.kind != DestinationKind::RecordOnly;
        if needs_key && key.is_empty() {
            return None;
        }
        Some(match self.kind {
            DestinationKind::RecordOnly => StreamDestination::RecordOnly,
            DestinationKind::Twitch => StreamDestination::Twitch { key },
            DestinationKind::YouTube => StreamDestination::YouTube { key },
            DestinationKind::Custom => {
                let known = ["rtmp://", "rtmps://", "srt://"];
                if !known.iter().any(|scheme| server.starts_with(scheme)) {
                    return None;
                }
                StreamDestination::Custom { server, key }
            }
        })
    }

    /// Forgets the key (after it was sent); the kind and server stay, so
    /// "Change destination" after a refused key asks only for the key again.
    pub fn clear(&mut self) {
        *self = Self {
            kind: self.kind,
            server: core::mem::take(&mut self.server),
            remember: self.remember,
            ..Self::default()
        };
    }
}

/// Draws the destination choices: the kinds, the server for one's own, the
/// masked key, and "Remember".
pub fn destination_fields(ui: &mut Ui, form: &mut DestinationForm) {
    for (kind, text) in [
        (DestinationKind::RecordOnly, RECORD_ONLY),
        (DestinationKind::Twitch, TWITCH),
        (DestinationKind::YouTube, YOUTUBE),
        (DestinationKind::Custom, CUSTOM),
    ] {
        ui.radio_value(&mut form.kind, kind, text);
    }
    if form.kind == DestinationKind::Custom {
        ui.horizontal(|ui| {
            ui.label(SERVER);
            ui.add(egui::TextEdit::singleline(&mut form.server).hint_text("rtmps://…"));
        });
    }
    if form.kind != DestinationKind::RecordOnly {
        ui.horizontal(|ui| {
            ui.label(KEY);
            ui.add(egui::TextEdit::singleline(&mut form.key).password(true));
        });
    }
    ui.checkbox(&mut form.remember, REMEMBER);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_is_complete_with_what_it_needs() {
        let mut form = DestinationForm::default();
        assert_eq!(form.destination(), Some(StreamDestination::RecordOnly));
        form.kind = DestinationKind::Twitch;
        assert_eq!(form.destination(), None, "no key yet");
        form.key = " live_1 ".into();
        assert_eq!(
            form.destination(),
            Some(StreamDestination::Twitch {
                key: "live_1".into()
            })
        );
        form.kind = DestinationKind::Custom;
        form.server = "ftp://nope".into();
        assert_eq!(form.destination(), None, "not a streaming server");
        form.server = "rtmps://ingest.example/live".into();
        assert!(form.destination().is_some());
        assert!(
            !format!("{form:?}").contains("live_1"),
            "the key is never printed"
        );
        form.clear();
        assert!(form.key.is_empty() && form.kind == DestinationKind::Custom && form.remember);
    }
}
