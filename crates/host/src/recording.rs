//! "Record only", the destination that needs no account: when no output is
//! configured, each session is recorded to the user's videos directory under
//! a name of its own (the local date and time, as OBS names recordings), so
//! a player's first Go live works on a fresh machine and no session ever
//! overwrites another.

use std::path::{Path, PathBuf};

use livestream_media::{Container, Destination, Output};

/// Where "Record only" puts sessions: `XDG_VIDEOS_DIR`, else the platform's
/// videos directory, else `~/Videos`.
pub fn videos_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_VIDEOS_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    let dirs = directories::UserDirs::new();
    dirs.as_ref()
        .and_then(|dirs| dirs.video_dir().map(Path::to_path_buf))
        .or_else(|| dirs.map(|dirs| dirs.home_dir().join("Videos")))
        .unwrap_or_else(|| PathBuf::from("Videos"))
}

/// The file for a session that starts now in `dir`: `bevy_livestream
/// 2026-12-03 14-05-09.mkv`, with ` (2)`, ` (3)`, … added when a file of
/// that name exists. Matroska: a recording cut short (a crash, power loss)
/// still plays up to its last cluster.
pub fn session_file(dir: &Path) -> PathBuf {
    let stamp = jiff::Zoned::now().strftime("%Y-%m-%d %H-%M-%S").to_string();
    unused_name(dir, &format!("bevy_livestream {stamp}"), "mkv")
}

/// The "Record only" output of a session that starts now.
pub fn session_output() -> Output {
    Output {
        destination: Destination::File(session_file(&videos_dir())),
        container: Container::Matroska,
    }
}

/// Creates the directories the file outputs write into (the videos
/// directory may not exist yet on a fresh machine).
pub fn prepare_directories(outputs: &[Output]) -> Result<(), String> {
    for output in outputs {
        if let Destination::File(path) = &output.destination
            && let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        }
    }
    Ok(())
}

/// `dir/stem.extension`, or the first `dir/stem (n).extension` that does not exist.
fn unused_name(dir: &Path, stem: &str, extension: &str) -> PathBuf {
    let first = dir.join(format!("{stem}.{extension}"));
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}).{extension}")))
        .find(|path| !path.exists())
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_never_takes_an_existing_name() {
        let dir = tempfile::tempdir().unwrap();
        let first = unused_name(dir.path(), "show", "mkv");
        assert_eq!(first, dir.path().join("show.mkv"));
        std::fs::write(&first, b"x").unwrap();
        let second = unused_name(dir.path(), "show", "mkv");
        assert_eq!(second, dir.path().join("show (2).mkv"));
        std::fs::write(&second, b"x").unwrap();
        assert_eq!(
            unused_name(dir.path(), "show", "mkv"),
            dir.path().join("show (3).mkv")
        );
    }

    #[test]
    fn missing_directories_are_made_for_file_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("videos/new/show.mkv");
        let output = Output {
            destination: Destination::File(file.clone()),
            container: Container::Matroska,
        };
        prepare_directories(&[output]).unwrap();
        assert!(file.parent().unwrap().is_dir());
    }

    #[test]
    fn session_files_are_named_by_date_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let name = session_file(dir.path());
        let name = name.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("bevy_livestream 20"), "{name}");
        assert!(name.ends_with(".mkv"), "{name}");
    }
}
