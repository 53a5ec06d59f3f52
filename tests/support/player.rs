//! A player at a real game window: demo-snake in a private X server
//! (Xvfb), driven with real clicks and typing, and where its UI draws
//! what (640×360, egui's default layout).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use livestream_testkit::{Reaped, Xvfb, private_user_dirs, processes_with_arg, wait_for};

use crate::{Colour, binary, colour_of, log};

/// The window's size.
pub const SCREEN: (u32, u32) = (640, 360);
/// The Go-live button, top right (egui's layout).
pub const GO_LIVE: (u32, u32) = (599, 26);
/// Where its red dot is drawn (the button is up once it is red).
pub const GO_LIVE_DOT: (u32, u32) = (563, 26);
/// The first-run step's "Continue" button, with "Record only" picked
/// ("Remember" is ticked already).
pub const CONTINUE: (u32, u32) = (187, 266);
/// The first-run step's "My own server" choice.
pub const OWN_SERVER: (u32, u32) = (163, 224);
/// With "My own server" picked: the server field…
pub const SERVER_FIELD: (u32, u32) = (340, 223);
/// …the stream key field…
pub const KEY_FIELD: (u32, u32) = (355, 245);
/// …and "Continue".
pub const CONTINUE_OWN_SERVER: (u32, u32) = (187, 288);
/// Inside the first-run step, below the start step's bottom edge: dark grey
/// only while the step is open.
pub const DESTINATION_STEP: (u32, u32) = (320, 255);
/// The pop-up's "Start streaming" button.
pub const START: (u32, u32) = (205, 224);
/// The pop-up's body: dark grey while it is open.
pub const POP_UP: (u32, u32) = (320, 180);
/// The live badge's Stop button.
pub const STOP: (u32, u32) = (604, 26);
/// The badge's "Change destination", under its first line while an output
/// is in trouble (the badge is then at its widest: its trouble line wraps).
pub const CHANGE_DESTINATION: (u32, u32) = (431, 47);
/// Inside the badge at its widest, left of the Go-live button: dark grey
/// only while the badge says what is wrong.
pub const BADGE_TROUBLE: (u32, u32) = (620, 95);

/// The colour at `(x, y)` of a screen grab.
pub fn pixel(rgb: &[u8], (x, y): (u32, u32)) -> [u8; 3] {
    let i = ((y * SCREEN.0 + x) * 3) as usize;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Whether the screen is dark grey (an egui window) at `at`.
pub fn dark(screen: &Xvfb, at: (u32, u32)) -> bool {
    pixel(&screen.grab_rgb(), at).iter().all(|&c| c < 50)
}

/// Stops whatever still runs with the test's socket (the host the game
/// started), by pid, however the test ends.
pub struct StopBySocket<'a>(pub &'a Path);

impl Drop for StopBySocket<'_> {
    fn drop(&mut self) {
        for (pid, _) in processes_with_arg(self.0.as_os_str()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// Starts demo-snake in the window with the test's own user dirs, socket
/// and `env`, and waits until its Go-live button is drawn.
pub fn start_game(
    dir: &Path,
    screen: &Xvfb,
    socket: &Path,
    log_name: &str,
    env: &[(&str, &str)],
) -> Reaped {
    let game = Reaped::spawn(
        private_user_dirs(&mut Command::new(binary("demo-snake")), dir)
            .env("LIVESTREAM_SOCKET", socket)
            .env("DISPLAY", screen.display())
            .env("LP_NUM_THREADS", "1")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .args(["--size", &format!("{}x{}", SCREEN.0, SCREEN.1)])
            .stdout(Stdio::null())
            .stderr(log(dir, log_name)),
    );
    wait_for(
        "the game and its Go-live button",
        Duration::from_secs(90),
        || {
            let rgb = screen.grab_rgb();
            let [r, g, b] = pixel(&rgb, GO_LIVE_DOT);
            colour_of(&rgb) == Colour::Green && r > 180 && g < 90 && b < 90
        },
    );
    game
}

/// Quits the game and waits for the host it started to end with it.
pub fn quit(mut game: Reaped, socket: &Path) {
    game.signal("INT");
    game.wait_timeout(Duration::from_secs(30));
    wait_for(
        "the host to end with its last game",
        Duration::from_secs(30),
        || processes_with_arg(socket.as_os_str()).is_empty(),
    );
}

/// Go live → Start, the way a player does once a destination is saved:
/// the pop-up goes straight to the start step.
pub fn go_live_again(screen: &Xvfb) {
    screen.click(GO_LIVE.0, GO_LIVE.1);
    wait_for("the start step", Duration::from_secs(30), || {
        dark(screen, POP_UP)
    });
    assert!(!dark(screen, DESTINATION_STEP), "no first-run step again");
    screen.click(START.0, START.1);
}

/// Asserts that only its owner may read or write `path` (mode 0600).
pub fn assert_owner_only(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}
