//! Child processes that are always stopped and reaped, and that quit on
//! SIGINT (Ctrl-C) however the test run itself was started.

use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// A child process that is stopped (SIGTERM, then SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct Reaped {
    child: Option<Child>,
}

impl Reaped {
    /// Spawns `command`.
    pub fn spawn(command: &mut Command) -> Self {
        children_take_sigint_by_default();
        let child = command.spawn().expect("spawn child process");
        Self { child: Some(child) }
    }

    /// Takes the child's piped stdout, if it was piped.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.as_mut()?.stdout.take()
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends a signal by name (`TERM`, `KILL`, …) without waiting.
    pub fn signal(&self, name: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status();
    }

    /// Waits up to `timeout` for the child to exit by itself; returns its exit code.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.signal("TERM");
            if self.wait_timeout(Duration::from_secs(5)).is_none()
                && let Some(mut child) = self.child.take()
            {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Makes SIGINT reach children with its default action, even when this test
/// process was started with SIGINT ignored (a background job, `nohup`,
/// some CI runners).
///
/// `exec` keeps an ignored signal ignored, and a Bevy game then declines to
/// install its Ctrl-C handler, so the tests' "press Ctrl-C" would never
/// quit it. A caught signal is reset to its default on `exec`: catching
/// SIGINT here, with a handler that does what the default does, gives every
/// child the default; Ctrl-C still ends the test process.
fn children_take_sigint_by_default() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        signal_hook::flag::register_conditional_default(
            signal_hook::consts::SIGINT,
            Arc::new(AtomicBool::new(true)),
        )
        .expect("catch SIGINT");
    });
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::process::Stdio;

    use super::*;

    /// Run it from a shell that ignores SIGINT (`nohup cargo test … &`) to
    /// see the point: the child still does not ignore it.
    #[test]
    fn a_child_does_not_ignore_sigint() {
        let mut child = Reaped::spawn(
            Command::new("cat")
                .arg("/proc/self/status")
                .stdout(Stdio::piped()),
        );
        let mut status = String::new();
        child
            .take_stdout()
            .unwrap()
            .read_to_string(&mut status)
            .unwrap();
        let ignored = status
            .lines()
            .find_map(|line| line.strip_prefix("SigIgn:"))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
            .expect("a SigIgn line");
        let sigint_bit = 1 << (signal_hook::consts::SIGINT - 1);
        assert_eq!(ignored & sigint_bit, 0, "SigIgn {ignored:#x}");
    }
}
