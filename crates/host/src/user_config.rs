//! The user's own `host.ron`: where it is, and the destination a player
//! picked in a game's Go-live pop-up, applied to the running host and, when
//! they ticked "Remember", saved there (owner-only) for the next sessions.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use bevy::prelude::*;
use tracing::{info, warn};

use crate::messages::SettingsChosen;
use crate::settings::{HostSettings, SettingsError};
use crate::stream::Streaming;

/// The per-user host configuration, read by every host the user starts (by
/// hand, or by a game on demand) unless `--config` names another.
pub use livestream_ipc::user_host_config_path as user_config_path;

/// Where "Remember" saves (the user's own `host.ron`; a test's own file).
#[derive(Resource, Debug, Clone, Default)]
pub struct UserConfig(pub Option<PathBuf>);

/// Changes the settings file at `path` with `edit` (its other settings
/// kept; a new file starts from the defaults), readable by its owner alone:
/// the directory 0700, the file 0600, written whole and then renamed into place.
pub fn save_user_settings(
    path: &Path,
    edit: impl FnOnce(&mut HostSettings),
) -> Result<(), SettingsError> {
    let mut settings = if path.exists() {
        HostSettings::load(path)?
    } else {
        HostSettings::default()
    };
    edit(&mut settings);
    let text = ron::ser::to_string_pretty(&settings, ron::ser::PrettyConfig::default())
        .map_err(|err| SettingsError::Invalid(format!("cannot write settings: {err}")))?;
    let write_error = |source| SettingsError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(write_error)?;
    let partial = path.with_extension("ron.partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial).map_err(write_error)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(write_error)?;
    std::fs::rename(&partial, path).map_err(write_error)
}

/// Applies the settings a streamer chose (in a game's pop-up, or in the
/// dashboard): the running host uses them from the next go-live, and
/// remembered ones are saved for later hosts. A failed save is told to the
/// player with the next stream state, not only logged.
pub fn apply_chosen_settings(
    mut chosen: MessageReader<SettingsChosen>,
    mut settings: ResMut<HostSettings>,
    mut streaming: ResMut<Streaming>,
    user_config: Res<UserConfig>,
) {
    for choice in chosen.read() {
        info!(?choice, "settings chosen");
        choice.apply_to(&mut settings);
        if choice.destination.is_some() {
            streaming.has_destination = true;
        }
        if !choice.remember {
            continue;
        }
        let saved = match &user_config.0 {
            Some(path) => save_user_settings(path, |saved| choice.apply_to(saved))
                .map(|()| info!(path = %path.display(), "settings remembered")),
            None => Err(SettingsError::NoConfigDir),
        };
        streaming.config_trouble = saved.err().map(|err| {
            warn!("the settings are not remembered: {err}");
            format!("your choice is used until the stream host stops, but not remembered: {err}")
        });
        streaming.mark_changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use livestream_protocol::StreamDestination;

    #[test]
    fn a_remembered_destination_is_saved_for_the_owner_alone_keeping_other_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/bevy_livestream/host.ron");
        let twitch = StreamDestination::Twitch {
            key: "live_1".into(),
        };
        let remember = |destination: &StreamDestination| {
            save_user_settings(&path, |settings| {
                SettingsChosen {
                    destination: Some(destination.clone()),
                    quality: None,
                    remember: true,
                }
                .apply_to(settings);
            })
        };
        remember(&twitch).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        let mut settings = HostSettings::load(&path).unwrap();
        assert_eq!(settings.destinations, [twitch]);
        settings.fps = 24;
        std::fs::write(&path, ron::to_string(&settings).unwrap()).unwrap();
        let custom = StreamDestination::Custom {
            server: "rtmps://ingest.example/live".into(),
            key: "k".into(),
        };
        remember(&custom).unwrap();
        let settings = HostSettings::load(&path).unwrap();
        assert_eq!((settings.destinations, settings.fps), (vec![custom], 24));
    }
}
