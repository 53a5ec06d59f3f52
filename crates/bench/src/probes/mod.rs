//! The measurements. Each probe runs the real binaries (and servers) in its
//! own temp dir, stops every child it started by pid, and returns the figures
//! of one run; the runner repeats it and summarises.

mod av_offset;
mod capture;
mod desktop;
mod drops;
mod host_cpu;
mod ipc;
mod latency;
mod obs;
mod room_fanout;
mod round_trip;
mod switch;
mod three_ways;

use std::path::Path;
use std::process::{Command, Stdio};

use livestream_e2e::{Host, binary};
use livestream_testkit::Reaped;

use crate::report::{Measured, THREE_WAYS};

/// Settings shared by the probes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Length of the long stream of the `drops` probe, in seconds.
    pub long_seconds: u64,
    /// Length of each measuring window of the shorter probes, in seconds.
    pub window_seconds: u64,
    /// Chat posts per second of the `room fanout` probes.
    pub room_posts_per_second: u32,
    /// Gifts a run of the `audience round trip` probe times.
    pub round_trip_gifts: usize,
}

/// One measurement, repeatable.
pub struct Probe {
    /// Its name in the report, e.g. `host 1280x720`.
    pub name: String,
    /// What it measures and how (one line, for the report).
    pub what: &'static str,
    /// Whether one run is enough (long probes).
    pub once: bool,
    /// Runs it once in `dir`; panics (caught by the runner) when it cannot.
    pub run: Box<dyn Fn(&Path, &Settings) -> Measured>,
}

impl Probe {
    fn new(
        name: impl Into<String>,
        what: &'static str,
        run: impl Fn(&Path, &Settings) -> Measured + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            what,
            once: false,
            run: Box::new(run),
        }
    }
}

/// Every probe, in the order they run.
pub fn all() -> Vec<Probe> {
    let mut probes = Vec::new();
    for size in ["640x360", "1280x720"] {
        probes.push(Probe::new(
            format!("capture {size}"),
            capture::WHAT,
            move |dir, _| capture::run(dir, size),
        ));
    }
    probes.push(Probe::new("ipc", ipc::WHAT, |dir, _| ipc::run(dir)));
    for size in ["1280x720", "1920x1080"] {
        probes.push(Probe::new(
            format!("host {size}"),
            host_cpu::WHAT,
            move |dir, settings| host_cpu::run(dir, size, settings.window_seconds),
        ));
    }
    probes.push(Probe::new(
        "latency 1280x720",
        latency::WHAT,
        |dir, settings| latency::run(dir, "1280x720", settings.window_seconds),
    ));
    probes.push(Probe::new(
        "switch 1280x720",
        switch::WHAT,
        |dir, settings| switch::run(dir, "1280x720", settings.window_seconds),
    ));
    probes.push(Probe::new(
        "av offset",
        av_offset::WHAT_TESTSRC,
        |dir, settings| av_offset::run(dir, settings.window_seconds, av_offset::Marker::Testsrc),
    ));
    probes.push(Probe::new(
        "av offset bevy_audio",
        av_offset::WHAT_BEVY_AUDIO,
        |dir, settings| av_offset::run(dir, settings.window_seconds, av_offset::Marker::Metronome),
    ));
    probes.push(Probe {
        once: true,
        ..Probe::new("drops", drops::WHAT, |dir, settings| {
            drops::run(dir, settings.long_seconds)
        })
    });
    probes.push(Probe::new(THREE_WAYS, three_ways::WHAT, |dir, settings| {
        three_ways::run(dir, settings.window_seconds)
    }));
    probes.push(Probe::new(
        "audience round trip",
        round_trip::WHAT,
        |dir, settings| round_trip::run(dir, settings.round_trip_gifts),
    ));
    for viewers in [1000, 5000] {
        for setup in [
            room_fanout::Setup::InMemory,
            room_fanout::Setup::TwoNodesOnNats,
        ] {
            probes.push(Probe::new(
                format!("room fanout {viewers} {}", setup.label()),
                room_fanout::WHAT,
                move |dir, settings| {
                    room_fanout::run(
                        dir,
                        viewers,
                        setup,
                        settings.room_posts_per_second,
                        settings.window_seconds,
                    )
                },
            ));
        }
    }
    probes
}

/// The host as a streamer runs it: `size` at 30 fps, x264 `veryfast` at
/// 2500 kbit/s, microphone `mic`, to `output`; it stays when games leave.
fn streaming_host(dir: &Path, output: &str, size: &str, mic: &str) -> Host {
    streaming_host_with(dir, output, size, mic, &[], &[])
}

/// [`streaming_host`] with `extra` arguments and environment `env`.
fn streaming_host_with(
    dir: &Path,
    output: &str,
    size: &str,
    mic: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Host {
    let settings = ["--size", size, "--fps", "30", "--bitrate", "2500"];
    let args = [
        &settings[..],
        &[
            "--preset", "veryfast", "--mic", mic, "--stay", "--output", output,
        ],
        extra,
    ]
    .concat();
    Host::spawn(dir, &args, env)
}

/// A `livestream-testsrc` game called `name` on `host` at `size` and 30 fps, with `extra` flags.
fn testsrc(host: &Host, name: &str, size: &str, extra: &[&str]) -> Reaped {
    Reaped::spawn(
        Command::new(binary("livestream-testsrc"))
            .arg("--socket")
            .arg(&host.socket)
            .args(["--name", name, "--size", size, "--fps", "30"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// CPU time (user + system, seconds) used so far by process `pid`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the command name (which may hold spaces) start at field 3.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / clock_ticks()
}

/// Clock ticks per second of `/proc` CPU times (asked once).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Output frames missing from a recording: steps between frame times
/// (seconds) longer than 1.5 frame intervals, counted in frames.
fn frames_missing(times: &[f64], fps: u32) -> u64 {
    let step = 1.0 / f64::from(fps);
    times
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .filter(|gap| *gap > 1.5 * step)
        .map(|gap| (gap / step).round() as u64 - 1)
        .sum()
}

/// A figure's value in a `ctl status` answer, as a number (0 when absent).
fn status_number(status: &serde_json::Value, key: &str) -> f64 {
    status[key].as_f64().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_frames_are_counted_from_gaps() {
        let step = 1.0 / 30.0;
        let mut times: Vec<f64> = (0..10).map(|i| f64::from(i) * step).collect();
        assert_eq!(frames_missing(&times, 30), 0);
        times.push(times[9] + 3.0 * step); // two frames missing
        times.push(times[10] + 1.2 * step); // jitter, not a gap
        assert_eq!(frames_missing(&times, 30), 2);
    }

    #[test]
    fn own_cpu_time_is_readable() {
        let spent = cpu_seconds(std::process::id());
        assert!(spent >= 0.0);
    }
}
