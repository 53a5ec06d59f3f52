//! What the host's end-to-end tests share: the real binaries, a host and
//! `livestream-testsrc` games started with their logs in the test's
//! directory, and `ctl`.
#![allow(dead_code, reason = "each test file uses its own part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use livestream_control::{HostStatus, StreamPhase};
use livestream_testkit::{PulseMic, Reaped, private_user_dirs, sibling_binary, wait_for};

pub const HOST: &str = env!("CARGO_BIN_EXE_livestream-host");
/// Where a host reads its outputs from besides `--output` and `host.ron`.
pub const OUTPUTS_ENV: &str = "LIVESTREAM_OUTPUTS";
pub const W: u32 = 320;
pub const H: u32 = 180;
/// Frame counters of game B start here, so the recording tells A and B apart.
pub const B_FIRST: u32 = 100_000;

pub fn testsrc_bin() -> PathBuf {
    sibling_binary(Path::new(HOST), "livestream-testsrc")
}

pub fn ctl(socket: &Path, args: &[&str]) -> serde_json::Value {
    livestream_testkit::ctl(Path::new(HOST), socket, args)
}

pub fn host_status(socket: &Path) -> HostStatus {
    livestream_testkit::status(Path::new(HOST), socket)
}

/// Child output goes to a log file in the test's directory, not the test's output.
pub fn log_file(socket: &Path, name: &str) -> std::fs::File {
    let dir = socket.parent().unwrap().parent().unwrap();
    std::fs::File::create(dir.join(format!("{name}.log"))).unwrap()
}

/// Game tones and the test microphone's, told apart in the recording.
pub const A_TONE: f64 = 440.0;
pub const B_TONE: f64 = 660.0;
pub const MIC_TONE: f64 = 1000.0;

/// A `livestream-testsrc` game for `seconds`: A's tone when its frames
/// count from 0, B's otherwise.
pub fn game(socket: &Path, name: &str, first: u32, size: &str, seconds: u32) -> Reaped {
    game_with(socket, name, first, size, seconds, &[])
}

/// [`game`] with `extra` testsrc arguments (e.g. its audio format).
pub fn game_with(
    socket: &Path,
    name: &str,
    first: u32,
    size: &str,
    seconds: u32,
    extra: &[&str],
) -> Reaped {
    let tone = if first == 0 { A_TONE } else { B_TONE };
    Reaped::spawn(
        Command::new(testsrc_bin())
            .args(extra)
            .stderr(log_file(socket, name))
            .args(["--tone", &tone.to_string()])
            .args(["--name", name, "--size", size, "--fps", "15"])
            .args(["--first-frame", &first.to_string()])
            .args(["--duration", &seconds.to_string()])
            .arg("--socket")
            .arg(socket)
            .stdout(Stdio::null()),
    )
}

/// The host's microphone in a test.
pub enum Mic<'a> {
    /// No microphone.
    None,
    /// A real PulseAudio virtual microphone.
    Pulse(&'a PulseMic),
}

/// Starts the host with a microphone.
pub fn host(socket: &Path, outputs: &[String], mic: Mic<'_>) -> Reaped {
    let mut command = Command::new(HOST);
    private_user_dirs(&mut command, socket.parent().unwrap().parent().unwrap())
        .stderr(log_file(socket, "host"))
        .arg("--headless")
        .arg("--socket")
        .arg(socket)
        .args(["--size", &format!("{W}x{H}"), "--fps", "15"])
        .args(["--bitrate", "600", "--preset", "ultrafast"]);
    match mic {
        Mic::Pulse(mic) => command
            .env("PULSE_SERVER", &mic.server)
            .args(["--mic", &mic.mic_spec()]),
        Mic::None => command.args(["--mic", "none"]),
    };
    // As a streamer should: stream keys in the environment, not in argv.
    if !outputs.is_empty() {
        command.env(OUTPUTS_ENV, outputs.join("\n"));
    }
    Reaped::spawn(&mut command)
}

/// Starts game "alpha" for `seconds`, waits for it, goes live and shows it.
pub fn live_with_alpha(socket: &Path, seconds: u32) -> Reaped {
    let alpha = game(socket, "alpha", 0, "320x180", seconds);
    wait_for("the game", Duration::from_secs(10), || {
        games_connected(socket) == 1
    });
    ctl(socket, &["go-live"]);
    ctl(socket, &["show", "alpha"]);
    alpha
}

pub fn games_connected(socket: &Path) -> usize {
    host_status(socket).games.len()
}

/// Runs one session: `alpha` shown, live until 30 frames went out, then
/// stopped; returns the outputs it had.
pub fn one_session(socket: &Path) -> Vec<String> {
    ctl(socket, &["show", "alpha"]);
    ctl(socket, &["go-live"]);
    wait_for("30 frames out", Duration::from_secs(30), || {
        host_status(socket).frames_pushed >= 30
    });
    let outputs = host_status(socket)
        .outputs
        .into_iter()
        .map(|output| output.url)
        .collect();
    ctl(socket, &["stop"]);
    wait_for("the stream stopped", Duration::from_secs(30), || {
        host_status(socket).phase == StreamPhase::Idle
    });
    outputs
}
