//! Switches: two `livestream-testsrc` games, the host live to a private
//! nginx-rtmp, `ctl show` alternating between them every second. The host
//! times each switch until the new game's first frame reaches the stream
//! (`switch_to_picture_ms`: the new game is asked for media only once shown,
//! so this includes its first capture); what nginx recorded is checked for
//! missing output frames.

use std::path::Path;
use std::time::Duration;

use livestream_testkit::{NginxRtmp, video_frame_times};

use super::{frames_missing, streaming_host, testsrc};
use crate::report::Measured;

pub const WHAT: &str = "two testsrc games at 30 fps, `ctl show` alternating every second: host-timed switch → new game's first streamed frame; output frames missing in nginx's recording";

pub fn run(dir: &Path, size: &str, switches: u64) -> Measured {
    let nginx = NginxRtmp::start(&dir.join("nginx"));
    let output = nginx.url("bench");
    let host = streaming_host(dir, &output, size, "none");
    let _games = [
        testsrc(&host, "a", size, &[]),
        testsrc(&host, "b", size, &[]),
    ];
    host.wait_games(2);
    host.ctl(&["go-live"]);
    host.ctl(&["show", "a"]);
    std::thread::sleep(Duration::from_secs(3));
    let before = host.status();
    for n in 0..switches {
        host.ctl(&["show", if n % 2 == 0 { "b" } else { "a" }]);
        std::thread::sleep(Duration::from_secs(1));
    }
    let after = host.status();
    drop(host); // the stream ends cleanly: nginx closes the recording
    let times: Vec<f64> = after
        .switch_to_picture_ms
        .iter()
        .map(|&ms| ms as f64)
        .collect();
    let recent = &times[times.len().saturating_sub(switches as usize)..];
    assert!(!recent.is_empty(), "the host timed no switch");
    let recorded = video_frame_times(&nginx.recording("bench"));

    let mut measured = Measured::default();
    let mut sorted = recent.to_vec();
    sorted.sort_by(f64::total_cmp);
    measured.set("switch_to_picture_ms_median", sorted[sorted.len() / 2]);
    measured.set("switch_to_picture_ms_max", sorted[sorted.len() - 1]);
    measured.set("switches", recent.len() as f64);
    measured.set(
        "output_frames_missing",
        frames_missing(&recorded, 30) as f64,
    );
    measured.set("output_frames_recorded", recorded.len() as f64);
    measured.set(
        "output_frames_repeated",
        (after.frames_repeated - before.frames_repeated) as f64,
    );
    measured
}
