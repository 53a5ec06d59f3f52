//! The audience overlay: a draggable, collapsible window with gifts and likes
//! on top (new ones flash briefly) and chat below, newest at the bottom.
//! Scrolling up to read history pauses following new lines; a "jump to
//! newest" hint then says how many arrived. Drawn by egui after capture, so
//! it is on the player's screen and never in the stream.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};

use super::feed::{AudienceFeed, ChatLine};

/// Title of the overlay window.
pub(crate) const TITLE: &str = "Audience";
/// How long a new highlight flashes.
const FLASH_S: f64 = 2.0;
/// Highlights listed at most (the newest).
const HIGHLIGHT_ROWS: usize = 4;

/// Where the reader is in the chat history.
#[derive(Resource, Debug, Default)]
pub(crate) struct ChatScroll {
    /// The chat was scrolled to the newest line last frame.
    at_bottom: bool,
    /// `lines_added` when the reader left the bottom.
    read_up_to: u64,
    /// The hint was clicked: scroll to the newest line.
    jump: bool,
    /// Jumped, and wheel movement from before the jump may still be coming:
    /// egui spreads a wheel turn over several frames, which would carry the
    /// chat back up. Swallowed until it stops or the wheel turns again.
    settling: bool,
    /// Height of the chat's content last frame.
    content_height: f32,
}

/// Draws the overlay from the [`AudienceFeed`].
pub(crate) fn audience_overlay(
    mut contexts: EguiContexts,
    feed: Res<AudienceFeed>,
    mut scroll: ResMut<ChatScroll>,
    time: Res<Time<Real>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let now = time.elapsed_secs_f64();
    // Light text on a dark, mostly opaque panel reads on bright and dark scenes alike.
    let frame = egui::Frame::window(&ctx.global_style())
        .fill(egui::Color32::from_rgba_unmultiplied(16, 16, 20, 215))
        .stroke(egui::Stroke::new(1.0, egui::Color32::from_gray(90)));
    egui::Window::new(TITLE)
        .default_pos(egui::pos2(10.0, 10.0))
        .default_size(egui::vec2(300.0, 320.0))
        .collapsible(true)
        .resizable(true)
        .frame(frame)
        .show(ctx, |ui| {
            ui.visuals_mut().override_text_color = Some(egui::Color32::from_gray(235));
            highlights(ui, &feed, now);
            ui.separator();
            chat(ui, &feed, &mut scroll);
        });
    Ok(())
}

fn highlights(ui: &mut egui::Ui, feed: &AudienceFeed, now: f64) {
    let rows = feed.highlights();
    if rows.is_empty() {
        ui.weak("No gifts yet");
        return;
    }
    for row in rows.iter().skip(rows.len().saturating_sub(HIGHLIGHT_ROWS)) {
        let age = row.arrived_s.map_or(f64::INFINITY, |t| now - t);
        let flash = (1.0 - age / FLASH_S).clamp(0.0, 1.0) as f32;
        let accent = if row.gift {
            egui::Color32::from_rgb(255, 200, 60)
        } else {
            egui::Color32::from_rgb(255, 120, 170)
        };
        egui::Frame::new()
            .fill(accent.gamma_multiply(0.45 * flash))
            .corner_radius(3.0)
            .inner_margin(egui::Margin::symmetric(4, 1))
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(accent, egui::RichText::new(&row.user).strong());
                    ui.label(&row.what);
                });
            });
    }
}

fn chat(ui: &mut egui::Ui, feed: &AudienceFeed, scroll: &mut ChatScroll) {
    let jump = std::mem::take(&mut scroll.jump);
    scroll.settling = (jump || scroll.settling) && swallow_wheel_momentum(ui.ctx());
    let unread = feed.lines_added().saturating_sub(scroll.read_up_to);
    let hint_height = if !scroll.at_bottom && unread > 0 {
        24.0
    } else {
        0.0
    };
    let mut area = egui::ScrollArea::vertical()
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .max_height((ui.available_height() - hint_height).max(60.0));
    if jump {
        // Past the end: egui clamps it to the end, where the area sticks again.
        area = area.vertical_scroll_offset(scroll.content_height);
    }
    let output = area.show(ui, |ui| {
        for line in feed.chat() {
            chat_line(ui, line);
        }
    });
    let bottom = output.state.offset.y + output.inner_rect.height();
    let at_bottom = jump || bottom >= output.content_size.y - 4.0;
    if at_bottom || scroll.at_bottom {
        // Following (or just stopped following): everything so far is read.
        scroll.read_up_to = feed.lines_added();
    }
    scroll.at_bottom = at_bottom;
    scroll.content_height = output.content_size.y;
    if hint_height > 0.0
        && ui
            .button(format!("↓ {unread} new — jump to newest"))
            .clicked()
    {
        scroll.jump = true;
    }
}

/// Drops this frame's share of a wheel turn made before a jump; `false` once
/// none is left, or when the wheel turns again (the reader's new intent).
fn swallow_wheel_momentum(ctx: &egui::Context) -> bool {
    ctx.input_mut(|input| {
        let turned = input
            .events
            .iter()
            .any(|event| matches!(event, egui::Event::MouseWheel { .. }));
        if turned || !input.is_scrolling() {
            return false;
        }
        input.smooth_scroll_delta = egui::Vec2::ZERO;
        true
    })
}

fn chat_line(ui: &mut egui::Ui, line: &ChatLine) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        if line.notice {
            ui.colored_label(egui::Color32::from_rgb(140, 200, 255), &line.text);
            return;
        }
        let color = line
            .color
            .map_or(egui::Color32::from_rgb(150, 190, 255), |[r, g, b]| {
                readable_on_dark(egui::Color32::from_rgb(r, g, b))
            });
        ui.colored_label(
            color,
            egui::RichText::new(format!("{}:", line.user)).strong(),
        );
        ui.label(&line.text);
    });
}

/// Lifts a viewer's name colour that would vanish on the dark panel.
fn readable_on_dark(color: egui::Color32) -> egui::Color32 {
    let luma =
        0.299 * f32::from(color.r()) + 0.587 * f32::from(color.g()) + 0.114 * f32::from(color.b());
    if luma >= 110.0 {
        return color;
    }
    let lift = |c: u8| c + ((255 - c) as f32 * 0.5) as u8;
    egui::Color32::from_rgb(lift(color.r()), lift(color.g()), lift(color.b()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dark_name_colours_are_lifted_and_bright_ones_kept() {
        let navy = readable_on_dark(egui::Color32::from_rgb(0, 0, 128));
        assert_eq!(navy, egui::Color32::from_rgb(127, 127, 191));
        let yellow = egui::Color32::from_rgb(255, 220, 0);
        assert_eq!(readable_on_dark(yellow), yellow);
    }
}
