//! A player's desktop for the window probes: a private Xvfb with openbox
//! managing its windows, so a new window goes on top and takes the focus
//! and minimising iconifies a window, as on a desktop. Windows open
//! undecorated at (0, 0), so a game window the size of the screen fills it;
//! OBS Studio opens iconified, as a streamer keeps it out of the picture.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use livestream_e2e::log;
use livestream_testkit::{Reaped, Xvfb, wait_for};

/// openbox's settings: every window undecorated at (0, 0), OBS iconified.
const OPENBOX_RC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<openbox_config xmlns="http://openbox.org/3.4/rc">
  <theme><keepBorder>no</keepBorder></theme>
  <applications>
    <application class="*">
      <decor>no</decor>
      <position force="yes"><x>0</x><y>0</y></position>
    </application>
    <application class="obs">
      <iconic>yes</iconic>
    </application>
  </applications>
</openbox_config>
"#;

/// Xvfb and its window manager; both stopped by pid when dropped.
pub struct Desktop {
    _window_manager: Reaped,
    xvfb: Xvfb,
}

impl Desktop {
    /// A `width`×`height` screen with openbox (its files in `dir`), once
    /// the window manager has taken the screen.
    pub fn start(dir: &Path, width: u32, height: u32) -> Self {
        let xvfb = Xvfb::start(width, height);
        let home = dir.join("desktop");
        std::fs::create_dir_all(&home).expect("desktop dir");
        let rc = home.join("openbox-rc.xml");
        std::fs::write(&rc, OPENBOX_RC).expect("openbox settings");
        let window_manager = Reaped::spawn(
            Command::new("openbox")
                .arg("--config-file")
                .arg(&rc)
                .env("DISPLAY", xvfb.display())
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join("config"))
                .env("XDG_CACHE_HOME", home.join("cache"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log(dir, "openbox")),
        );
        let desktop = Self {
            _window_manager: window_manager,
            xvfb,
        };
        // openbox announces itself (EWMH) once it manages the screen.
        wait_for("openbox", Duration::from_secs(20), || {
            desktop.xdotool(&["get_num_desktops"]).is_some()
        });
        desktop
    }

    /// The value for `DISPLAY`.
    pub fn display(&self) -> String {
        self.xvfb.display()
    }

    /// Waits until a window titled `title` is on screen.
    pub fn wait_window(&self, title: &str) {
        wait_for(
            &format!("the window {title:?}"),
            Duration::from_secs(60),
            || {
                self.xdotool(&["search", "--onlyvisible", "--name", title])
                    .is_some_and(|ids| !ids.trim().is_empty())
            },
        );
    }

    /// Minimises the window titled `title` as a player does: the window
    /// manager iconifies (unmaps) it.
    pub fn minimise(&self, title: &str) {
        let ids = self
            .xdotool(&["search", "--name", title])
            .unwrap_or_default();
        assert!(!ids.trim().is_empty(), "no window titled {title:?}");
        for id in ids.split_whitespace() {
            assert!(
                self.xdotool(&["windowminimize", id]).is_some(),
                "xdotool windowminimize {id} failed"
            );
        }
        wait_for(
            &format!("the window {title:?} minimised"),
            Duration::from_secs(10),
            || {
                self.xdotool(&["search", "--onlyvisible", "--name", title])
                    .is_none_or(|ids| ids.trim().is_empty())
            },
        );
    }

    /// Runs `xdotool ARGS` on this display; its output when it succeeded.
    fn xdotool(&self, args: &[&str]) -> Option<String> {
        let output = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", self.display())
            .stderr(Stdio::null())
            .output()
            .expect("xdotool (run scripts/setup.sh)");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}
