//! The Go-live button, its pop-up, and the live badge (stream time, state,
//! bitrate, Stop). Pressing a button writes a [`LiveStreamRequest`]; what the
//! badge shows comes from the [`LiveStream`] resource only.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};
use livestream_protocol::{MicChoice, OutputStatus, StreamPhase, StreamState};

use livestream_forms::DestinationForm;

use super::destination::{StepAnswer, WHERE, destination_step};
use crate::LiveStreamSettings;
use crate::host_config::names_a_destination;
use crate::state::{HostConnection, LiveStream, LiveStreamRequest};

/// Text of the Go-live button.
pub(crate) const GO_LIVE: &str = "Go live";
/// Text of the pop-up's start button.
pub(crate) const START: &str = "Start streaming";
/// Text of the pop-up's microphone check box.
pub(crate) const MIC: &str = "Also stream my microphone";
/// Text of the pop-up's dismiss button.
pub(crate) const NOT_NOW: &str = "Not now";
/// Text of the badge's stop button.
pub(crate) const STOP: &str = "Stop";
/// Text of the button that tries going live again after a failure.
pub(crate) const RETRY: &str = "Retry";
/// Text of the button that goes back to the first-run step after a failure.
pub(crate) const CHANGE_DESTINATION: &str = "Change destination";

/// The player's choices in the Go-live pop-up; kept in memory until the game
/// restarts (a game drawing its own UI may read it).
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct GoLivePrompt {
    /// The pop-up is open.
    pub open: bool,
    /// "Also stream my microphone" is ticked.
    pub mic: bool,
    /// The player answered "Not now" (the pop-up keeps their choices; the
    /// game should not prompt them again by itself).
    pub declined: bool,
    /// The first-run step is showing (no destination yet, or "Change destination").
    pub asking_destination: bool,
    /// The player picked a destination in this pop-up (sent with Start).
    pub destination_chosen: bool,
    /// The first-run step's form: where to stream.
    pub destination: DestinationForm,
}

impl GoLivePrompt {
    /// Opens the pop-up at the first-run step, to pick another destination.
    fn change_destination(&mut self) {
        self.open = true;
        self.declined = false;
        self.asking_destination = true;
    }
}

/// Whether the pop-up asks where to stream first: the connected host knows
/// no destination, or, before a host runs, the user's `host.ron` names none.
fn needs_destination(live: &LiveStream, settings: &LiveStreamSettings) -> bool {
    match (&live.stream, &live.connection) {
        (Some(state), HostConnection::Connected { .. }) => !state.has_destination,
        // A host that has said nothing yet decides by itself (Record only).
        (None, HostConnection::Connected { .. }) => false,
        _ => !settings
            .host_config
            .clone()
            .or_else(livestream_ipc::user_host_config_path)
            .is_some_and(|path| names_a_destination(&path)),
    }
}

/// On air.
const RED: egui::Color32 = egui::Color32::from_rgb(230, 40, 40);
/// Live but not all well (starting, reconnecting).
const AMBER: egui::Color32 = egui::Color32::from_rgb(230, 170, 40);

/// A filled circle the height of a line (the default fonts have no "●").
fn dot(ui: &mut egui::Ui, color: egui::Color32) {
    let height = ui.text_style_height(&egui::TextStyle::Body);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(height * 0.7, height), egui::Sense::hover());
    ui.painter()
        .circle_filled(rect.center(), height * 0.3, color);
}

/// One line saying what the stream does now, for the badge.
pub(crate) fn phase_text(state: &StreamState) -> String {
    match &state.phase {
        StreamPhase::Idle => "idle".into(),
        StreamPhase::Starting => "starting…".into(),
        StreamPhase::Live => "live".into(),
        StreamPhase::Reconnecting {
            attempt,
            retry_in_ms,
        } => format!(
            "reconnecting (attempt {attempt}, next in {:.1} s)",
            *retry_in_ms as f64 / 1000.0
        ),
        StreamPhase::Stopping => "stopping: finishing the recording…".into(),
        StreamPhase::Error { message } => format!("error: {message}"),
    }
}

/// The badge's title: "LIVE" only while some output receives the stream.
pub(crate) fn on_air_text(state: &StreamState) -> &'static str {
    let outputs = &state.stats.outputs;
    match state.phase {
        StreamPhase::Starting => "STARTING",
        StreamPhase::Stopping => "STOPPING",
        _ if !outputs.is_empty() && outputs.iter().all(|output| !output.connected) => "OFF AIR",
        _ => "LIVE",
    }
}

/// Stream time as `M:SS` or `H:MM:SS`.
pub(crate) fn uptime_text(uptime_ms: u64) -> String {
    let secs = uptime_ms / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Draws the button, the pop-up or the badge, and turns clicks into requests.
pub(crate) fn go_live_ui(
    mut contexts: EguiContexts,
    live: Res<LiveStream>,
    settings: Res<LiveStreamSettings>,
    mut prompt: ResMut<GoLivePrompt>,
    mut requests: MessageWriter<LiveStreamRequest>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let corner = egui::Area::new(egui::Id::new("livestream_go_live"))
        .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-10.0, 10.0))
        .order(egui::Order::Foreground);
    corner.show(ctx, |ui| {
        egui::Frame::popup(ui.style()).show(ui, |ui| {
            match live.stream.as_ref().filter(|_| live.is_live()) {
                Some(state) => badge(ui, state, &mut prompt, &mut requests),
                None => {
                    if go_live_button(ui, &live, &mut prompt, &mut requests) {
                        prompt.open = true;
                        prompt.asking_destination = needs_destination(&live, &settings);
                    }
                }
            }
        });
    });
    if prompt.open && prompt.asking_destination {
        destination_popup(ctx, &mut prompt);
    } else if prompt.open {
        popup(ctx, &mut prompt, &mut requests);
    }
    Ok(())
}

/// Draws the Go-live button and any failure; whether it was clicked.
fn go_live_button(
    ui: &mut egui::Ui,
    live: &LiveStream,
    prompt: &mut GoLivePrompt,
    requests: &mut MessageWriter<LiveStreamRequest>,
) -> bool {
    let waiting = matches!(live.connection, HostConnection::StartingHost);
    let clicked = ui
        .horizontal(|ui| {
            dot(ui, RED);
            ui.add_enabled(!waiting, egui::Button::new(GO_LIVE))
                .clicked()
        })
        .inner;
    if waiting {
        ui.label("starting the stream host…");
    }
    let failure = match &live.stream {
        Some(state) if matches!(state.phase, StreamPhase::Error { .. }) => Some(phase_text(state)),
        _ => live.last_error.clone(),
    };
    if let Some(error) = live
        .stream
        .as_ref()
        .and_then(|state| state.config_error.as_ref())
    {
        ui.colored_label(AMBER, error);
    }
    if let Some(failure) = failure.filter(|_| !waiting) {
        ui.colored_label(egui::Color32::LIGHT_RED, failure);
        ui.horizontal(|ui| {
            // The same choices as the last attempt: one click, no pop-up.
            if ui.button(RETRY).clicked() {
                requests.write(LiveStreamRequest::GoLive {
                    mic: if prompt.mic {
                        MicChoice::On
                    } else {
                        MicChoice::Off
                    },
                });
            }
            if ui.button(CHANGE_DESTINATION).clicked() {
                prompt.change_destination();
            }
        });
    }
    clicked
}

/// The first-run step's window.
fn destination_popup(ctx: &egui::Context, prompt: &mut GoLivePrompt) {
    let mut answer = StepAnswer::Pending;
    egui::Window::new(WHERE)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .collapsible(false)
        .resizable(false)
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            answer = destination_step(ui, &mut prompt.destination);
        });
    match answer {
        StepAnswer::Pending => {}
        StepAnswer::Continue => {
            prompt.asking_destination = false;
            prompt.destination_chosen = true;
        }
        StepAnswer::NotNow => {
            prompt.asking_destination = false;
            prompt.open = false;
            prompt.declined = true;
        }
    }
}

/// The badge's width: longer lines (where it records, an output's trouble) wrap.
const BADGE_WIDTH: f32 = 300.0;

/// The live badge: time, state, bitrate, what is wrong and what to do about it.
fn badge(
    ui: &mut egui::Ui,
    state: &StreamState,
    prompt: &mut GoLivePrompt,
    requests: &mut MessageWriter<LiveStreamRequest>,
) {
    ui.set_width(BADGE_WIDTH);
    // Right to left: Stop sits where the Go-live button was.
    let row = egui::vec2(BADGE_WIDTH, ui.spacing().interact_size.y);
    let right_to_left = egui::Layout::right_to_left(egui::Align::Center);
    ui.allocate_ui_with_layout(row, right_to_left, |ui| {
        if ui.button(STOP).clicked() {
            requests.write(LiveStreamRequest::Stop);
        }
        if state.mic == MicChoice::On {
            ui.label("🎤");
        }
        ui.label(uptime_text(state.stats.uptime_ms));
        let live = matches!(state.phase, StreamPhase::Live);
        let color = if live { RED } else { AMBER };
        ui.colored_label(color, egui::RichText::new(on_air_text(state)).strong());
        dot(ui, color);
    });
    // Right under the first line, where they stay whatever the lines below say.
    if state.stats.outputs.iter().any(|output| !output.connected) {
        ui.horizontal(|ui| {
            // A fresh start now, rather than the next automatic attempt.
            if ui.button(RETRY).clicked() {
                requests.write(LiveStreamRequest::Stop);
                requests.write(LiveStreamRequest::GoLive { mic: state.mic });
            }
            if ui.button(CHANGE_DESTINATION).clicked() {
                requests.write(LiveStreamRequest::Stop);
                prompt.change_destination();
            }
        });
    }
    ui.label(format!(
        "{} · {} kbit/s",
        phase_text(state),
        state.stats.bitrate_kbps
    ));
    for error in [&state.mic_error, &state.config_error]
        .into_iter()
        .flatten()
    {
        ui.colored_label(AMBER, error);
    }
    for output in &state.stats.outputs {
        if let Some(line) = output_line(output) {
            if output.connected {
                ui.label(line);
            } else {
                ui.colored_label(AMBER, line);
            }
        }
    }
}

/// What the badge says about one output: where a recording goes, and why
/// an output is not receiving (a refused key, a full disk, a lost ingest).
fn output_line(output: &OutputStatus) -> Option<String> {
    let why = output
        .problem
        .as_ref()
        .map_or_else(|| "not receiving".to_owned(), ToString::to_string);
    match (output.url.strip_prefix("file:"), output.connected) {
        (Some(path), true) => Some(format!("recording to {path}")),
        (Some(path), false) => Some(format!(
            "recording to {path} failed: {why}; the stream goes on"
        )),
        (None, true) => None,
        (None, false) => Some(format!("{}: {why}", output.url)),
    }
}

fn popup(
    ctx: &egui::Context,
    prompt: &mut GoLivePrompt,
    requests: &mut MessageWriter<LiveStreamRequest>,
) {
    egui::Window::new("Start a live stream")
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .collapsible(false)
        .resizable(false)
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            ui.label("Stream this game, and the others you switch to, to your audience.");
            ui.checkbox(&mut prompt.mic, MIC);
            ui.horizontal(|ui| {
                if ui.button(START).clicked() {
                    let mic = if prompt.mic {
                        MicChoice::On
                    } else {
                        MicChoice::Off
                    };
                    if prompt.destination_chosen
                        && let Some(destination) = prompt.destination.destination()
                    {
                        requests.write(LiveStreamRequest::ChooseDestination {
                            destination,
                            remember: prompt.destination.remember,
                        });
                        prompt.destination.clear();
                    }
                    requests.write(LiveStreamRequest::GoLive { mic });
                    prompt.open = false;
                    prompt.declined = false;
                }
                if ui.button(NOT_NOW).clicked() {
                    prompt.open = false;
                    prompt.declined = true;
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use livestream_protocol::{OutputProblem, StreamStats};

    use super::*;

    #[test]
    fn badge_texts() {
        assert_eq!(uptime_text(0), "0:00");
        assert_eq!(uptime_text(754_999), "12:34");
        assert_eq!(uptime_text(3_723_000), "1:02:03");
        let state = |phase| StreamState {
            phase,
            mic: MicChoice::Off,
            stats: StreamStats::default(),
            has_destination: true,
            mic_error: None,
            config_error: None,
        };
        let reconnecting = StreamPhase::Reconnecting {
            attempt: 2,
            retry_in_ms: 1500,
        };
        assert_eq!(
            phase_text(&state(reconnecting)),
            "reconnecting (attempt 2, next in 1.5 s)"
        );
        let error = StreamPhase::Error {
            message: "rtmp://host/live/*** refused".into(),
        };
        assert_eq!(
            phase_text(&state(error)),
            "error: rtmp://host/live/*** refused"
        );
        let output = |url: &str, problem: Option<OutputProblem>| OutputStatus {
            url: url.into(),
            connected: problem.is_none(),
            problem,
        };
        assert_eq!(
            output_line(&output("file:/v/a.mkv", None)).as_deref(),
            Some("recording to /v/a.mkv")
        );
        assert_eq!(
            output_line(&output("file:/v/a.mkv", Some(OutputProblem::DiskFull))).as_deref(),
            Some("recording to /v/a.mkv failed: the disk is full; the stream goes on")
        );
        assert_eq!(output_line(&output("rtmp://h/app/***", None)), None);
        assert_eq!(
            output_line(&output("rtmp://h/app/***", Some(OutputProblem::KeyRefused))).as_deref(),
            Some("rtmp://h/app/***: the server refused the stream: check the stream key")
        );
    }
}
