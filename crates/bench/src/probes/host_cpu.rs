//! Host CPU per stream: a `livestream-testsrc` game (picture and tone) at the
//! stream's size and 30 fps, the host encoding it with x264 `veryfast` at
//! 2500 kbit/s plus AAC of the game mixed with a test-tone microphone, muxed
//! to FLV and pushed to a private nginx-rtmp. The host's CPU time over one
//! window, in cores.

use std::path::Path;
use std::time::{Duration, Instant};

use livestream_testkit::NginxRtmp;

use super::{cpu_seconds, streaming_host, testsrc};
use crate::report::Measured;

pub const WHAT: &str = "livestream-host CPU (cores) encoding one testsrc game at 30 fps: x264 veryfast 2500 kbit/s, AAC of game + test-tone mic, FLV to nginx-rtmp";

pub fn run(dir: &Path, size: &str, seconds: u64) -> Measured {
    let nginx = NginxRtmp::start(&dir.join("nginx"));
    let output = nginx.url("bench");
    let host = streaming_host(dir, &output, size, "test-tone");
    let _game = testsrc(&host, "bench", size, &["--shown"]);
    host.wait_games(1);
    host.ctl(&["go-live", "--mic"]);
    std::thread::sleep(Duration::from_secs(3)); // encoder and RTMP session settle
    let before = host.status();
    let (cpu0, t0) = (cpu_seconds(host.process.pid()), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu1, t1) = (cpu_seconds(host.process.pid()), Instant::now());
    let after = host.status();
    let span = (t1 - t0).as_secs_f64();
    let mut measured = Measured::default();
    measured.set("host_cores", (cpu1 - cpu0) / span);
    measured.set(
        "output_fps",
        (after.frames_pushed - before.frames_pushed) as f64 / span,
    );
    measured.set(
        "output_frames_repeated",
        (after.frames_repeated - before.frames_repeated) as f64,
    );
    measured.set("bitrate_kbps", f64::from(after.bitrate_kbps));
    measured
}
