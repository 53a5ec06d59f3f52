//! Shared by the end-to-end tests: the workspace's built binaries, the host
//! and the demo games started as children (logs in the test's temp dir,
//! stopped by pid), and what the recordings look like.

pub mod player;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use livestream_control::HostStatus;
use livestream_testkit::{Reaped, private_user_dirs, wait_for};

/// Output size and rate of every test stream (small: software rendering).
pub const SIZE: &str = "320x180";
/// Output frames per second.
pub const FPS: u32 = 15;

/// A binary of the workspace, built next to the running test or benchmark
/// (`cargo test --workspace`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own executable");
    // target/<profile>/deps/<test> or target/<profile>/<bench> → target/<profile>/<name>
    let mut dir = exe.parent().expect("executable in a directory");
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir = dir.parent().expect("target/<profile>");
    }
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built; run `cargo test --workspace`",
        path.display()
    );
    path
}

/// `livestream-host --headless` on a socket in `dir`, with its log in `dir/host.log`.
pub struct Host {
    /// The host process.
    pub process: Reaped,
    /// Its game socket.
    pub socket: PathBuf,
}

impl Host {
    /// Starts the host with the tests' stream settings ([`SIZE`], [`FPS`],
    /// 600 kbit/s, `ultrafast`) and `args` (outputs, mic, …); waits for its socket.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let fps = FPS.to_string();
        let settings = ["--size", SIZE, "--fps", &fps, "--bitrate", "600"];
        let args = [&settings[..], &["--preset", "ultrafast"], args].concat();
        Self::spawn(dir, &args, env)
    }

    /// Starts `livestream-host --headless` with only `args` (benchmarks set
    /// their own stream settings); waits for its socket.
    /// Outputs (`--output URL` pairs in `args`) go in `LIVESTREAM_OUTPUTS`,
    /// as a streamer should pass stream keys: never in argv.
    pub fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let socket = dir.join("sock/host.sock");
        let mut outputs = Vec::new();
        let mut rest = Vec::new();
        let mut args = args.iter();
        while let Some(&arg) = args.next() {
            match (arg, args.clone().next()) {
                ("--output", Some(&output)) => {
                    outputs.push(output);
                    args.next();
                }
                _ => rest.push(arg),
            }
        }
        let mut command = Command::new(binary("livestream-host"));
        if !outputs.is_empty() {
            command.env("LIVESTREAM_OUTPUTS", outputs.join("\n"));
        }
        let process = Reaped::spawn(
            private_user_dirs(&mut command, dir)
                .envs(env.iter().copied())
                .stderr(log(dir, "host"))
                .arg("--headless")
                .arg("--socket")
                .arg(&socket)
                .args(rest),
        );
        wait_for("the host's socket", Duration::from_secs(20), || {
            socket.exists()
        });
        Self { process, socket }
    }

    /// Starts the host recording to `dir/out-{n}.mkv` with microphone `mic`
    /// and `extra` arguments; the host and its first session's recording.
    pub fn recording(dir: &Path, mic: &str, extra: &[&str]) -> (Self, PathBuf) {
        let output = format!("file:{}", dir.join("out-{n}.mkv").display());
        let recording = dir.join("out-1.mkv");
        let args = [&["--mic", mic, "--output", &output], extra].concat();
        (Self::start(dir, &args, &[]), recording)
    }

    /// `livestream-host ctl ARGS` against this host; its JSON answer.
    pub fn ctl(&self, args: &[&str]) -> serde_json::Value {
        livestream_testkit::ctl(&binary("livestream-host"), &self.socket, args)
    }

    /// `livestream-host ctl status` against this host.
    pub fn status(&self) -> HostStatus {
        livestream_testkit::status(&binary("livestream-host"), &self.socket)
    }

    /// Names of the connected games.
    pub fn games(&self) -> Vec<String> {
        self.status().game_names()
    }

    /// Waits until `n` games are connected.
    pub fn wait_games(&self, n: usize) {
        wait_for(&format!("{n} games"), Duration::from_secs(60), || {
            self.games().len() == n
        });
    }
}

/// A log file for a child's stderr in the test's directory.
pub fn log(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(format!("{name}.log"))).unwrap()
}

/// Starts demo game `game` (`dodge`, `snake`) connected to `host`, logging
/// to `dir/LOG.log`, with the host's private user dirs (as a player's game
/// and host share theirs).
pub fn demo_game(dir: &Path, host: &Host, game: &str, log_name: &str, args: &[&str]) -> Reaped {
    demo_game_with(dir, host, game, log_name, args, &[])
}

/// [`demo_game`] with extra environment variables (e.g. `DISPLAY`).
pub fn demo_game_with(
    dir: &Path,
    host: &Host,
    game: &str,
    log_name: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Reaped {
    let mut command = Command::new(binary(&format!("demo-{game}")));
    Reaped::spawn(
        private_user_dirs(&mut command, dir)
            .env("LIVESTREAM_SOCKET", &host.socket)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .args(args)
            .stdout(Stdio::null())
            .stderr(log(dir, log_name)),
    )
}

/// Which demo game a picture shows, told by its dominant colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// Dodge's blue.
    Blue,
    /// Snake's green.
    Green,
    /// Neither (start-up black, a mix).
    Other,
}

/// The mean red, green and blue of an RGB picture.
pub fn mean_rgb(rgb: &[u8]) -> [f64; 3] {
    let n = (rgb.len() / 3).max(1) as f64;
    [0, 1, 2].map(|c| {
        rgb.iter()
            .skip(c)
            .step_by(3)
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / n
    })
}

/// The dominant colour of an RGB picture.
pub fn colour_of(rgb: &[u8]) -> Colour {
    let [r, g, b] = mean_rgb(rgb);
    if b > r + 40.0 && b > g + 20.0 {
        Colour::Blue
    } else if g > r + 40.0 && g > b + 20.0 {
        Colour::Green
    } else {
        Colour::Other
    }
}

/// Waits until the newest frame of `recording`, a stream still being
/// recorded, shows `colour`: a shown game's picture has reached the stream
/// (on a cold machine the stream's start and the game's capture shader take
/// a while).
pub fn wait_for_picture(recording: &Path, colour: Colour) {
    wait_for(
        &format!("{colour:?} in the recording"),
        Duration::from_secs(60),
        || {
            livestream_testkit::try_rgb_frames(recording, 32, 18)
                .is_ok_and(|frames| frames.last().is_some_and(|f| colour_of(f) == colour))
        },
    );
}

/// Asserts that frame times (seconds) step at exactly the output rate.
pub fn assert_no_missing_frames(times: &[f64]) {
    let step = 1.0 / f64::from(FPS);
    for pair in times.windows(2) {
        assert!(
            (pair[1] - pair[0] - step).abs() < 0.012,
            "a gap in the output at {:.3} s: {:.3} s between frames",
            pair[0],
            pair[1] - pair[0]
        );
    }
}
