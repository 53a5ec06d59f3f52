//! Host settings: command-line flags over an optional RON file.

use std::path::{Path, PathBuf};

use bevy::prelude::Resource;
use livestream_interaction::{SourceSpec, SourceTls, SpecError};
use livestream_media::{MediaConfig, MicSource, Output, TlsTrust};
use serde::{Deserialize, Serialize};
use tracing::warn;

use livestream_protocol::StreamDestination;

use crate::recording;
use crate::user_config::user_config_path;

/// Everything the host runs with.
#[derive(Resource, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostSettings {
    /// Game socket; `None`: `LIVESTREAM_SOCKET`, then the per-user default.
    pub socket: Option<PathBuf>,
    /// Outputs (`rtmp://…`, `srt://…`, `file:PATH.flv|.mp4|.mkv`); secrets
    /// inside. With no `destinations` either: "Record only", each session
    /// to a new file in the user's videos directory ([`crate::recording`]).
    pub outputs: Vec<String>,
    /// Destinations as a streamer knows them (Twitch, YouTube, a server of
    /// their own, Record only), in addition to `outputs`.
    pub destinations: Vec<StreamDestination>,
    /// Where "Record only" sessions go, like OBS's recording path; `None`:
    /// the user's videos directory ([`recording::videos_dir`]).
    pub videos_dir: Option<PathBuf>,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Output frame rate.
    pub fps: u32,
    /// Video bitrate in kbit/s.
    pub bitrate_kbps: u32,
    /// x264 speed preset.
    pub x264_preset: String,
    /// Microphone used when the player streams it: `auto|none|pulse:SOURCE|test-tone|FILE.wav`.
    pub mic: String,
    /// Games to start as children (they find the host through `LIVESTREAM_SOCKET`).
    pub launch: Vec<PathBuf>,
    /// Games the dashboard offers to start, each with a "Start" button.
    pub games: Vec<ConfiguredGame>,
    /// Stop the stream and exit once every game that connected has gone.
    pub exit_when_empty: bool,
    /// Go live as soon as the host starts (the microphone stays off).
    pub go_live_on_start: bool,
    /// Audience sources: `ws[s]://HOST:PORT/rooms/NAME/ws` (a `livestream-room`
    /// feed; a room on several clustered servers is their feeds,
    /// comma-separated) or `irc[s]://HOST:PORT/#CHANNEL`; the `s` forms speak TLS.
    pub interaction: Vec<String>,
    /// A PEM file of certificate authorities that TLS audience sources trust
    /// besides the system's: for a self-hosted server with its own authority.
    pub interaction_ca: Option<PathBuf>,
    /// Audience events kept for games that join later.
    pub audience_history: usize,
    /// Audience events that may wait for one slow game before the least
    /// important are dropped.
    pub audience_queue: usize,
    /// Which certificates `rtmps://` servers may present. Never read from
    /// or saved to a file: only [`INSECURE_TLS_ENV`] loosens it, for tests.
    #[serde(skip)]
    pub tls_trust: TlsTrust,
}

/// Set to `any-authority` (tests only, **insecure**), an `rtmps://` server's
/// certificate may come from any authority, such as a test's own CA. A game
/// passes its environment on to the host it starts.
pub const INSECURE_TLS_ENV: &str = "LIVESTREAM_INSECURE_TLS";

impl Default for HostSettings {
    fn default() -> Self {
        Self {
            socket: None,
            outputs: Vec::new(),
            destinations: Vec::new(),
            videos_dir: None,
            width: 1280,
            height: 720,
            fps: 30,
            bitrate_kbps: 2500,
            x264_preset: "veryfast".into(),
            mic: "auto".into(),
            launch: Vec::new(),
            games: Vec::new(),
            exit_when_empty: true,
            go_live_on_start: false,
            interaction: Vec::new(),
            interaction_ca: None,
            audience_history: 500,
            audience_queue: 1024,
            tls_trust: TlsTrust::System,
        }
    }
}

/// A game listed in `host.ron` so the streamer can start it from the
/// dashboard instead of a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredGame {
    /// The name the game announces when it connects: its dashboard row
    /// follows the connected game of that name.
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

/// Why settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The RON file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The RON file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The RON file is invalid.
    #[error("invalid host config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why.
        source: Box<ron::error::SpannedError>,
    },
    /// A value is out of range or malformed.
    #[error("{0}")]
    Invalid(String),
    /// This system names no per-user config directory (no `HOME`).
    #[error("this system has no per-user config directory (is HOME set?)")]
    NoConfigDir,
}

/// Warns when a config file, which may hold stream keys, can be read by
/// other users, naming the fix.
#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        warn!(
            "{} can be read by other users and may hold stream keys; make it yours alone: chmod 600 '{}'",
            path.display(),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

impl HostSettings {
    /// The per-user configuration ([`user_config_path`]) when it exists, else
    /// the defaults.
    pub fn load_user() -> Result<Self, SettingsError> {
        match user_config_path().filter(|path| path.exists()) {
            Some(path) => Self::load(&path),
            None => Ok(Self::default()),
        }
    }

    /// Reads a RON file; fields left out keep their defaults.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        warn_if_readable_by_others(path);
        ron::from_str(&text).map_err(|source| SettingsError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Whether an output or a destination is configured (else a game asks
    /// the player where to stream, and "Record only" is the default).
    pub fn has_destination(&self) -> bool {
        !self.outputs.is_empty() || !self.destinations.is_empty()
    }

    /// The "Record only" output, in [`Self::videos_dir`].
    fn record_only(&self) -> Output {
        let dir = self
            .videos_dir
            .clone()
            .unwrap_or_else(recording::videos_dir);
        recording::record_only_output(&dir)
    }

    /// The outputs of a session: the configured ones, else "Record only"
    /// (file outputs still templates: [`recording::name_session_files`]
    /// gives each session its own files).
    pub fn session_outputs(&self) -> Result<Vec<Output>, SettingsError> {
        if self.outputs.is_empty() && self.destinations.is_empty() {
            return Ok(vec![self.record_only()]);
        }
        let mut outputs = self
            .outputs
            .iter()
            .map(|o| Output::parse(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| SettingsError::Invalid(err.to_string()))?;
        for destination in &self.destinations {
            destination.check().map_err(SettingsError::Invalid)?;
            outputs.push(match destination.output_url() {
                Some(url) => {
                    Output::parse(&url).map_err(|err| SettingsError::Invalid(err.to_string()))?
                }
                None => self.record_only(),
            });
        }
        Ok(outputs)
    }

    /// The media configuration of a stream, with the microphone on or off
    /// (file outputs still templates).
    pub fn media_config(&self, mic_on: bool) -> Result<MediaConfig, SettingsError> {
        let outputs = self.session_outputs()?;
        let mic = if mic_on {
            MicSource::parse(&self.mic).map_err(SettingsError::Invalid)?
        } else {
            MicSource::None
        };
        let config = MediaConfig {
            width: self.width,
            height: self.height,
            fps: self.fps,
            video_kbps: self.bitrate_kbps,
            x264_preset: self.x264_preset.clone(),
            mic,
            outputs,
            tls_trust: self.tls_trust,
            ..MediaConfig::default()
        };
        config.validate().map_err(SettingsError::Invalid)?;
        Ok(config)
    }

    /// The audience sources, parsed.
    pub fn interaction_sources(&self) -> Result<Vec<SourceSpec>, SettingsError> {
        self.interaction
            .iter()
            .map(|spec| {
                spec.parse()
                    .map_err(|err: SpecError| SettingsError::Invalid(err.to_string()))
            })
            .collect()
    }

    /// What TLS audience sources trust: the system's authorities and
    /// [`HostSettings::interaction_ca`].
    pub fn source_tls(&self) -> Result<SourceTls, SettingsError> {
        SourceTls::new(self.interaction_ca.as_deref())
            .map_err(|err| SettingsError::Invalid(err.to_string()))
    }

    /// Checks everything that can be checked before the host starts.
    pub fn validate(&self) -> Result<(), SettingsError> {
        MicSource::parse(&self.mic).map_err(SettingsError::Invalid)?;
        self.interaction_sources()?;
        if self.interaction_ca.is_some() {
            self.source_tls()?;
        }
        if self.audience_history == 0 || self.audience_queue == 0 {
            return Err(SettingsError::Invalid(
                "audience_history and audience_queue must be at least 1".into(),
            ));
        }
        self.validate_games()?;
        self.media_config(false).map(|_| ())
    }

    /// The configured games need a name (unique: rows are found by it) and a program.
    fn validate_games(&self) -> Result<(), SettingsError> {
        let mut names = std::collections::HashSet::new();
        for game in &self.games {
            if game.name.trim().is_empty() {
                return Err(SettingsError::Invalid(format!(
                    "configured game with program {:?} has no name",
                    game.program
                )));
            }
            if game.program.as_os_str().is_empty() {
                return Err(SettingsError::Invalid(format!(
                    "configured game {:?} has no program",
                    game.name
                )));
            }
            if !names.insert(game.name.as_str()) {
                return Err(SettingsError::Invalid(format!(
                    "configured game {:?} is listed twice",
                    game.name
                )));
            }
        }
        Ok(())
    }

    /// The configured game named `name`.
    pub fn configured_game(&self, name: &str) -> Option<&ConfiguredGame> {
        self.games.iter().find(|game| game.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ron_file_fills_in_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.ron");
        std::fs::write(&path, r#"(outputs: ["file:/tmp/a.mkv"], fps: 15)"#).unwrap();
        let settings = HostSettings::load(&path).unwrap();
        assert_eq!(settings.fps, 15);
        assert_eq!(settings.width, 1280);
        assert!(settings.validate().is_ok());
    }

    fn refusal(settings: &HostSettings) -> String {
        settings.validate().unwrap_err().to_string()
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let settings = HostSettings {
            outputs: vec!["gopher://x".into()],
            ..HostSettings::default()
        };
        assert!(refusal(&settings).contains("unsupported output"));
        let settings = HostSettings {
            outputs: vec!["file:/tmp/a.flv".into()],
            mic: "nope".into(),
            ..HostSettings::default()
        };
        assert!(settings.validate().is_err());
        let settings = HostSettings {
            interaction: vec!["irc://h/#c".into(), "telnet://x".into()],
            ..HostSettings::default()
        };
        assert!(refusal(&settings).contains("telnet"));
        let settings = HostSettings {
            interaction: vec!["ircs://irc.chat.twitch.tv/#c".into()],
            interaction_ca: Some("/nonexistent/ca.pem".into()),
            ..HostSettings::default()
        };
        assert!(refusal(&settings).contains("/nonexistent/ca.pem"));
    }

    #[test]
    fn configured_games_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.ron");
        std::fs::write(
            &path,
            r#"(outputs: ["file:/tmp/a.mkv"],
                games: [(name: "snake", program: "/usr/bin/demo-snake", args: ["--size", "640x360"]),
                        (name: "dodge", program: "demo-dodge")])"#,
        )
        .unwrap();
        let settings = HostSettings::load(&path).unwrap();
        assert!(settings.validate().is_ok());
        assert_eq!(settings.games.len(), 2);
        assert_eq!(settings.games[0].args, ["--size", "640x360"]);
        assert!(settings.games[1].args.is_empty());
        assert_eq!(
            settings.configured_game("dodge").unwrap().program,
            Path::new("demo-dodge")
        );

        let game = |name: &str, program: &str| ConfiguredGame {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
        };
        let with = |games| HostSettings {
            games,
            ..HostSettings::default()
        };
        assert!(refusal(&with(vec![game(" ", "a")])).contains("has no name"));
        assert!(refusal(&with(vec![game("a", "")])).contains("has no program"));
        assert!(refusal(&with(vec![game("a", "x"), game("a", "y")])).contains("listed twice"));
        std::fs::write(&path, r#"(games: [(name: "a", program: "b", colour: 1)])"#).unwrap();
        assert!(
            HostSettings::load(&path).is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn microphone_only_when_chosen() {
        let settings = HostSettings {
            outputs: vec!["file:/tmp/a.flv".into()],
            mic: "test-tone".into(),
            ..HostSettings::default()
        };
        assert_eq!(settings.media_config(false).unwrap().mic, MicSource::None);
        assert_eq!(
            settings.media_config(true).unwrap().mic,
            MicSource::TestTone
        );
    }

    #[test]
    fn destinations_join_the_outputs_and_keys_stay_out_of_what_is_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.ron");
        std::fs::write(
            &path,
            r#"(destinations: [Twitch(key: "live_secret_1"), Custom(server: "rtmp://127.0.0.1:1935/live", key: "secret_2"), RecordOnly])"#,
        )
        .unwrap();
        let settings = HostSettings::load(&path).unwrap();
        settings.validate().unwrap();
        let outputs = settings.session_outputs().unwrap();
        assert_eq!(outputs.len(), 3);
        let shown: Vec<String> = outputs.iter().map(ToString::to_string).collect();
        assert!(
            shown[0].starts_with("rtmps://live.twitch.tv:443/app/"),
            "{shown:?}"
        );
        assert!(
            shown.iter().all(|url| !url.contains("secret")),
            "keys are redacted: {shown:?}"
        );
        assert!(shown[2].starts_with("file:"), "{shown:?}");
        let keyless = HostSettings {
            destinations: vec![StreamDestination::YouTube { key: String::new() }],
            ..HostSettings::default()
        };
        assert!(refusal(&keyless).contains("no stream key"));
    }
}
