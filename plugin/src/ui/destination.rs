//! The Go-live pop-up's first-run step, like OBS's Settings → Stream: where
//! to stream, drawn with the form the host's dashboard uses too
//! ([`livestream_forms`]). Shown while the host (or, before one runs, the
//! user's `host.ron`) knows no destination, and after "Change destination".

use bevy_egui::egui;
use livestream_forms::{DestinationForm, destination_fields};

/// Title of the step's window.
pub(crate) const WHERE: &str = "Where to stream";
/// On to the pop-up's start step.
pub(crate) const CONTINUE: &str = "Continue";

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
    destination_fields(ui, form);
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
