//! The bitrate over the last minute, drawn with egui's painter.

use bevy_egui::egui;

use crate::meter::SampleRing;

/// Height of the plot, in points.
const PLOT_HEIGHT: f32 = 80.0;

/// A line plot of bits/s samples (newest at the right edge), its scale and latest value.
pub fn bitrate_plot(ui: &mut egui::Ui, samples: &SampleRing) {
    let latest = samples.latest().unwrap_or(0.0);
    let top = nice_ceiling(samples.max() * 1.1);
    ui.label(format!(
        "bitrate {} (scale {}, last {} s)",
        format_bits(latest),
        format_bits(top),
        samples.capacity()
    ));
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), PLOT_HEIGHT),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(rect, 2.0, visuals.extreme_bg_color);
    let step = rect.width() / (samples.capacity().max(2) - 1) as f32;
    let first_x = rect.right() - step * (samples.values().len().saturating_sub(1)) as f32;
    let points: Vec<egui::Pos2> = samples
        .values()
        .enumerate()
        .map(|(i, value)| {
            let y = rect.bottom() - (value / top) as f32 * rect.height();
            egui::pos2(first_x + step * i as f32, y)
        })
        .collect();
    if points.len() > 1 {
        painter.add(egui::Shape::line(
            points,
            egui::Stroke::new(1.5, visuals.selection.bg_fill),
        ));
    }
}

/// Bits per second in words: `2.51 Mbit/s`, `96 kbit/s`.
pub fn format_bits(bits_per_second: f64) -> String {
    if bits_per_second >= 1e6 {
        format!("{:.2} Mbit/s", bits_per_second / 1e6)
    } else {
        format!("{:.0} kbit/s", bits_per_second / 1e3)
    }
}

/// A round number at or above `value` for the plot's top (at least 100 kbit/s).
fn nice_ceiling(value: f64) -> f64 {
    let value = value.max(100_000.0);
    let magnitude = 10f64.powf(value.log10().floor());
    let steps = [1.0, 2.0, 2.5, 5.0, 10.0];
    steps
        .iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_and_words() {
        assert!((nice_ceiling(0.0) - 100_000.0).abs() < 1.0);
        assert!((nice_ceiling(2_750_000.0) - 5_000_000.0).abs() < 1.0);
        assert!((nice_ceiling(2_100_000.0) - 2_500_000.0).abs() < 1.0);
        assert_eq!(format_bits(2_512_000.0), "2.51 Mbit/s");
        assert_eq!(format_bits(96_000.0), "96 kbit/s");
    }
}
