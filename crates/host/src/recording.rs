//! Files of their own for every session. A `file:` output is a path
//! template: `{date}` (2026-12-03), `{time}` (14-05-09), `{game}` (the game
//! shown when the session starts) and `{n}` (1, 2, … the first free number);
//! a plain path gets the session's date and time added, as OBS names
//! recordings. No session ever overwrites a file.
//!
//! "Record only", the destination that needs no account, is such a template
//! in the user's videos directory, so a player's first Go live works on a
//! fresh machine.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use livestream_media::{Container, Destination, Output};

/// The placeholders a `file:` output may hold.
const PLACEHOLDERS: [&str; 4] = ["{date}", "{time}", "{game}", "{n}"];

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

/// The "Record only" output: `bevy_livestream 2026-12-03 14-05-09.mkv` in
/// `videos` once [`name_session_files`] has named it. Matroska:
/// a recording cut short (a crash, power loss) still plays up to its last
/// cluster.
pub fn record_only_output(videos: &Path) -> Output {
    Output {
        destination: Destination::File(videos.join("bevy_livestream.mkv")),
        container: Container::Matroska,
    }
}

/// What a session's file names are made of.
#[derive(Debug, Clone)]
pub struct SessionNaming {
    /// `{date}`: the local date the session starts, `2026-12-03`.
    pub date: String,
    /// `{time}`: the local time it starts, `14-05-09` (no colons: Windows refuses them).
    pub time: String,
    /// `{game}`: the shown game's name, made safe for a file name (`stream` when none).
    pub game: String,
}

impl SessionNaming {
    /// The naming of a session that starts now with `game` shown.
    pub fn now(game: Option<&str>) -> Self {
        let now = jiff::Zoned::now();
        Self {
            date: now.strftime("%Y-%m-%d").to_string(),
            time: now.strftime("%H-%M-%S").to_string(),
            game: game.map_or_else(|| "stream".to_owned(), file_name_safe),
        }
    }

    /// The file this session writes for the output path `template`: never
    /// one that exists.
    pub fn path(&self, template: &Path) -> PathBuf {
        let dir = template.parent().unwrap_or(Path::new(""));
        let (Some(stem), extension) = (
            template.file_stem().and_then(|stem| stem.to_str()),
            template.extension(),
        ) else {
            return unused_name(
                dir,
                template.file_stem().unwrap_or_default(),
                template.extension(),
            );
        };
        let stem = if PLACEHOLDERS.iter().any(|p| stem.contains(p)) {
            stem.to_owned()
        } else {
            format!("{stem} {{date}} {{time}}")
        };
        let stem = stem
            .replace("{date}", &self.date)
            .replace("{time}", &self.time)
            .replace("{game}", &self.game);
        if stem.contains("{n}") {
            return (1u64..)
                .map(|n| {
                    with_extension(dir, stem.replace("{n}", &n.to_string()).as_ref(), extension)
                })
                .find(|path| !path.exists())
                .unwrap_or_else(|| with_extension(dir, stem.as_ref(), extension));
        }
        unused_name(dir, stem.as_ref(), extension)
    }
}

/// Gives every file output of a session its own file (see the module doc).
pub fn name_session_files(outputs: &mut [Output], naming: &SessionNaming) {
    for output in outputs {
        if let Destination::File(path) = &mut output.destination {
            *path = naming.path(path);
        }
    }
}

/// The files `outputs` write.
pub fn files_of(outputs: &[Output]) -> Vec<PathBuf> {
    outputs
        .iter()
        .filter_map(|output| match &output.destination {
            Destination::File(path) => Some(path.clone()),
            _ => None,
        })
        .collect()
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

/// `name` with the characters no file system takes (`/`, `\`, `:`, …,
/// control characters) replaced by `_`.
fn file_name_safe(name: &str) -> String {
    let safe: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    match safe.trim_matches('.') {
        "" => "stream".to_owned(),
        safe => safe.to_owned(),
    }
}

/// `dir/stem.extension` (no extension when `None`).
fn with_extension(
    dir: &Path,
    stem: &std::ffi::OsStr,
    extension: Option<&std::ffi::OsStr>,
) -> PathBuf {
    let mut name = OsString::from(stem);
    if let Some(extension) = extension {
        name.push(".");
        name.push(extension);
    }
    dir.join(name)
}

/// `dir/stem.extension`, or the first `dir/stem (n).extension` that does not exist.
fn unused_name(dir: &Path, stem: &std::ffi::OsStr, extension: Option<&std::ffi::OsStr>) -> PathBuf {
    let first = with_extension(dir, stem, extension);
    if !first.exists() {
        return first;
    }
    (2u64..)
        .map(|n| {
            let mut numbered = OsString::from(stem);
            numbered.push(format!(" ({n})"));
            with_extension(dir, &numbered, extension)
        })
        .find(|path| !path.exists())
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming() -> SessionNaming {
        SessionNaming {
            date: "2026-12-03".into(),
            time: "14-05-09".into(),
            game: "snake".into(),
        }
    }

    #[test]
    fn a_plain_path_gets_the_date_and_time_and_never_an_existing_name() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("show.mkv");
        let first = naming().path(&template);
        assert_eq!(first, dir.path().join("show 2026-12-03 14-05-09.mkv"));
        std::fs::write(&first, b"x").unwrap();
        let second = naming().path(&template);
        assert_eq!(second, dir.path().join("show 2026-12-03 14-05-09 (2).mkv"));
        std::fs::write(&second, b"x").unwrap();
        assert_eq!(
            naming().path(&template),
            dir.path().join("show 2026-12-03 14-05-09 (3).mkv")
        );
    }

    #[test]
    fn placeholders_are_filled_and_n_counts_up_to_a_free_name() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("{game} {date} take {n}.mp4");
        let first = naming().path(&template);
        assert_eq!(first, dir.path().join("snake 2026-12-03 take 1.mp4"));
        std::fs::write(&first, b"x").unwrap();
        assert_eq!(
            naming().path(&template),
            dir.path().join("snake 2026-12-03 take 2.mp4")
        );
        let timed = naming().path(&dir.path().join("{time}.flv"));
        assert_eq!(timed, dir.path().join("14-05-09.flv"));
        std::fs::write(&timed, b"x").unwrap();
        assert_eq!(
            naming().path(&dir.path().join("{time}.flv")),
            dir.path().join("14-05-09 (2).flv"),
            "without {{n}} a clash still gets a number"
        );
    }

    #[test]
    fn game_names_are_made_safe_for_a_file_name() {
        assert_eq!(file_name_safe("a/b\\c:d"), "a_b_c_d");
        assert_eq!(file_name_safe("  ../  "), "_");
        assert_eq!(file_name_safe(".."), "stream");
        assert_eq!(file_name_safe("snake\n"), "snake");
        assert_eq!(SessionNaming::now(None).game, "stream");
    }

    #[test]
    fn only_file_outputs_are_named_and_record_only_goes_to_the_videos_dir() {
        let mut outputs = vec![
            Output::parse("rtmp://127.0.0.1/live/key").unwrap(),
            record_only_output(Path::new("/home/ann/Videos")),
        ];
        name_session_files(&mut outputs, &naming());
        assert_eq!(
            outputs[0],
            Output::parse("rtmp://127.0.0.1/live/key").unwrap()
        );
        let Destination::File(path) = &outputs[1].destination else {
            panic!("a file");
        };
        assert_eq!(path.parent(), Some(Path::new("/home/ann/Videos")));
        assert!(
            path.ends_with("bevy_livestream 2026-12-03 14-05-09.mkv")
                || path
                    .to_string_lossy()
                    .contains("bevy_livestream 2026-12-03 14-05-09 ("),
            "{}",
            path.display()
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
}
