//! The Go-live pop-up's first-run step, like OBS's Settings → Stream: where
//! to stream (Record only, Twitch, YouTube, or a server of one's own), the
//! stream key in a masked field, and "Remember". Shown while the host (or,
//! before one runs, the user's `host.ron`) knows no destination.

use bevy_egui::egui;
use livestream_protocol::StreamDestination;

/// Title of the step's window.
pub(crate) const WHERE: &str = "Where to stream";
/// The choice that needs no account.
pub(crate) const RECORD_ONLY: &str = "Record only (a file in your Videos folder)";
/// Twitch's choice.
pub(crate) const TWITCH: &str = "Twitch";
/// YouTube's choice.
pub(crate) const YOUTUBE: &str = "YouTube";
/// A server of the streamer's own.
pub(crate) const CUSTOM: &str = "My own server (RTMP, RTMPS or SRT)";
/// The key field's label.
pub(crate) const KEY: &str = "Stream key";
/// The server field's label.
pub(crate) const SERVER: &str = "Server";
/// Keep the choice in `host.ron`.
pub(crate) const REMEMBER: &str = "Remember for next time";
/// On to the pop-up's start step.
pub(crate) const CONTINUE: &str = "Continue";

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

/// What the player entered in the step. The key lives only here until it is
/// sent to the host, and `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DestinationForm {
    /// The step is showing.
    pub asking: bool,
    /// The player picked a destination in this pop-up (sent with Start).
    pub chosen: bool,
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
            asking: false,
            chosen: false,
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
            .field("asking", &self.asking)
            .field("chosen", &self.chosen)
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

/// What the player did in the step this frame.
pub(crate) enum StepAnswer {
    /// Nothing yet.
    Pending,
    /// "Continue", with a complete destination.
    Continue,
    /// "Not now".
    NotNow,
}

/// Draws the step's content.
pub(crate) fn destination_step(ui: &mut egui::Ui, form: &mut DestinationForm) -> StepAnswer {
    ui.label("Choose where this stream goes. You can change it later in host.ron.");
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
    let mut answer = StepAnswer::Pending;
    ui.horizontal(|ui| {
        let complete = form.destination().is_some();
        if ui
            .add_enabled(complete, egui::Button::new(CONTINUE))
            .clicked()
        {
            answer = StepAnswer::Continue;
        }
        if ui.button(super::go_live::NOT_NOW).clicked() {
            answer = StepAnswer::NotNow;
        }
    });
    answer
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
