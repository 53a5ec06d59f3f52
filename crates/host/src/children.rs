//! Games started by the host (`--launch BIN`, or a configured game's "Start"
//! button on the dashboard), stopped by pid when it exits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use tracing::{info, warn};

use crate::settings::HostSettings;

/// The host's child games.
#[derive(Resource, Debug)]
pub struct Children {
    /// The game socket handed to every child in `LIVESTREAM_SOCKET`.
    socket: PathBuf,
    running: Vec<Launched>,
    /// Why the last start of a configured game failed, by its name.
    failures: BTreeMap<String, String>,
}

/// One started child and the name it was started under.
#[derive(Debug)]
struct Launched {
    label: String,
    child: Child,
}

/// A request to start the configured game of this name (from the dashboard).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct LaunchGame {
    /// The configured game's name (`games` in `host.ron`).
    pub name: String,
}

impl Children {
    /// No children yet; those started later find the host at `socket`.
    pub fn new(socket: PathBuf) -> Self {
        Self {
            socket,
            running: Vec::new(),
            failures: BTreeMap::new(),
        }
    }

    /// Starts `program args…` with the host socket in `LIVESTREAM_SOCKET`,
    /// remembered under `label`; returns its pid.
    pub fn launch(&mut self, label: &str, program: &Path, args: &[String]) -> std::io::Result<u32> {
        let child = Command::new(program)
            .args(args)
            .env(livestream_ipc::SOCKET_ENV, &self.socket)
            .spawn()?;
        let pid = child.id();
        info!(pid, program = %program.display(), label, "launched game");
        self.running.push(Launched {
            label: label.to_owned(),
            child,
        });
        Ok(pid)
    }

    /// Whether a child started under `label` is still running (exited ones are reaped).
    pub fn is_running(&mut self, label: &str) -> bool {
        self.running
            .retain_mut(|launched| matches!(launched.child.try_wait(), Ok(None)));
        self.running.iter().any(|launched| launched.label == label)
    }

    /// Why the last start of the configured game `name` failed, if it did.
    pub fn failure(&self, name: &str) -> Option<&str> {
        self.failures.get(name).map(String::as_str)
    }

    /// Stops every child still running: a polite signal, then a kill after `grace`.
    pub fn stop_all(&mut self, grace: Duration) {
        for launched in &mut self.running {
            if matches!(launched.child.try_wait(), Ok(None)) {
                terminate(&launched.child);
            }
        }
        let deadline = Instant::now() + grace;
        for Launched { child, .. } in &mut self.running {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                warn!(pid = child.id(), "child game did not stop; killing it");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        self.running.clear();
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.stop_all(Duration::from_secs(3));
    }
}

/// The label a `--launch` child is known by: its file name.
pub fn program_label(program: &Path) -> String {
    program.file_name().map_or_else(
        || program.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// Starts the configured games the dashboard asked for; a failure is logged
/// and kept for the dashboard to show.
pub fn launch_requested_games(
    mut requests: MessageReader<LaunchGame>,
    settings: Res<HostSettings>,
    mut children: ResMut<Children>,
) {
    for LaunchGame { name } in requests.read() {
        let Some(game) = settings.configured_game(name) else {
            warn!(name, "no configured game of that name");
            continue;
        };
        if children.is_running(name) {
            continue; // started already; waiting for it to connect
        }
        match children.launch(&game.name, &game.program, &game.args) {
            Ok(_) => {
                children.failures.remove(name);
            }
            Err(err) => {
                warn!(name, program = %game.program.display(), "cannot start game: {err}");
                children
                    .failures
                    .insert(name.clone(), format!("cannot start: {err}"));
            }
        }
    }
}

fn terminate(child: &Child) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
    }
    #[cfg(not(unix))]
    let _ = child;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_tracked_by_label_and_reaped() {
        let mut children = Children::new(PathBuf::from("/nonexistent.sock"));
        children
            .launch("sleeper", Path::new("sleep"), &["30".into()])
            .unwrap();
        children.launch("quick", Path::new("true"), &[]).unwrap();
        assert!(children.is_running("sleeper"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while children.is_running("quick") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!children.is_running("quick"), "an exited child is reaped");
        children.stop_all(Duration::from_secs(2));
        assert!(!children.is_running("sleeper"));
        assert!(
            children
                .launch("missing", Path::new("/nonexistent/game"), &[])
                .is_err()
        );
        assert_eq!(
            program_label(Path::new("/usr/bin/demo-snake")),
            "demo-snake"
        );
    }
}
