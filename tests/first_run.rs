//! A player's first Go live on a fresh machine, as they would do it: no host
//! running, an empty config directory, a real game window (Xvfb) and real
//! clicks. The pop-up asks where to stream first; "Record only" (no account)
//! and "Remember"; the game starts a host, which records the game to the
//! videos directory. The game quits and starts again: Go live goes straight
//! to the start step, with the remembered destination.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use livestream_control::StreamPhase;
use livestream_e2e::{Colour, binary, colour_of, log};
use livestream_testkit::{
    Reaped, Xvfb, private_user_dirs, probe, processes_with_arg, rgb_frames, try_status, wait_for,
};

const SCREEN: (u32, u32) = (640, 360);
/// The Go-live button, top right of a 640×360 window (egui's layout).
const GO_LIVE: (u32, u32) = (599, 26);
/// Where its red dot is drawn (the button is up once it is red).
const GO_LIVE_DOT: (u32, u32) = (563, 26);
/// The first-run step's "Continue" button ("Record only" and "Remember"
/// are ticked already).
const CONTINUE: (u32, u32) = (187, 266);
/// Inside the first-run step, below the start step's bottom edge: dark grey
/// only while the step is open.
const DESTINATION_STEP: (u32, u32) = (320, 255);
/// The pop-up's "Start streaming" button.
const START: (u32, u32) = (205, 224);
/// The pop-up's body: dark grey while it is open.
const POP_UP: (u32, u32) = (320, 180);
/// The live badge's Stop button.
const STOP: (u32, u32) = (604, 26);

fn pixel(rgb: &[u8], (x, y): (u32, u32)) -> [u8; 3] {
    let i = ((y * SCREEN.0 + x) * 3) as usize;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Stops whatever still runs with the test's socket (the host the game
/// started), by pid, however the test ends.
struct StopBySocket<'a>(&'a Path);

impl Drop for StopBySocket<'_> {
    fn drop(&mut self) {
        for (pid, _) in processes_with_arg(self.0.as_os_str()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// Starts demo-snake in the window with the test's own user dirs and
/// socket, and waits until its Go-live button is drawn.
fn start_game(dir: &Path, screen: &Xvfb, socket: &Path, log_name: &str) -> Reaped {
    let game = Reaped::spawn(
        private_user_dirs(&mut Command::new(binary("demo-snake")), dir)
            .env("LIVESTREAM_SOCKET", socket)
            .env("DISPLAY", screen.display())
            .env("LP_NUM_THREADS", "1")
            .env("RUST_LOG", "info")
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

/// Whether the screen is dark grey (an egui window) at `at`.
fn dark(screen: &Xvfb, at: (u32, u32)) -> bool {
    pixel(&screen.grab_rgb(), at).iter().all(|&c| c < 50)
}

/// Quits the game and waits for the host it started to end with it.
fn quit(mut game: Reaped, socket: &Path) {
    game.signal("INT");
    game.wait_timeout(Duration::from_secs(30));
    wait_for(
        "the host to end with its last game",
        Duration::from_secs(30),
        || processes_with_arg(socket.as_os_str()).is_empty(),
    );
}

#[test]
fn a_first_go_live_with_no_host_and_no_config_records_the_game() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/host.sock");
    let _stop = StopBySocket(&socket);
    let screen = Xvfb::start(SCREEN.0, SCREEN.1);
    let host = binary("livestream-host");
    let videos = dir.path().join("videos");
    let game = start_game(dir.path(), &screen, &socket, "game");
    assert!(!socket.exists(), "no host runs before the player asks");

    // First run: where to stream, then the usual pop-up.
    screen.click(GO_LIVE.0, GO_LIVE.1);
    wait_for("the first-run step", Duration::from_secs(30), || {
        dark(&screen, DESTINATION_STEP)
    });
    screen.click(CONTINUE.0, CONTINUE.1);
    wait_for("the start step", Duration::from_secs(30), || {
        dark(&screen, POP_UP) && !dark(&screen, DESTINATION_STEP)
    });
    screen.click(START.0, START.1);

    // The game started a host, which records the game.
    wait_for(
        "the game's picture on the stream",
        Duration::from_secs(60),
        || {
            try_status(&host, &socket).is_ok_and(|status| {
                status.is_live()
                    && status.shown.as_deref() == Some("snake")
                    && status
                        .game("snake")
                        .is_some_and(|g| g.frames_streamed >= 30)
            })
        },
    );
    let status = try_status(&host, &socket).unwrap();
    let url = status.outputs[0].url.clone();
    assert!(
        url.starts_with(&format!("file:{}/bevy_livestream ", videos.display())),
        "{status:?}"
    );
    let started = processes_with_arg(socket.as_os_str());
    assert_eq!(
        started.len(),
        1,
        "one host, started by the game: {started:?}"
    );
    assert!(started[0].1[0].ends_with("livestream-host"), "{started:?}");

    screen.click(STOP.0, STOP.1);
    wait_for("the stream stopped", Duration::from_secs(30), || {
        try_status(&host, &socket).is_ok_and(|status| status.phase == StreamPhase::Idle)
    });
    quit(game, &socket);

    let file = Path::new(url.strip_prefix("file:").unwrap());
    let streams = probe(file);
    assert!(
        streams.iter().any(|s| s.codec == "h264" && s.frames >= 30),
        "{streams:?}"
    );
    let frames = rgb_frames(file, 64, 36);
    assert_eq!(
        frames.last().map(|f| colour_of(f)),
        Some(Colour::Green),
        "the recording ends on the game"
    );

    // "Remember" kept the choice in the user's host.ron, theirs alone.
    let config = dir.path().join("config/bevy_livestream/host.ron");
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.contains("RecordOnly"), "{saved}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The next time: Go live → Start, no question asked.
    let game = start_game(dir.path(), &screen, &socket, "game-again");
    screen.click(GO_LIVE.0, GO_LIVE.1);
    wait_for("the start step", Duration::from_secs(30), || {
        dark(&screen, POP_UP)
    });
    assert!(!dark(&screen, DESTINATION_STEP), "no first-run step again");
    screen.click(START.0, START.1);
    wait_for("live again", Duration::from_secs(60), || {
        try_status(&host, &socket).is_ok_and(|status| {
            status.is_live()
                && status
                    .game("snake")
                    .is_some_and(|g| g.frames_streamed >= 15)
        })
    });
    quit(game, &socket);
    let recordings = std::fs::read_dir(&videos).unwrap().count();
    assert_eq!(recordings, 2, "a new file for the second session");
}
