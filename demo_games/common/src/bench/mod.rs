//! What the benchmarks ask of a demo game: `--frame-log`, `--frame-code`
//! and `--gift-flash`.

mod frame_code;
mod frame_log;
mod gift_flash;

use std::path::{Path, PathBuf};

use bevy::prelude::*;

use crate::Args;

pub(crate) use frame_log::FrameLog;

/// The logs `args` ask for.
pub(crate) fn add(app: &mut App, args: &Args) {
    if let Some(log) = args.frame_log.as_deref().and_then(LineLog::create) {
        frame_log::add(app, log);
    }
    if let Some(log) = args.frame_code.as_deref().and_then(LineLog::create) {
        frame_code::add(app, log);
    }
    if let Some(log) = args.gift_flash.as_deref().and_then(LineLog::create) {
        gift_flash::add(app, log);
    }
}

/// A benchmark's text file, a line per write; a failed write is logged, the game plays on.
struct LineLog {
    path: PathBuf,
    file: std::io::LineWriter<std::fs::File>,
}

impl LineLog {
    fn create(path: &Path) -> Option<Self> {
        match std::fs::File::create(path) {
            Ok(file) => Some(Self {
                path: path.to_owned(),
                file: std::io::LineWriter::new(file),
            }),
            Err(err) => {
                error!("{}: {err}", path.display());
                None
            }
        }
    }

    fn write(&mut self, line: std::fmt::Arguments) {
        use std::io::Write as _;
        if let Err(err) = writeln!(self.file, "{line}") {
            error!("{}: {err}", self.path.display());
        }
    }
}
