//! Plugin configuration: struct fields, an optional RON file, and the
//! `LIVESTREAM_SOCKET` environment override.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use livestream_protocol::PixelFormat;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use livestream_ipc::SOCKET_ENV;

/// Settings of the live-stream plugin, available as a resource at run time.
#[derive(Resource, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveStreamSettings {
    /// Name the game announces to the host (shown in `ctl status` and the dashboard).
    pub game_name: String,
    /// Frames per second sent to the host while live; the host paces output itself.
    pub capture_fps: u32,
    /// Host socket path; `None` uses the per-user default. `LIVESTREAM_SOCKET` wins over both.
    pub socket: Option<PathBuf>,
    /// Start `livestream-host --headless` when the player goes live and no host runs.
    pub start_host_on_demand: bool,
    /// Host binary to start on demand; `None` looks next to the game binary, then on `PATH`.
    pub host_binary: Option<PathBuf>,
    /// The user's host settings, which the game reads before any host runs
    /// to know whether to ask the player where to stream; `None` is the
    /// per-user `host.ron` every host reads.
    pub host_config: Option<PathBuf>,
    /// Largest picture sent to the host, in pixels; bigger views are scaled down on the GPU
    /// (aspect kept, never scaled up). The host scales to the stream's size itself.
    pub max_capture_size: (u32, u32),
    /// Pixel format on the socket: `I420` (1.5 bytes per pixel, converted on the GPU) or
    /// `Rgba8` (4 bytes per pixel, for hosts or tools that want RGB).
    pub pixel_format: PixelFormat,
    /// Where the captured picture is converted to I420.
    pub conversion: Conversion,
    /// Where the game's sound goes besides the stream.
    pub audio_output: AudioOutput,
}

/// Where the captured picture becomes I420.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Conversion {
    /// The CPU when the render adapter is itself a CPU (Mesa's llvmpipe,
    /// `SwiftShader`: no GPU), the GPU otherwise.
    #[default]
    Auto,
    /// A compute pass on the GPU scales and converts; only I420 crosses back.
    Gpu,
    /// The view is copied back as RGBA and converted on the capture's
    /// readback thread: several times cheaper than the compute pass when
    /// the "GPU" is the CPU. Needs an unscaled capture (the view fits
    /// `max_capture_size`) of an 8-bit view; otherwise the GPU converts.
    Cpu,
}

/// Where kira plays the game's sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AudioOutput {
    /// The default sound device, or a real-time paced virtual output when there is none
    /// (servers, CI), so the game's sound still reaches the stream.
    #[default]
    Auto,
    /// Never open a sound device: the virtual output only (headless games, tests).
    Virtual,
}

impl Default for LiveStreamSettings {
    fn default() -> Self {
        Self {
            game_name: default_game_name(),
            capture_fps: 30,
            socket: None,
            start_host_on_demand: true,
            host_binary: None,
            host_config: None,
            max_capture_size: (1280, 720),
            pixel_format: PixelFormat::I420,
            conversion: Conversion::Auto,
            audio_output: AudioOutput::Auto,
        }
    }
}

fn default_game_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "game".to_owned())
}

/// Why a configuration file could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read live-stream config {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid RON for [`LiveStreamSettings`].
    #[error("invalid live-stream config {path}: {source}")]
    Parse {
        /// The file that was asked for.
        path: PathBuf,
        /// Where and why parsing failed.
        source: Box<ron::error::SpannedError>,
    },
    /// A value is out of range.
    #[error("invalid live-stream config: {0}")]
    Invalid(String),
}

impl LiveStreamSettings {
    /// Parses settings from RON text; fields left out keep their defaults.
    pub fn from_ron(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let settings: Self = ron::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Reads settings from a RON file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_ron(&text, path)
    }

    /// Checks ranges a file or a caller could get wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=120).contains(&self.capture_fps) {
            return Err(ConfigError::Invalid(format!(
                "capture_fps must be 1..=120, got {}",
                self.capture_fps
            )));
        }
        let max = livestream_protocol::MAX_DIMENSION;
        let (w, h) = self.max_capture_size;
        if !(2..=max).contains(&w) || !(2..=max).contains(&h) {
            return Err(ConfigError::Invalid(format!(
                "max_capture_size sides must be 2..={max}, got {w}x{h}"
            )));
        }
        if self.game_name.trim().is_empty() || self.game_name.len() > 64 {
            return Err(ConfigError::Invalid(
                "game_name must be 1..=64 bytes".to_owned(),
            ));
        }
        Ok(())
    }

    /// Applies the environment override ([`SOCKET_ENV`]) given its value.
    pub fn with_socket_override(mut self, value: Option<std::ffi::OsString>) -> Self {
        if let Some(path) = value.filter(|v| !v.is_empty()) {
            self.socket = Some(PathBuf::from(path));
        }
        self
    }
}

/// The game-side plugin: add it once, then tag cameras with [`crate::Streamable`].
#[derive(Debug, Clone, Default)]
pub struct LiveStreamPlugin {
    /// Settings used when no config file is given (or as the base it overrides).
    pub settings: LiveStreamSettings,
    /// Optional RON file with [`LiveStreamSettings`]; it replaces `settings` when it loads.
    pub config_file: Option<PathBuf>,
}

impl LiveStreamPlugin {
    /// The settings this plugin will run with: file (if any), then the environment.
    pub fn resolve_settings(&self) -> Result<LiveStreamSettings, ConfigError> {
        let base = match &self.config_file {
            Some(path) => LiveStreamSettings::load(path)?,
            None => {
                self.settings.validate()?;
                self.settings.clone()
            }
        };
        Ok(base.with_socket_override(std::env::var_os(SOCKET_ENV)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_ron_keeps_defaults() {
        let s = LiveStreamSettings::from_ron("(capture_fps: 15)", Path::new("x.ron")).unwrap();
        assert_eq!(s.capture_fps, 15);
        assert!(s.start_host_on_demand);
        assert_eq!(s.socket, None);
    }

    #[test]
    fn unknown_field_is_a_clear_error() {
        let err = LiveStreamSettings::from_ron("(fps: 15)", Path::new("bad.ron")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bad.ron") && text.contains("fps"), "{text}");
    }

    #[test]
    fn out_of_range_fps_is_refused() {
        let err = LiveStreamSettings::from_ron("(capture_fps: 0)", Path::new("x.ron")).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid(_)));
    }

    #[test]
    fn environment_overrides_socket() {
        let s = LiveStreamSettings {
            socket: Some("/from/config".into()),
            ..default()
        };
        assert_eq!(
            s.clone()
                .with_socket_override(Some("/from/env".into()))
                .socket,
            Some(PathBuf::from("/from/env"))
        );
        assert_eq!(
            s.clone().with_socket_override(Some("".into())).socket,
            Some(PathBuf::from("/from/config"))
        );
        assert_eq!(s.clone().with_socket_override(None), s);
    }

    #[test]
    fn config_file_is_loaded_by_the_plugin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stream.ron");
        std::fs::write(&path, "(game_name: \"snake\", capture_fps: 10)").unwrap();
        let plugin = LiveStreamPlugin {
            config_file: Some(path),
            ..default()
        };
        let s = plugin.resolve_settings().unwrap();
        assert_eq!((s.game_name.as_str(), s.capture_fps), ("snake", 10));
    }
}
