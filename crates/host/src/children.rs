//! Games started by the host (`--launch BIN`), stopped by pid when it exits.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use tracing::{info, warn};

/// The host's child games.
#[derive(Resource, Debug, Default)]
pub struct Children(pub Vec<Child>);

impl Children {
    /// Starts `program` with the host socket in `LIVESTREAM_SOCKET`.
    pub fn launch(&mut self, program: &Path, socket: &Path) -> std::io::Result<()> {
        let child = Command::new(program)
            .env(livestream_ipc::SOCKET_ENV, socket)
            .spawn()?;
        info!(pid = child.id(), program = %program.display(), "launched game");
        self.0.push(child);
        Ok(())
    }

    /// Stops every child still running: a polite signal, then a kill after `grace`.
    pub fn stop_all(&mut self, grace: Duration) {
        for child in &mut self.0 {
            if matches!(child.try_wait(), Ok(None)) {
                terminate(child);
            }
        }
        let deadline = Instant::now() + grace;
        for child in &mut self.0 {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                warn!(pid = child.id(), "child game did not stop; killing it");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        self.0.clear();
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.stop_all(Duration::from_secs(3));
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
