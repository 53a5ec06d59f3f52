//! The demo games' command line.

use std::path::PathBuf;
use std::time::Duration;

use bevy::math::UVec2;
use bevy_livestream::AudioOutput;
use clap::{CommandFactory, FromArgMatches, Parser};

/// A `bevy_livestream` demo game. It plays itself until a key is pressed
/// and streams whenever `livestream-host` asks for it.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    /// Run without a window: render offscreen (servers, tests, the demo).
    #[arg(long)]
    pub headless: bool,
    /// Window size, or the offscreen target's size with `--headless`, as `WxH`.
    #[arg(long, default_value = "640x360", value_parser = parse_size)]
    pub size: UVec2,
    /// Frames per second of the headless loop.
    #[arg(long, default_value_t = 30.0, value_parser = parse_fps)]
    pub fps: f64,
    /// Exit cleanly (status 0) after this many seconds.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// The name the host knows this game by (default: the game's own), to run two copies.
    #[arg(long)]
    pub name: Option<String>,
    /// For benchmarks: write a line per frame (`SECONDS FRAME_MS CAPTURING
    /// SKIPPED DROPPED`, the last two counted since start) to this file and,
    /// on `--duration`, the streaming counters (`# stats {…}`).
    #[arg(long)]
    pub frame_log: Option<PathBuf>,
    /// For benchmarks: draw the frame number as 32 black/white blocks along
    /// the bottom eighth of the view (`bevy_livestream::frame_code`) and write
    /// `FRAME_NUMBER TIMESTAMP_NS` (`CLOCK_MONOTONIC`) per frame to this file,
    /// so the latency of any way of streaming the game can be read back.
    #[arg(long)]
    pub frame_code: Option<PathBuf>,
    /// For benchmarks: flash the whole view white for a few frames on each
    /// live gift and write `EVENT_ID FRAME_NUMBER TIMESTAMP_NS`
    /// (`CLOCK_MONOTONIC`, when the game read the gift) per gift to this
    /// file, so the audience's round trip can be timed on the stream.
    #[arg(long)]
    pub gift_flash: Option<PathBuf>,
}

impl Args {
    /// The running game's command line; `--help` and `--version` call the
    /// game `program` (e.g. `demo-dodge`). Bad flags exit with status 2.
    pub fn parse_as(program: &'static str) -> Self {
        let matches = Self::command().name(program).get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
    }

    /// The name the host shows and `ctl show` takes: `--name`, else `default`.
    pub fn game_name(&self, default: &str) -> String {
        self.name.clone().unwrap_or_else(|| default.to_owned())
    }

    /// Where the game's sound goes: headless games never open a sound device.
    pub fn audio_output(&self) -> AudioOutput {
        if self.headless {
            AudioOutput::Virtual
        } else {
            AudioOutput::Auto
        }
    }
}

/// Parses `WxH` (each side 16..=7680).
fn parse_size(text: &str) -> Result<UVec2, String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WxH, e.g. 640x360, got {text:?}"))?;
    let side = |s: &str| match s.trim().parse::<u32>() {
        Ok(v) if (16..=7680).contains(&v) => Ok(v),
        _ => Err(format!("each side must be 16..=7680, got {s:?}")),
    };
    Ok(UVec2::new(side(w)?, side(h)?))
}

fn parse_fps(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(fps) if (1.0..=240.0).contains(&fps) => Ok(fps),
        _ => Err(format!("fps must be 1..=240, got {text:?}")),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("duration must be seconds ≥ 0, got {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_values() {
        assert_eq!(parse_size("320x180"), Ok(UVec2::new(320, 180)));
        assert!(parse_size("320").is_err());
        assert!(parse_size("0x10").is_err());
        assert!(parse_fps("0").is_err());
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("-1").is_err());
    }
}
