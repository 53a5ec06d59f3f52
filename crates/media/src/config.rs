//! Encoding settings and the microphone choice.

use std::path::PathBuf;

use crate::outputs::Output;

/// Where the microphone audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MicSource {
    /// No microphone.
    None,
    /// PulseAudio's default source.
    Auto,
    /// A named PulseAudio source (`pulse:SOURCE`).
    Pulse(String),
    /// A 1 kHz test tone instead of a microphone.
    TestTone,
    /// A WAV file played as the microphone.
    File(PathBuf),
}

impl MicSource {
    /// Parses `auto|none|pulse:SOURCE|test-tone|FILE.wav`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(Self::None),
            "auto" => Ok(Self::Auto),
            "test-tone" => Ok(Self::TestTone),
            _ => {
                if let Some(source) = text.strip_prefix("pulse:") {
                    if source.is_empty() {
                        return Err("pulse: needs a source name".into());
                    }
                    Ok(Self::Pulse(source.to_owned()))
                } else if text.ends_with(".wav") {
                    Ok(Self::File(PathBuf::from(text)))
                } else {
                    Err(format!(
                        "unknown microphone {text:?}: use auto, none, pulse:SOURCE, test-tone or FILE.wav"
                    ))
                }
            }
        }
    }
}

/// x264 speed presets offered (faster presets cost less CPU per frame).
pub const X264_PRESETS: [&str; 6] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
];

/// Everything the pipeline needs to know to start.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Output width in pixels (even).
    pub width: u32,
    /// Output height in pixels (even).
    pub height: u32,
    /// Output frames per second (constant).
    pub fps: u32,
    /// Video bitrate in kbit/s (CBR).
    pub video_kbps: u32,
    /// Audio bitrate in kbit/s.
    pub audio_kbps: u32,
    /// x264 speed preset, one of [`X264_PRESETS`].
    pub x264_preset: String,
    /// Keyframe interval in seconds.
    pub keyframe_seconds: u32,
    /// The microphone, mixed with game audio.
    pub mic: MicSource,
    /// Where the stream goes (at least one).
    pub outputs: Vec<Output>,
    /// Which certificates an `rtmps://` server may present.
    pub tls_trust: TlsTrust,
}

/// Which certificates a secure (`rtmps://`) server may present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsTrust {
    /// One the system's trust store vouches for, issued for the server's name.
    #[default]
    System,
    /// **Insecure, for tests only**: one from any authority (a test's own
    /// CA), still checked for the server's name and dates. Anyone on the
    /// network path could read the stream key.
    AnyAuthorityInsecure,
}

/// Sample rate of the mixed audio track.
pub const AUDIO_RATE: u32 = 48_000;
/// Channels of the mixed audio track.
pub const AUDIO_CHANNELS: u16 = 2;

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 30,
            video_kbps: 2500,
            audio_kbps: 128,
            x264_preset: "veryfast".into(),
            keyframe_seconds: 2,
            mic: MicSource::None,
            outputs: Vec::new(),
            tls_trust: TlsTrust::System,
        }
    }
}

impl MediaConfig {
    /// Checks ranges before anything is built.
    pub fn validate(&self) -> Result<(), String> {
        if self.width < 16
            || self.height < 16
            || self.width > livestream_protocol::MAX_DIMENSION
            || self.height > livestream_protocol::MAX_DIMENSION
            || !self.width.is_multiple_of(2)
            || !self.height.is_multiple_of(2)
        {
            return Err(format!(
                "output size {}x{} must be even and within 16..=7680",
                self.width, self.height
            ));
        }
        if !(1..=120).contains(&self.fps) {
            return Err(format!("fps {} outside 1..=120", self.fps));
        }
        if !(100..=50_000).contains(&self.video_kbps) {
            return Err(format!(
                "bitrate {} kbit/s outside 100..=50000",
                self.video_kbps
            ));
        }
        if !X264_PRESETS.contains(&self.x264_preset.as_str()) {
            return Err(format!("unknown x264 preset {:?}", self.x264_preset));
        }
        if self.outputs.is_empty() {
            return Err("no output given".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mic_choices() {
        assert_eq!(MicSource::parse("none"), Ok(MicSource::None));
        assert_eq!(MicSource::parse("auto"), Ok(MicSource::Auto));
        assert_eq!(MicSource::parse("test-tone"), Ok(MicSource::TestTone));
        assert_eq!(
            MicSource::parse("pulse:virtual_mic"),
            Ok(MicSource::Pulse("virtual_mic".into()))
        );
        assert_eq!(
            MicSource::parse("/tmp/voice.wav"),
            Ok(MicSource::File("/tmp/voice.wav".into()))
        );
        assert!(MicSource::parse("pulse:").is_err());
        assert!(MicSource::parse("bogus").is_err());
    }

    #[test]
    fn config_ranges() {
        let mut config = MediaConfig {
            outputs: vec![Output::parse("file:/tmp/x.flv").unwrap()],
            ..MediaConfig::default()
        };
        assert!(config.validate().is_ok());
        config.width = 321;
        assert!(config.validate().is_err());
        config.width = 320;
        config.x264_preset = "placebo".into();
        assert!(config.validate().is_err());
        config.x264_preset = "veryfast".into();
        config.outputs.clear();
        assert!(config.validate().is_err());
    }
}
