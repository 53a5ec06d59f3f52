//! The picture's quality: size, frame rate and bitrate together, offered as
//! the presets the platforms' ingest guides recommend (Twitch and YouTube
//! both list these pairs of resolution and bitrate).

use egui::Ui;

/// What the stream's picture is encoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quality {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Video bitrate in kbit/s (constant).
    pub bitrate_kbps: u32,
}

/// A quality with the name a streamer picks it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityPreset {
    /// What the streamer reads.
    pub name: &'static str,
    /// What it means.
    pub quality: Quality,
}

/// The qualities offered, from the lightest on an uplink to the heaviest.
pub const QUALITY_PRESETS: [QualityPreset; 5] = [
    preset("480p, 30 fps, 1200 kbit/s", 854, 480, 30, 1200),
    preset("720p, 30 fps, 2500 kbit/s", 1280, 720, 30, 2500),
    preset("720p, 60 fps, 4500 kbit/s", 1280, 720, 60, 4500),
    preset("1080p, 30 fps, 4500 kbit/s", 1920, 1080, 30, 4500),
    preset("1080p, 60 fps, 6000 kbit/s", 1920, 1080, 60, 6000),
];

const fn preset(
    name: &'static str,
    width: u32,
    height: u32,
    fps: u32,
    bitrate_kbps: u32,
) -> QualityPreset {
    QualityPreset {
        name,
        quality: Quality {
            width,
            height,
            fps,
            bitrate_kbps,
        },
    }
}

impl Quality {
    /// What the streamer reads for it: a preset's name, else its numbers.
    pub fn describe(&self) -> String {
        QUALITY_PRESETS
            .iter()
            .find(|preset| preset.quality == *self)
            .map_or_else(
                || {
                    format!(
                        "{}×{}, {} fps, {} kbit/s (from host.ron)",
                        self.width, self.height, self.fps, self.bitrate_kbps
                    )
                },
                |preset| preset.name.to_owned(),
            )
    }
}

/// Draws the quality choice: a drop-down of [`QUALITY_PRESETS`] (a quality
/// set by hand in `host.ron` is shown as it is until another is picked).
pub fn quality_field(ui: &mut Ui, quality: &mut Quality) {
    egui::ComboBox::from_label("Quality")
        .selected_text(quality.describe())
        .show_ui(ui, |ui| {
            for preset in &QUALITY_PRESETS {
                ui.selectable_value(quality, preset.quality, preset.name);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_named_and_others_described() {
        assert_eq!(
            QUALITY_PRESETS[1].quality.describe(),
            "720p, 30 fps, 2500 kbit/s"
        );
        let own = Quality {
            width: 320,
            height: 180,
            fps: 15,
            bitrate_kbps: 600,
        };
        assert_eq!(
            own.describe(),
            "320×180, 15 fps, 600 kbit/s (from host.ron)"
        );
        for preset in &QUALITY_PRESETS {
            let Quality { width, height, .. } = preset.quality;
            assert!(
                width % 2 == 0 && height % 2 == 0,
                "{preset:?}: the encoder wants even sizes"
            );
        }
    }
}
