//! Real servers and checkers for end-to-end tests: a private nginx-rtmp
//! started from the project's script, child processes that are always
//! reaped, and ffprobe/ffmpeg to decode what was written.
//!
//! Everything started here is stopped by pid when its guard drops, so a
//! failing test leaves no process behind.

mod disk;
pub mod mp4;
mod nats;
mod nginx;
mod reaped;
mod tls_proxy;

pub use disk::SmallDisk;
pub use nats::{NatsCluster, NatsServer};
pub use nginx::{IngestOptions, NginxRtmp};
pub use reaped::Reaped;
pub use tls_proxy::TlsProxy;

use std::ffi::OsStr;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use livestream_control::HostStatus;
use livestream_protocol::{AudienceEvent, AudienceEventKind};
use livestream_testsrc::pattern;

/// A free loopback TCP port (the listener is dropped before use).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A script of the project's `scripts/` directory, found from the working
/// directory (cargo runs tests in their package's directory) rather than a
/// compile-time path, so a target dir shared between clones stays usable.
pub fn script(name: &str) -> PathBuf {
    let start = std::env::current_dir().expect("working directory");
    start
        .ancestors()
        .map(|dir| dir.join("scripts").join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("scripts/{name} not found above {}", start.display()))
}

/// A binary built next to `binary` (e.g. `livestream-testsrc` beside the host:
/// `cargo test --workspace` builds them all into one directory).
pub fn sibling_binary(binary: &Path, name: &str) -> PathBuf {
    let path = binary.with_file_name(name);
    assert!(
        path.exists(),
        "{} missing: run the suite with `cargo test --workspace`",
        path.display()
    );
    path
}

/// The processes whose command line has an argument equal to `arg` (read
/// from `/proc`): how a test finds, and checks the arguments of, processes
/// it did not start itself (a host a game started on demand).
pub fn processes_with_arg(arg: &OsStr) -> Vec<(u32, Vec<String>)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            args.contains(&arg.as_encoded_bytes()).then(|| {
                let args = args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                (pid, args)
            })
        })
        .collect()
}

/// Whether any running process has `text` anywhere in its command line,
/// which every user of the machine can read (`/proc/PID/cmdline`): how a
/// test checks that a stream key never went into one.
pub fn in_any_argv(text: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(text))
    })
}

/// Points a child's per-user directories into `dir` (`dir/config` for
/// `host.ron`, `dir/videos` for "Record only") and its temp files into
/// `dir/tmp` (libpulse's runtime dir, Chromium's singleton socket), so a
/// test never reads or writes the real user's and leaves nothing in `/tmp`.
pub fn private_user_dirs<'a>(command: &'a mut Command, dir: &Path) -> &'a mut Command {
    let tmp = dir.join("tmp");
    if let Err(err) = std::fs::create_dir_all(&tmp) {
        panic!("{}: {err}", tmp.display());
    }
    command
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_VIDEOS_DIR", dir.join("videos"))
        .env("TMPDIR", tmp)
}

/// Runs `HOST ctl --socket SOCKET ARGS…`; its JSON answer, or its error text.
pub fn try_ctl(host: &Path, socket: &Path, args: &[&str]) -> Result<serde_json::Value, String> {
    let output = Command::new(host)
        .args(["ctl", "--socket"])
        .arg(socket)
        .args(args)
        .output()
        .map_err(|err| format!("cannot run {}: {err}", host.display()))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null))
}

/// Like [`try_ctl`], failing the test on an error.
pub fn ctl(host: &Path, socket: &Path, args: &[&str]) -> serde_json::Value {
    try_ctl(host, socket, args).unwrap_or_else(|err| panic!("ctl {args:?}: {err}"))
}

/// Runs `HOST ctl --socket SOCKET status`: the host's status, read through
/// the type the host serializes, or the error text.
pub fn try_status(host: &Path, socket: &Path) -> Result<HostStatus, String> {
    let value = try_ctl(host, socket, &["status"])?;
    serde_json::from_value(value).map_err(|err| format!("unreadable status: {err}"))
}

/// Like [`try_status`], failing the test on an error.
pub fn status(host: &Path, socket: &Path) -> HostStatus {
    try_status(host, socket).unwrap_or_else(|err| panic!("ctl status: {err}"))
}

/// Polls `check` every 100 ms until it holds; fails the test after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The audience events a `livestream-testsrc --audience-log FILE` game received.
#[derive(Debug, Clone)]
pub struct AudienceLog(pub PathBuf);

impl AudienceLog {
    /// Everything received so far, in order: (came in the backlog, event).
    pub fn received(&self) -> Vec<(bool, AudienceEvent)> {
        let Ok(text) = std::fs::read_to_string(&self.0) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|entry| {
                let event = serde_json::from_value(entry["event"].clone()).ok()?;
                Some((entry["backlog"].as_bool()?, event))
            })
            .collect()
    }

    /// Ids of everything received, in order.
    pub fn ids(&self) -> Vec<String> {
        self.received().into_iter().map(|(_, e)| e.id).collect()
    }

    /// The game's view: ids of what it received with deletions applied.
    pub fn history(&self) -> Vec<String> {
        let mut kept: Vec<AudienceEvent> = Vec::new();
        for (_, event) in self.received() {
            match &event.kind {
                AudienceEventKind::DeleteMessage { target_id } => {
                    kept.retain(|e| &e.id != target_id);
                }
                AudienceEventKind::ClearUser { user_id } => kept.retain(|e| &e.user.id != user_id),
                _ => kept.push(event),
            }
        }
        kept.into_iter().map(|e| e.id).collect()
    }
}

/// A private PulseAudio whose virtual microphone plays a tone
/// (`scripts/pulse-mic.sh`); stopped by pid on drop.
pub struct PulseMic {
    _process: Reaped,
    /// Its files (the socket, the cookie).
    runtime: PathBuf,
    /// The value for `PULSE_SERVER` of processes that should use it.
    pub server: String,
    /// The microphone's source name.
    pub source: &'static str,
}

impl PulseMic {
    /// Starts it with its files in `dir`, the microphone playing `frequency` Hz,
    /// and waits until the tone is flowing.
    pub fn start(dir: &Path, frequency: f64) -> Self {
        Self::launch(dir, frequency, None)
    }

    /// [`PulseMic::start`], with a speaker too: a sound card at `rate` Hz
    /// that is the default output, so games play into it ([`PulseMic::record_speaker`]).
    pub fn with_speaker(dir: &Path, frequency: f64, rate: u32) -> Self {
        Self::launch(dir, frequency, Some(rate))
    }

    fn launch(dir: &Path, frequency: f64, speaker_rate: Option<u32>) -> Self {
        let log = std::fs::File::create(dir.join("pulse-mic.log")).expect("pulse log");
        let runtime = dir.join("pulse");
        let mut command = Command::new(script("pulse-mic.sh"));
        command.arg(&runtime).arg(frequency.to_string());
        if let Some(rate) = speaker_rate {
            command.arg(rate.to_string());
        }
        let process = Reaped::spawn(command.stdout(Stdio::null()).stderr(log));
        let mic = Self {
            _process: process,
            server: format!("unix:{}", runtime.join("native").display()),
            runtime,
            source: "virtual_mic.monitor",
        };
        wait_for(
            "the virtual microphone's tone",
            Duration::from_secs(15),
            || {
                mic.client("pactl")
                    .args(["list", "short", "sink-inputs"])
                    .output()
                    .is_ok_and(|out| !out.stdout.is_empty())
            },
        );
        mic
    }

    /// A sound client (`pactl`, `parec`, `ffmpeg -f pulse`, …) of this
    /// server: `PULSE_SERVER` set, and the cookie and runtime dir libpulse
    /// makes kept in the server's dir, not in the user's config or `/tmp`.
    pub fn client(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("PULSE_SERVER", &self.server)
            .env("XDG_CONFIG_HOME", self.runtime.join(".config"))
            .env("TMPDIR", &self.runtime);
        command
    }

    /// The host's `--mic` value for it.
    pub fn mic_spec(&self) -> String {
        format!("pulse:{}", self.source)
    }

    /// `seconds` of what the speaker ([`PulseMic::with_speaker`]) plays from
    /// now on, as a player would hear it: mono at `rate`.
    pub fn record_speaker(&self, rate: u32, seconds: f64) -> Vec<f64> {
        let mut recorder = self
            .client("parec")
            .args(["--device", "speaker.monitor"])
            .args(["--raw", "--format=float32le", "--channels=1"])
            .arg(format!("--rate={rate}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("parec");
        let mut pcm = vec![0u8; (f64::from(rate) * seconds) as usize * 4];
        let read = recorder
            .stdout
            .take()
            .expect("parec's output")
            .read_exact(&mut pcm);
        let _ = recorder.kill();
        let _ = recorder.wait();
        read.expect("parec records the speaker");
        f32_samples(&pcm)
    }
}

/// A private ngircd on a loopback port (channel `#test`), stopped by pid on drop.
pub struct Ngircd {
    _process: Reaped,
    /// Its port.
    pub port: u16,
    /// Its TLS port and the authority its certificate is from, when started
    /// with [`Ngircd::start_with_tls`].
    pub tls: Option<(u16, PathBuf)>,
}

impl Ngircd {
    /// Starts it on a free port, logging to `dir`, and waits until it accepts connections.
    pub fn start(dir: &Path) -> Self {
        Self::launch(dir, false)
    }

    /// [`Ngircd::start`], also serving `ircs://` on another free port with a
    /// certificate from a private authority.
    pub fn start_with_tls(dir: &Path) -> Self {
        Self::launch(dir, true)
    }

    fn launch(dir: &Path, tls: bool) -> Self {
        let port = free_port();
        let log = std::fs::File::create(dir.join("ngircd.log")).expect("ngircd log");
        let tls_port = tls.then(free_port);
        let mut command = Command::new(script("ngircd.sh"));
        command
            .arg(dir.join("ngircd"))
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(tls_port) = tls_port {
            command.args(["--tls", &tls_port.to_string()]);
        }
        let process = Reaped::spawn(&mut command);
        wait_for_port(port, "ngircd");
        let tls = tls_port.map(|tls_port| {
            wait_for_port(tls_port, "ngircd's TLS port");
            (tls_port, dir.join("ngircd/tls/ca.pem"))
        });
        Self {
            _process: process,
            port,
            tls,
        }
    }

    /// The `--interaction` spec of one of its channels.
    pub fn source(&self, channel: &str) -> String {
        format!("irc://127.0.0.1:{}/{channel}", self.port)
    }

    /// The `ircs://` spec of one of its channels (started with TLS).
    pub fn tls_source(&self, channel: &str) -> String {
        let (port, _) = self.tls.as_ref().expect("ngircd started with TLS");
        format!("ircs://127.0.0.1:{port}/{channel}")
    }
}

/// A running `livestream-room` server, stopped by pid on drop.
///
/// It runs with `RUST_LOG=debug` and without `LIVESTREAM_ROOM_MOD_TOKEN` from
/// the test's environment; its stdout and stderr go to files in its own temp
/// dir, and its log is printed if the test panics.
pub struct RoomServer {
    process: Reaped,
    /// `host:port` it listens on.
    pub address: String,
    dir: tempfile::TempDir,
}

impl RoomServer {
    /// Starts `binary` on a free loopback port (`--listen 127.0.0.1:0`) with
    /// extra `args`, and waits for the address it announces.
    pub fn start(binary: &Path, args: &[&str]) -> Self {
        Self::start_on(binary, "127.0.0.1:0", args)
    }

    /// [`RoomServer::start`] with moderation allowed to bearers of `token`,
    /// given as a moderator would: in the environment, never in argv.
    pub fn start_moderated(binary: &Path, token: &str, args: &[&str]) -> Self {
        Self::launch(binary, "127.0.0.1:0", Some(token), args)
    }

    /// Starts `binary` with `--listen LISTEN` and extra `args`, and waits for
    /// the address it announces on its first stdout line.
    pub fn start_on(binary: &Path, listen: &str, args: &[&str]) -> Self {
        Self::launch(binary, listen, None, args)
    }

    fn launch(binary: &Path, listen: &str, token: Option<&str>, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("room temp dir");
        let stdout = dir.path().join("stdout");
        let create = |path: &Path| std::fs::File::create(path).expect("room output file");
        let mut process = Reaped::spawn(
            Command::new(binary)
                .args(["--listen", listen])
                .args(args)
                .env("LIVESTREAM_ROOM_MOD_TOKEN", token.unwrap_or_default())
                .env("RUST_LOG", "debug")
                .stdin(Stdio::null())
                .stdout(create(&stdout))
                .stderr(create(&dir.path().join("log"))),
        );
        let log = || std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        // A clustered server announces itself once it has joined the cluster
        // (a NATS cluster that has just started is still electing leaders)
        // and read the rooms' history.
        let deadline = Instant::now() + Duration::from_secs(45);
        let line = loop {
            let text = std::fs::read_to_string(&stdout).unwrap_or_default();
            if let Some((line, _)) = text.split_once('\n') {
                break line.to_owned();
            }
            if let Some(code) = process.wait_timeout(Duration::ZERO) {
                panic!(
                    "the room server exited ({code}) before listening:\n{}",
                    log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the room server did not announce its address:\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let address = line
            .strip_prefix("livestream-room listening on http://")
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| panic!("unexpected first line from the room server: {line:?}"))
            .to_owned();
        Self {
            process,
            address,
            dir,
        }
    }

    /// What the server has logged (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The process, to signal it or wait for it.
    pub fn process(&mut self) -> &mut Reaped {
        &mut self.process
    }

    /// An HTTP URL on the server: `http://ADDRESS` + `path`.
    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// A WebSocket URL on the server: `ws://ADDRESS` + `path`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.address)
    }

    /// The `--interaction` spec of a room's feed.
    pub fn source(&self, room: &str) -> String {
        self.ws_url(&format!("/rooms/{room}/ws"))
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

impl Drop for RoomServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- livestream-room log ---\n{}", self.log());
        }
    }
}

/// POSTs a JSON `body` (with a bearer `token`); the status (0 when the
/// request failed outright) and the JSON answer (`Null` if none).
pub fn post_json(url: &str, body: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut request = agent.post(url).content_type("application/json");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    match request.send(body) {
        Ok(mut response) => (
            response.status().as_u16(),
            response
                .body_mut()
                .read_json()
                .unwrap_or(serde_json::Value::Null),
        ),
        Err(_) => (0, serde_json::Value::Null),
    }
}

/// Waits up to 10 s until something accepts connections on loopback `port`.
pub(crate) fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Decodes `path` with ffmpeg to raw bytes on stdout (`args` select and format the stream).
fn ffmpeg_decode(path: &Path, args: &[&str]) -> Vec<u8> {
    try_ffmpeg_decode(path, args).unwrap_or_else(|err| panic!("{err}"))
}

/// [`ffmpeg_decode`], or ffmpeg's errors when it fails (e.g. a recording
/// that has no frame yet).
fn try_ffmpeg_decode(path: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let input = [OsStr::new("-i"), path.as_os_str()];
    try_ffmpeg_stdout(input.into_iter().chain(args.iter().map(OsStr::new)))
}

/// Runs ffmpeg with `args` (then `-`: output to stdout); what it wrote.
fn ffmpeg_stdout<'a>(args: impl IntoIterator<Item = &'a OsStr>) -> Vec<u8> {
    try_ffmpeg_stdout(args).unwrap_or_else(|err| panic!("{err}"))
}

/// [`ffmpeg_stdout`], or ffmpeg's errors when it fails.
fn try_ffmpeg_stdout<'a>(args: impl IntoIterator<Item = &'a OsStr>) -> Result<Vec<u8>, String> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error"])
        .args(args)
        .arg("-")
        .output()
        .expect("ffmpeg");
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// One ffprobe query of a stream's entries, as CSV lines without keys.
fn ffprobe_csv(path: &Path, stream: &str, entries: &str) -> String {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            stream,
            "-show_entries",
            entries,
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Presentation time (seconds) of every video frame of `path`, in order.
pub fn video_frame_times(path: &Path) -> Vec<f64> {
    ffprobe_csv(path, "v:0", "frame=pts_time")
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect()
}

/// Start time (seconds) of the first audio stream of `path`.
pub fn audio_start(path: &Path) -> f64 {
    ffprobe_csv(path, "a:0", "stream=start_time")
        .trim()
        .parse()
        .unwrap_or(0.0)
}

/// Amplitude of each frequency in consecutive windows of the first audio
/// stream of `path` (mono mix, Goertzel): `levels[window][frequency]`.
pub fn tone_levels(path: &Path, frequencies: &[f64], window_seconds: f64) -> Vec<Vec<f64>> {
    let window = (AUDIO_RATE * window_seconds) as usize;
    audio_samples(path)
        .chunks_exact(window)
        .map(|chunk| {
            frequencies
                .iter()
                .map(|&f| goertzel_amplitude(chunk, f, AUDIO_RATE))
                .collect()
        })
        .collect()
}

/// Sample rate of [`audio_samples`].
pub const AUDIO_RATE: f64 = 48_000.0;

/// The first audio stream of `path` decoded to mono at [`AUDIO_RATE`].
pub fn audio_samples(path: &Path) -> Vec<f64> {
    try_audio_samples(path).unwrap_or_else(|err| panic!("{err}"))
}

/// [`audio_samples`], or ffmpeg's errors (a recording with no audio yet).
pub fn try_audio_samples(path: &Path) -> Result<Vec<f64>, String> {
    let pcm = try_ffmpeg_decode(
        path,
        &["-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "f32le"],
    )?;
    Ok(f32_samples(&pcm))
}

/// Little-endian 32-bit float samples as `f64`.
fn f32_samples(pcm: &[u8]) -> Vec<f64> {
    pcm.chunks_exact(4)
        .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .collect()
}

/// Amplitude of a sine at `frequency` in `samples` (Goertzel algorithm).
pub fn goertzel_amplitude(samples: &[f64], frequency: f64, rate: f64) -> f64 {
    let coefficient = 2.0 * (core::f64::consts::TAU * frequency / rate).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s0 = x + coefficient * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    2.0 * power.max(0.0).sqrt() / samples.len() as f64
}

/// One stream as ffprobe sees it.
#[derive(Debug)]
pub struct ProbedStream {
    /// Codec name (`h264`, `aac`).
    pub codec: String,
    /// Width (video).
    pub width: u64,
    /// Height (video).
    pub height: u64,
    /// Frames counted by decoding.
    pub frames: u64,
    /// Average frame rate as ffprobe reports it (`15/1`).
    pub rate: String,
    /// Codec profile (`High`, `LC`).
    pub profile: String,
    /// Pixel format (video: `yuv420p`).
    pub pix_fmt: String,
    /// Samples per second (audio).
    pub sample_rate: u64,
    /// Channels (audio).
    pub channels: u64,
}

/// The files a host recorded for the `file:` output `template` (a plain
/// path: each session's file gets its date and time added), oldest name first.
pub fn session_files(template: &Path) -> Vec<PathBuf> {
    let stem = template
        .file_stem()
        .and_then(OsStr::to_str)
        .expect("a UTF-8 file name");
    let dir = template.parent().expect("a file in a directory");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension() == template.extension()
                && path
                    .file_stem()
                    .and_then(OsStr::to_str)
                    .is_some_and(|name| name.starts_with(&format!("{stem} ")))
        })
        .collect();
    files.sort();
    files
}

/// The one file a host recorded for the `file:` output `template` (see [`session_files`]).
pub fn session_file(template: &Path) -> PathBuf {
    let files = session_files(template);
    assert_eq!(
        files.len(),
        1,
        "one session's file for {}: {files:?}",
        template.display()
    );
    files.into_iter().next().expect("one file")
}

/// Probes every stream of a file, counting frames by decoding.
pub fn probe(path: &Path) -> Vec<ProbedStream> {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .arg("stream=codec_name,width,height,nb_read_frames,avg_frame_rate,profile,pix_fmt,sample_rate,channels")
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(
        output.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| ProbedStream {
            codec: s["codec_name"].as_str().unwrap_or_default().to_owned(),
            width: s["width"].as_u64().unwrap_or(0),
            height: s["height"].as_u64().unwrap_or(0),
            frames: s["nb_read_frames"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            rate: s["avg_frame_rate"].as_str().unwrap_or_default().to_owned(),
            profile: s["profile"].as_str().unwrap_or_default().to_owned(),
            pix_fmt: s["pix_fmt"].as_str().unwrap_or_default().to_owned(),
            sample_rate: s["sample_rate"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            channels: s["channels"].as_u64().unwrap_or(0),
        })
        .collect()
}

/// Times (s) of the first video stream's keyframes.
pub fn keyframe_times(path: &Path) -> Vec<f64> {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-skip_frame",
            "nokey",
            "-select_streams",
            "v:0",
        ])
        .args(["-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect()
}

/// ffmpeg output options for the first video stream as raw gray frames, every
/// decoded frame exactly once (no duplicates or drops to fit a rate).
pub const GRAY_FRAMES: [&str; 8] = [
    "-map",
    "0:v:0",
    "-fps_mode",
    "passthrough",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "gray",
];

/// Decodes every video frame of `path`, scaled to `width`×`height`, as RGB
/// (3 bytes a pixel, rows top to bottom).
pub fn rgb_frames(path: &Path, width: u32, height: u32) -> Vec<Vec<u8>> {
    try_rgb_frames(path, width, height).unwrap_or_else(|err| panic!("{err}"))
}

/// [`rgb_frames`] of a recording that may not be decodable yet (one still
/// being written): ffmpeg's errors instead of a panic.
pub fn try_rgb_frames(path: &Path, width: u32, height: u32) -> Result<Vec<Vec<u8>>, String> {
    let scale = format!("scale={width}:{height}:flags=area");
    let rgb = try_ffmpeg_decode(
        path,
        &[
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-vf",
            &scale,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
        ],
    )?;
    Ok(rgb
        .chunks_exact((width * height * 3) as usize)
        .map(<[u8]>::to_vec)
        .collect())
}

/// A private X server (Xvfb) on a display number nobody uses, for tests with
/// real windows and for screenshots; stopped by pid when dropped.
pub struct Xvfb {
    display: u32,
    size: (u32, u32),
    _process: Reaped,
}

impl Xvfb {
    /// Starts a `width`×`height` 24-bit screen and waits until it accepts clients.
    pub fn start(width: u32, height: u32) -> Self {
        let first = 100 + std::process::id() % 400;
        for display in (first..first + 100).map(|n| n % 500 + 100) {
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{display}"));
            if socket.exists() || Path::new(&format!("/tmp/.X{display}-lock")).exists() {
                continue;
            }
            let mut process = Reaped::spawn(
                Command::new("Xvfb")
                    .arg(format!(":{display}"))
                    .args(["-screen", "0", &format!("{width}x{height}x24")])
                    .args(["-nolisten", "tcp", "-noreset"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while !socket.exists() && Instant::now() < deadline {
                if process.wait_timeout(Duration::from_millis(50)).is_some() {
                    break; // lost a race for this display: try the next
                }
            }
            if socket.exists() {
                return Self {
                    display,
                    size: (width, height),
                    _process: process,
                };
            }
        }
        panic!("no free X display for Xvfb");
    }

    /// The value for `DISPLAY`.
    pub fn display(&self) -> String {
        format!(":{}", self.display)
    }

    /// Clicks the primary button at (`x`, `y`) the way a player does: the
    /// pointer moves there, then presses and releases (`xdotool`, through `XTest`).
    pub fn click(&self, x: u32, y: u32) {
        let status = Command::new("xdotool")
            .env("DISPLAY", self.display())
            .args(["mousemove", "--sync", &x.to_string(), &y.to_string()])
            .args(["click", "1"])
            .status()
            .expect("xdotool");
        assert!(status.success(), "xdotool could not click at {x},{y}");
    }

    /// Types `text` into the field last clicked the way a player does
    /// (`xdotool`, through `XTest`); the text goes through a pipe, never in
    /// an argument another process could read (it may be a stream key).
    pub fn type_text(&self, text: &str) {
        use std::io::Write as _;
        // The window under the pointer gets the keyboard, as a window
        // manager gives it on a click (this X server runs none).
        let location = Command::new("xdotool")
            .env("DISPLAY", self.display())
            .args(["getmouselocation", "--shell"])
            .output()
            .expect("xdotool");
        let location = String::from_utf8_lossy(&location.stdout);
        let window = location
            .lines()
            .find_map(|line| line.strip_prefix("WINDOW="))
            .expect("a window under the pointer");
        let status = Command::new("xdotool")
            .env("DISPLAY", self.display())
            .args(["windowfocus", "--sync", window])
            .status()
            .expect("xdotool");
        assert!(status.success(), "xdotool could not focus window {window}");
        let mut xdotool = Command::new("xdotool")
            .env("DISPLAY", self.display())
            .args(["type", "--delay", "40", "--file", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("xdotool");
        let mut stdin = xdotool.stdin.take().expect("a pipe");
        stdin.write_all(text.as_bytes()).expect("xdotool reads");
        drop(stdin);
        let status = xdotool.wait().expect("xdotool");
        assert!(status.success(), "xdotool could not type");
    }

    /// Saves the whole screen now as a PNG at `path` (for documentation).
    pub fn save_png(&self, path: &Path) {
        let (width, height) = self.size;
        let status = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-f", "x11grab"])
            .args(["-video_size", &format!("{width}x{height}")])
            .args(["-i", &self.display(), "-frames:v", "1"])
            .arg(path)
            .status()
            .expect("ffmpeg");
        assert!(status.success(), "ffmpeg could not save {}", path.display());
    }

    /// The whole screen now, as RGB (3 bytes a pixel) at the screen's size.
    pub fn grab_rgb(&self) -> Vec<u8> {
        let (width, height) = self.size;
        let size = format!("{width}x{height}");
        let display = self.display();
        let args = ["-f", "x11grab", "-video_size", &size, "-i", &display];
        let output = ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24"];
        ffmpeg_stdout(args.into_iter().chain(output).map(OsStr::new))
    }
}

/// Decodes every video frame to gray and reads its burned-in counter
/// (`None` for frames without a legible counter).
pub fn frame_counters(path: &Path, width: u32, height: u32) -> Vec<Option<u32>> {
    let luma = ffmpeg_decode(path, &GRAY_FRAMES);
    let frame_len = (width * height) as usize;
    luma.chunks_exact(frame_len)
        .map(|luma| pattern::read_counter(luma, width, height, width as usize))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goertzel_finds_a_tone_and_not_its_neighbours() {
        let rate = 48_000.0;
        let samples: Vec<f64> = (0..24_000)
            .map(|i| 0.3 * (core::f64::consts::TAU * 1000.0 * f64::from(i) / rate).sin())
            .collect();
        assert!((goertzel_amplitude(&samples, 1000.0, rate) - 0.3).abs() < 0.01);
        assert!(goertzel_amplitude(&samples, 440.0, rate) < 0.005);
    }
}
