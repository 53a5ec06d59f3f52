//! The host a game starts on demand: the child process, the last lines it
//! wrote (its own words on why it stopped), and whether it answers in time,
//! so the player reads why going live failed instead of waiting forever.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Lines of the host's output kept for its exit message.
const KEPT_LINES: usize = 8;

/// A host started by this game.
pub(crate) struct StartedHost {
    child: Child,
    last_lines: Arc<Mutex<VecDeque<String>>>,
    reader: Option<JoinHandle<()>>,
    started: Instant,
    told_late: bool,
}

impl StartedHost {
    /// Starts `binary --headless --socket SOCKET`. Its output still reaches
    /// the game's stderr, line by line; the last lines are kept.
    pub fn spawn(binary: &Path, socket: &Path) -> std::io::Result<Self> {
        let mut child = Command::new(binary)
            .arg("--headless")
            .arg("--socket")
            .arg(socket)
            .stdin(Stdio::null())
            // Its words go to the player: plain text, no terminal colours.
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()?;
        let last_lines = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES)));
        let reader = child.stderr.take().map(|stderr| {
            let last_lines = last_lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("{line}");
                    let mut kept = last_lines.lock().unwrap_or_else(PoisonError::into_inner);
                    if kept.len() == KEPT_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line);
                }
            })
        });
        Ok(Self {
            child,
            last_lines,
            reader,
            started: Instant::now(),
            told_late: false,
        })
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// When it has exited: why, in words for the player (its exit status and
    /// the last thing it said).
    pub fn exited(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok().flatten()?;
        // The pipe closes with the process: the reader has the last line.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let kept = self
            .last_lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let said = kept.iter().rev().find(|line| !line.trim().is_empty());
        Some(match said {
            Some(said) => format!("the stream host stopped ({status}): {}", said.trim()),
            None => format!("the stream host stopped ({status})"),
        })
    }

    /// Whether it has run `limit` without the game connecting; true once.
    pub fn late(&mut self, limit: Duration) -> bool {
        let late = !self.told_late && self.started.elapsed() >= limit;
        self.told_late |= late;
        late
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn an_exited_host_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("host");
        std::fs::write(
            &script,
            "#!/bin/sh\necho starting >&2\necho 'livestream-host: no output given' >&2\nexit 2\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut host = StartedHost::spawn(&script, &dir.path().join("s.sock")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let reason = loop {
            if let Some(reason) = host.exited() {
                break reason;
            }
            assert!(Instant::now() < deadline, "the script never exited");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(reason.contains("exit status: 2"), "{reason}");
        assert!(
            reason.ends_with("livestream-host: no output given"),
            "{reason}"
        );
    }
}
