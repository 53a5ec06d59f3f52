//! Draws the dashboard from the [`DashboardModel`] and hands the clicks to
//! the host loop as [`Action`]s. Reads the model only; all state here is the
//! UI's own (the microphone checkbox, uploaded textures, the frame rate).

use std::collections::HashMap;

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};
use livestream_forms::{DestinationForm, Quality, destination_fields, quality_field};
use livestream_protocol::{DisplayReason, MicChoice, StreamDestination, StreamPhase, Visibility};

use super::DashboardLink;
use super::feed::{FeedKind, FeedLine};
use super::model::{ConfiguredRow, DashboardModel, GameRow, RATE_WINDOW};
use super::plot::bitrate_plot;
use super::thumbnail::Thumbnail;
use crate::meter::RateMeter;
use livestream_control::OutputHealth;
use livestream_interaction::{SourceState, SourceStatus};

/// Width of the games panel, in points.
const GAMES_WIDTH: f32 = 450.0;
/// Width of the audience panel, in points.
const FEED_WIDTH: f32 = 330.0;
/// Width a game's thumbnail is drawn at, in points.
const THUMBNAIL_WIDTH: f32 = 160.0;
/// Width the stream preview is drawn at, at most, in points.
const PREVIEW_WIDTH: f32 = 384.0;

const LIVE: egui::Color32 = egui::Color32::from_rgb(230, 60, 60);
const WARN: egui::Color32 = egui::Color32::from_rgb(240, 170, 40);
const GOOD: egui::Color32 = egui::Color32::from_rgb(90, 200, 110);

/// What a click asks for; the host loop turns it into the message `ctl` would produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Go live, with or without the microphone.
    GoLive {
        /// The microphone checkbox.
        mic: MicChoice,
    },
    /// Stop streaming.
    Stop,
    /// Show this game and hide the others.
    Show {
        /// The game's connection id.
        game_id: u64,
    },
    /// Start the configured game of this name.
    Start {
        /// Its name in `host.ron`.
        name: String,
    },
    /// Use these settings from the next go-live.
    SaveSettings {
        /// Where to stream, when the form names a complete destination.
        destination: Option<StreamDestination>,
        /// The picture's quality.
        quality: Quality,
        /// Also save them in the user's `host.ron`.
        remember: bool,
    },
}

/// Text of the settings panel's button.
pub const SAVE_SETTINGS: &str = "Use these settings";

/// The drawing's own state.
pub struct UiState {
    /// The "microphone" checkbox next to "Go live".
    mic: bool,
    /// The settings panel's form (the key is forgotten once used).
    destination: DestinationForm,
    /// The quality picked in the settings panel; the host's until changed.
    quality: Option<Quality>,
    textures: Textures,
    /// The window's frame rate.
    frames: RateMeter,
}

impl Default for UiState {
    fn default() -> Self {
        Self {
            mic: false,
            destination: DestinationForm::default(),
            quality: None,
            textures: Textures::default(),
            frames: RateMeter::new(RATE_WINDOW),
        }
    }
}

/// Draws the dashboard on the primary egui context from a copy of the
/// model, and hands what was clicked to the host loop.
pub fn draw_dashboard(
    mut contexts: EguiContexts,
    link: Res<DashboardLink>,
    time: Res<Time<Real>>,
    frames: Res<FrameCount>,
    mut state: Local<UiState>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let model = link.model().clone();
    state.frames.record(time.elapsed(), u64::from(frames.0));
    for action in draw(ctx, &model, &mut state) {
        link.send(action);
    }
    Ok(())
}

/// Lays the dashboard out on the whole window; returns what was clicked.
fn draw(ctx: &egui::Context, model: &DashboardModel, state: &mut UiState) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "dashboard".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    state.textures.begin_frame();
    egui::Panel::top("stream_controls").show(&mut root, |ui| {
        let window_fps = state.frames.per_second();
        stream_controls(ui, model, window_fps, &mut state.mic, &mut actions);
    });
    egui::Panel::left("games")
        .resizable(false)
        .exact_size(GAMES_WIDTH)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("games_scroll")
                .show(ui, |ui| {
                    ui.heading("Connected games");
                    if model.games.is_empty() {
                        ui.label("No game connected.");
                    }
                    for game in &model.games {
                        game_row(ui, game, &mut state.textures, &mut actions);
                    }
                    ui.add_space(8.0);
                    ui.heading("Games in host.ron");
                    if model.configured.is_empty() {
                        ui.label("None configured (games: [...] in host.ron).");
                    }
                    for game in &model.configured {
                        configured_row(ui, game, &mut actions);
                    }
                    ui.add_space(8.0);
                    ui.heading("Stream settings");
                    settings_panel(ui, model, state, &mut actions);
                });
        });
    egui::Panel::right("audience")
        .resizable(false)
        .exact_size(FEED_WIDTH)
        .show(&mut root, |ui| {
            ui.heading("Audience");
            audience_sources(ui, &model.sources);
            ui.separator();
            feed(ui, &model.feed);
        });
    egui::CentralPanel::default().show(&mut root, |ui| {
        stream_panel(ui, model, &mut state.textures);
    });
    state.textures.end_frame();
    actions
}

/// Where the next stream goes and its quality, like OBS's Settings →
/// Stream and Output: the same destination form as the games' first-run
/// step, and the quality presets. Applies from the next go-live.
fn settings_panel(
    ui: &mut egui::Ui,
    model: &DashboardModel,
    state: &mut UiState,
    actions: &mut Vec<Action>,
) {
    for destination in &model.settings.destinations {
        ui.label(format!("Now: {destination}"));
    }
    destination_fields(ui, &mut state.destination);
    let Some(quality) = state.quality.or(model.settings.quality) else {
        return;
    };
    let mut picked = quality;
    quality_field(ui, &mut picked);
    if picked != quality {
        state.quality = Some(picked);
    }
    if ui.button(SAVE_SETTINGS).clicked() {
        actions.push(Action::SaveSettings {
            destination: state.destination.destination(),
            quality: picked,
            remember: state.destination.remember,
        });
        state.destination.clear();
        state.quality = None;
    }
    if state.destination.destination().is_none() {
        ui.label("The destination stays as it is until the form names one (a key, a server).");
    }
}

fn stream_controls(
    ui: &mut egui::Ui,
    model: &DashboardModel,
    window_fps: f64,
    mic: &mut bool,
    actions: &mut Vec<Action>,
) {
    let stream = &model.stream;
    ui.horizontal(|ui| {
        ui.heading("livestream-host");
        ui.separator();
        let (text, colour) = phase_words(&stream.phase);
        let text = egui::RichText::new(text).color(colour).strong();
        if stream.phase == StreamPhase::Live {
            marked(ui, text, colour);
        } else {
            ui.label(text);
        }
        if stream.uptime > std::time::Duration::ZERO {
            ui.label(format_uptime(stream.uptime));
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let live = !stream.can_go_live();
            if ui.add_enabled(live, egui::Button::new("Stop")).clicked() {
                actions.push(Action::Stop);
            }
            if ui
                .add_enabled(!live, egui::Button::new("Go live"))
                .clicked()
            {
                let mic = if *mic { MicChoice::On } else { MicChoice::Off };
                actions.push(Action::GoLive { mic });
            }
            // While live the box shows the stream's choice; it sets the next one.
            let mut streamed_mic = stream.mic;
            let shown = if live { &mut streamed_mic } else { mic };
            ui.add_enabled(!live, egui::Checkbox::new(shown, "microphone"));
            ui.separator();
            ui.label(
                egui::RichText::new(format!(
                    "host loop {:.0}/s, window {:.0} fps",
                    model.loop_fps, window_fps
                ))
                .color(ui.visuals().weak_text_color()),
            );
        });
    });
}

fn game_row(ui: &mut egui::Ui, game: &GameRow, textures: &mut Textures, actions: &mut Vec<Action>) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            thumbnail(
                ui,
                textures,
                TextureKey::Game(game.game_id),
                game.thumbnail.as_deref(),
                THUMBNAIL_WIDTH,
            );
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(&game.name).strong());
                    ui.label(format!("#{}", game.game_id));
                    if game.on_air {
                        marked(ui, egui::RichText::new("on air").color(LIVE), LIVE);
                    }
                });
                let shown = game.visibility == Visibility::Shown;
                let status = format!(
                    "{} ({})",
                    if shown { "shown" } else { "hidden" },
                    reason_words(game.reason)
                );
                let colour = if shown {
                    GOOD
                } else {
                    ui.visuals().weak_text_color()
                };
                ui.label(egui::RichText::new(status).color(colour));
                ui.label(format!("{:.1} frames/s in", game.fps_in));
                ui.label(format!("{} frames, {} lost", game.frames, game.frames_lost));
                if ui.button("Show").clicked() {
                    actions.push(Action::Show {
                        game_id: game.game_id,
                    });
                }
            });
        });
    });
}

fn configured_row(ui: &mut egui::Ui, game: &ConfiguredRow, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(&game.name).strong())
            .on_hover_text(&game.program);
        if ui
            .add_enabled(game.can_start(), egui::Button::new("Start"))
            .clicked()
        {
            actions.push(Action::Start {
                name: game.name.clone(),
            });
        }
        if ui
            .add_enabled(
                game.connected.is_some(),
                egui::Button::new("Bring to front"),
            )
            .clicked()
            && let Some(game_id) = game.connected
        {
            actions.push(Action::Show { game_id });
        }
        if game.connected.is_some() {
            ui.label(egui::RichText::new("connected").color(GOOD));
        } else if game.starting {
            ui.label(egui::RichText::new("starting…").color(WARN));
        } else if let Some(failure) = &game.failure {
            ui.label(egui::RichText::new(failure).color(LIVE));
        }
    });
}

fn stream_panel(ui: &mut egui::Ui, model: &DashboardModel, textures: &mut Textures) {
    let stream = &model.stream;
    ui.heading("Stream");
    ui.label(match &stream.shown_game {
        Some(name) => format!("picture: {name}"),
        None => "picture: nothing shown (the last frame repeats)".to_owned(),
    });
    thumbnail(
        ui,
        textures,
        TextureKey::Preview,
        model.preview.as_deref(),
        PREVIEW_WIDTH.min(ui.available_width()),
    );
    egui::Grid::new("stream_counters")
        .num_columns(2)
        .show(ui, |ui| {
            let rows = [
                ("frames pushed", stream.frames_pushed),
                ("repeated", stream.frames_repeated),
                ("superseded", stream.frames_superseded),
                ("reconnects", stream.reconnects),
                ("switches", stream.switches),
            ];
            for (name, value) in rows {
                ui.label(name);
                ui.label(value.to_string());
                ui.end_row();
            }
            ui.label("microphone");
            match (&stream.mic_error, stream.mic) {
                (Some(error), _) => ui.label(egui::RichText::new(error).color(WARN)),
                (None, true) => ui.label("on"),
                (None, false) => ui.label("off"),
            };
            ui.end_row();
        });
    ui.separator();
    ui.label(egui::RichText::new("Outputs").strong());
    if stream.outputs.is_empty() {
        ui.label("none while not live");
    }
    for output in &stream.outputs {
        let (text, colour) = match output.health {
            OutputHealth::Up => ("up".to_owned(), GOOD),
            OutputHealth::Reconnecting { attempt } => {
                (format!("reconnecting (attempt {attempt})"), WARN)
            }
            OutputHealth::Failed => ("failed".to_owned(), LIVE),
        };
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(text).color(colour));
            ui.add(
                egui::Label::new(output.url.as_str())
                    .selectable(true)
                    .truncate(),
            );
        });
    }
    if !stream.recordings.is_empty() {
        ui.separator();
        ui.label(egui::RichText::new("Recordings").strong());
        for file in stream.recordings.iter().rev() {
            ui.add(
                egui::Label::new(file.display().to_string())
                    .selectable(true)
                    .truncate(),
            );
        }
    }
    ui.separator();
    bitrate_plot(ui, &stream.bitrate);
}

/// Each audience source with its state in words, and its warning.
fn audience_sources(ui: &mut egui::Ui, sources: &[SourceStatus]) {
    if sources.is_empty() {
        ui.label("No audience source (--interaction).");
    }
    for source in sources {
        let (words, colour) = source_state_words(source);
        marked(ui, egui::RichText::new(&source.label).strong(), colour);
        ui.label(egui::RichText::new(words).small());
        if let Some(warning) = &source.warning {
            ui.label(egui::RichText::new(warning).small().color(WARN));
        }
    }
}

/// A source's state in words, and its colour.
fn source_state_words(source: &SourceStatus) -> (String, egui::Color32) {
    match &source.state {
        SourceState::Connecting => ("connecting…".to_owned(), WARN),
        SourceState::Connected => (format!("connected · {} events", source.events), GOOD),
        SourceState::Reconnecting {
            attempt, reason, ..
        } => (format!("reconnecting (attempt {attempt}): {reason}"), LIVE),
        SourceState::Stopped => ("stopped".to_owned(), egui::Color32::GRAY),
    }
}

fn feed(ui: &mut egui::Ui, lines: &[FeedLine]) {
    if lines.is_empty() {
        ui.label("No audience events yet.");
    }
    egui::ScrollArea::vertical()
        .id_salt("feed_scroll")
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let font = egui::TextStyle::Body.resolve(ui.style());
            let text_colour = ui.visuals().text_color();
            for line in lines {
                let mut job = egui::text::LayoutJob::default();
                let format = |colour| egui::TextFormat::simple(font.clone(), colour);
                job.append(&line.user, 0.0, format(feed_colour(line.kind)));
                let text_colour = match line.kind {
                    FeedKind::Chat => text_colour,
                    kind => feed_colour(kind),
                };
                job.append(&line.text, 6.0, format(text_colour));
                ui.add(egui::Label::new(job).selectable(true).wrap());
            }
        });
}

fn feed_colour(kind: FeedKind) -> egui::Color32 {
    match kind {
        FeedKind::Chat => egui::Color32::from_rgb(120, 170, 255),
        FeedKind::Gift => egui::Color32::from_rgb(255, 190, 60),
        FeedKind::Like => egui::Color32::from_rgb(255, 120, 170),
        FeedKind::Follow => GOOD,
        FeedKind::Notice => egui::Color32::GRAY,
    }
}

/// The stream phase in words, and its colour.
fn phase_words(phase: &StreamPhase) -> (String, egui::Color32) {
    match phase {
        StreamPhase::Idle => ("idle".to_owned(), egui::Color32::GRAY),
        StreamPhase::Starting => ("starting…".to_owned(), WARN),
        StreamPhase::Stopping => ("stopping: finishing files…".to_owned(), WARN),
        StreamPhase::Live => ("LIVE".to_owned(), LIVE),
        StreamPhase::Reconnecting {
            attempt,
            retry_in_ms,
        } => (
            format!("reconnecting (attempt {attempt}, retry in {retry_in_ms} ms)"),
            WARN,
        ),
        StreamPhase::Error { message } => (format!("error: {message}"), LIVE),
    }
}

/// A coloured dot before a label (the default fonts have no bullet glyph).
fn marked(ui: &mut egui::Ui, text: egui::RichText, colour: egui::Color32) {
    let height = ui.text_style_height(&egui::TextStyle::Body);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(height * 0.6, height), egui::Sense::hover());
    ui.painter()
        .circle_filled(rect.center(), height * 0.3, colour);
    ui.label(text);
}

fn reason_words(reason: DisplayReason) -> &'static str {
    match reason {
        DisplayReason::Startup => "just connected",
        DisplayReason::Focus => "focus",
        DisplayReason::Visibility => "visibility",
        DisplayReason::Occlusion => "occlusion",
        DisplayReason::Minimize => "minimized",
        DisplayReason::HostCommand => "host command",
    }
}

fn format_uptime(uptime: std::time::Duration) -> String {
    let seconds = uptime.as_secs();
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Draws a thumbnail `width` points wide, or a grey box of 16:9 until there is one.
fn thumbnail(
    ui: &mut egui::Ui,
    textures: &mut Textures,
    key: TextureKey,
    picture: Option<&Thumbnail>,
    width: f32,
) {
    match picture {
        Some(picture) => {
            let texture = textures.get(ui.ctx(), key, picture);
            let height = width * picture.height as f32 / picture.width as f32;
            ui.image(egui::load::SizedTexture::new(
                texture,
                egui::vec2(width, height),
            ));
        }
        None => {
            let (rect, _) =
                ui.allocate_exact_size(egui::vec2(width, width * 9.0 / 16.0), egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "no frame yet",
                egui::TextStyle::Small.resolve(ui.style()),
                ui.visuals().weak_text_color(),
            );
        }
    }
}

/// Which picture a texture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TextureKey {
    Game(u64),
    Preview,
}

/// egui textures of the thumbnails, uploaded again only when a new thumbnail
/// arrived, freed when no longer drawn.
#[derive(Default)]
struct Textures {
    /// Key → (thumbnail serial, texture, drawn this frame).
    held: HashMap<TextureKey, (u64, egui::TextureHandle, bool)>,
}

impl Textures {
    fn begin_frame(&mut self) {
        for entry in self.held.values_mut() {
            entry.2 = false;
        }
    }

    fn get(
        &mut self,
        ctx: &egui::Context,
        key: TextureKey,
        picture: &Thumbnail,
    ) -> egui::TextureId {
        let image = || {
            egui::ColorImage::from_rgba_unmultiplied(
                [picture.width as usize, picture.height as usize],
                &picture.rgba,
            )
        };
        let entry = self.held.entry(key).or_insert_with(|| {
            let name = format!("{key:?}");
            let texture = ctx.load_texture(name, image(), egui::TextureOptions::NEAREST);
            (picture.serial, texture, true)
        });
        if entry.0 != picture.serial {
            entry.1.set(image(), egui::TextureOptions::NEAREST);
            entry.0 = picture.serial;
        }
        entry.2 = true;
        entry.1.id()
    }

    fn end_frame(&mut self) {
        self.held.retain(|_, entry| entry.2);
    }
}
