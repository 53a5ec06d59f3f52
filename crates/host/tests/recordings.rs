//! Nothing a streamer records is lost: every session writes files of its
//! own, a killed host leaves files that play, every stop signal finalises
//! them, a stop never freezes the host, and a lost microphone is rebuilt
//! while the stream goes on. The real `livestream-host` and
//! `livestream-testsrc`, a real PulseAudio.

use std::path::{Path, PathBuf};
use std::time::Duration;

use livestream_control::{OutputHealth, StreamPhase};
use livestream_testkit::{
    NginxRtmp, PulseMic, Reaped, SmallDisk, mp4, probe, session_file, session_files, tone_levels,
    wait_for,
};

mod support;

use support::*;

/// Frames of video in `file` (decoded).
fn video_frames(file: &Path) -> u64 {
    probe(file)
        .iter()
        .find(|s| s.codec == "h264")
        .map_or(0, |s| s.frames)
}

/// A host recording to `outputs` with game "alpha" connected (for 60 s).
fn host_with_alpha(dir: &Path, outputs: &[String]) -> (Reaped, Reaped, PathBuf) {
    let socket = dir.join("sock/host.sock");
    let host = host(&socket, outputs, Mic::None);
    wait_for("host socket", Duration::from_secs(20), || socket.exists());
    let alpha = game(&socket, "alpha", 0, "320x180", 60);
    wait_for("the game", Duration::from_secs(20), || {
        games_connected(&socket) == 1
    });
    (host, alpha, socket)
}

#[test]
fn with_no_destination_each_session_is_recorded_to_a_new_file_in_the_videos_dir() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/host.sock");
    // No --output and an empty per-user config: "Record only".
    let mut host = host(&socket, &[], Mic::None);
    wait_for("host socket", Duration::from_secs(20), || socket.exists());
    let _alpha = game(&socket, "alpha", 0, "320x180", 60);
    wait_for("the game", Duration::from_secs(20), || {
        games_connected(&socket) == 1
    });
    let videos = dir.path().join("videos");
    let first = one_session(&socket);
    let second = one_session(&socket);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].starts_with(&format!("file:{}/bevy_livestream ", videos.display())),
        "{first:?}"
    );
    assert_ne!(first, second, "a second session never overwrites the first");
    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));

    let mut files: Vec<PathBuf> = std::fs::read_dir(&videos)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in files {
        let streams = probe(&file);
        assert!(
            streams.iter().any(|s| s.codec == "h264" && s.frames >= 30),
            "{}: {streams:?}",
            file.display()
        );
    }
}

#[test]
fn two_sessions_with_one_file_output_leave_two_complete_files() {
    let dir = tempfile::tempdir().unwrap();
    let show = dir.path().join("show.mkv");
    let take = dir.path().join("{game} take {n}.mp4");
    let (mut host, _alpha, socket) = host_with_alpha(
        dir.path(),
        &[
            format!("file:{}", show.display()),
            format!("file:{}", take.display()),
        ],
    );
    one_session(&socket);
    one_session(&socket);
    let recordings = host_status(&socket).recordings;
    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));

    let shows = session_files(&show);
    assert_eq!(shows.len(), 2, "one file per session: {shows:?}");
    let takes = [1, 2].map(|n| dir.path().join(format!("alpha take {n}.mp4")));
    let mut expected: Vec<PathBuf> = shows.iter().chain(&takes).cloned().collect();
    expected.sort();
    let mut listed = recordings.clone();
    listed.sort();
    assert_eq!(listed, expected, "ctl status lists every session's files");
    for file in &expected {
        assert!(video_frames(file) >= 30, "{} is complete", file.display());
    }
    for take in &takes {
        assert!(mp4::is_finalised(take), "{:?}", mp4::top_level_boxes(take));
    }
}

#[test]
fn a_killed_host_leaves_mp4_and_mkv_that_play_to_within_two_seconds_of_the_kill() {
    const FPS: u64 = 15;
    let dir = tempfile::tempdir().unwrap();
    let files = ["show.mp4", "show.mkv"].map(|name| dir.path().join(name));
    let outputs = files
        .each_ref()
        .map(|file| format!("file:{}", file.display()));
    let (host, _alpha, socket) = host_with_alpha(dir.path(), &outputs);
    ctl(&socket, &["go-live"]);
    ctl(&socket, &["show", "alpha"]);
    wait_for("8 s streamed", Duration::from_secs(60), || {
        host_status(&socket).frames_pushed >= 8 * FPS
    });
    let pushed = host_status(&socket).frames_pushed;
    host.signal("KILL");
    for file in &files {
        let file = session_file(file);
        let frames = video_frames(&file);
        assert!(
            frames + 2 * FPS >= pushed,
            "{} plays {frames} frames of the {pushed} pushed before the kill",
            file.display()
        );
    }
    assert!(
        !mp4::is_finalised(&session_file(&files[0])),
        "the MP4 was cut short (no fragment index), yet plays"
    );
}

#[test]
fn every_stop_signal_finalises_the_recording() {
    // Ctrl-C twice: the second press must not cut the file short either.
    for signals in [
        &["INT"][..],
        &["INT", "INT"],
        &["TERM"],
        &["HUP"],
        &["QUIT"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("show.mp4");
        let (mut host, _alpha, socket) =
            host_with_alpha(dir.path(), &[format!("file:{}", file.display())]);
        ctl(&socket, &["go-live"]);
        ctl(&socket, &["show", "alpha"]);
        wait_for("30 frames out", Duration::from_secs(30), || {
            host_status(&socket).frames_pushed >= 30
        });
        for signal in signals {
            host.signal(signal);
        }
        assert_eq!(
            host.wait_timeout(Duration::from_secs(30)),
            Some(0),
            "{signals:?}: a clean exit"
        );
        let file = session_file(&file);
        assert!(
            mp4::is_finalised(&file),
            "{signals:?}: {:?}",
            mp4::top_level_boxes(&file)
        );
        assert!(video_frames(&file) >= 30, "{signals:?}");
    }
}

#[test]
fn a_stop_waiting_on_a_stuck_ingest_never_freezes_the_host_and_files_are_finalised() {
    // An "ingest" that accepts connections and never answers, until the test ends.
    let stuck = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stuck.local_addr().unwrap().port();
    stuck.set_nonblocking(true).unwrap();
    let test_over = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let over = test_over.clone();
    let ingest = std::thread::spawn(move || {
        let mut held = Vec::new();
        while !over.load(std::sync::atomic::Ordering::Acquire) {
            match stuck.accept() {
                Ok((connection, _)) => held.push(connection),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("show.mp4");
    let (mut host, _alpha, socket) = host_with_alpha(
        dir.path(),
        &[
            format!("rtmp://127.0.0.1:{port}/live/key"),
            format!("file:{}", file.display()),
        ],
    );
    ctl(&socket, &["show", "alpha"]);
    ctl(&socket, &["go-live"]);
    wait_for("30 frames out", Duration::from_secs(30), || {
        host_status(&socket).frames_pushed >= 30
    });
    ctl(&socket, &["stop"]);
    // The host answers while the stream is being finished: the loop is free.
    wait_for("the stopping phase, seen", Duration::from_secs(5), || {
        host_status(&socket).phase == StreamPhase::Stopping
    });
    wait_for("the stream finished", Duration::from_secs(60), || {
        !matches!(
            host_status(&socket).phase,
            StreamPhase::Stopping | StreamPhase::Live
        )
    });
    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));
    let file = session_file(&file);
    assert!(
        mp4::is_finalised(&file),
        "{:?}",
        mp4::top_level_boxes(&file)
    );
    assert!(video_frames(&file) >= 30);
    test_over.store(true, std::sync::atomic::Ordering::Release);
    ingest.join().unwrap();
}

#[test]
fn a_lost_microphone_is_rebuilt_while_the_stream_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mic = PulseMic::start(dir.path(), MIC_TONE);
    let socket = dir.path().join("sock/host.sock");
    let file = dir.path().join("show.mkv");
    let mut host = host(
        &socket,
        &[format!("file:{}", file.display())],
        Mic::Pulse(&mic),
    );
    wait_for("host socket", Duration::from_secs(20), || socket.exists());
    let _alpha = game(&socket, "alpha", 0, "320x180", 120);
    wait_for("the game", Duration::from_secs(20), || {
        games_connected(&socket) == 1
    });
    ctl(&socket, &["show", "alpha"]);
    ctl(&socket, &["go-live", "--mic"]);
    // 5 s: the microphone is heard well past its start-up.
    wait_for("75 frames out", Duration::from_secs(30), || {
        host_status(&socket).frames_pushed >= 75
    });
    // The sound server goes away (a restart, a crash).
    drop(mic);
    wait_for(
        "the microphone reported lost",
        Duration::from_secs(20),
        || host_status(&socket).mic_error.is_some(),
    );
    let pushed = host_status(&socket).frames_pushed;
    wait_for("the stream going on", Duration::from_secs(20), || {
        let status = host_status(&socket);
        status.phase == StreamPhase::Live && status.frames_pushed >= pushed + 30
    });
    // It comes back: the microphone is rebuilt and heard again.
    let _mic = PulseMic::start(dir.path(), MIC_TONE);
    wait_for("the microphone back", Duration::from_secs(90), || {
        host_status(&socket).mic_error.is_none()
    });
    let pushed = host_status(&socket).frames_pushed;
    wait_for("3 s more", Duration::from_secs(30), || {
        host_status(&socket).frames_pushed >= pushed + 45
    });
    ctl(&socket, &["stop"]);
    wait_for("the stream finished", Duration::from_secs(30), || {
        host_status(&socket).phase == StreamPhase::Idle
    });
    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));
    let file = session_file(&file);
    let levels = tone_levels(&file, &[MIC_TONE], 0.5);
    // Past the first two seconds (the microphone starting up).
    let after_start = &levels[4.min(levels.len())..];
    let heard = |level: &Vec<f64>| level[0] > 0.02;
    let lost = after_start.iter().position(|level| !heard(level));
    assert!(
        lost.is_some_and(
            |lost| after_start[..lost].iter().any(heard) && after_start[lost..].iter().any(heard)
        ),
        "the microphone heard, lost, then heard again: {levels:?}"
    );
}

#[test]
fn a_recording_on_a_full_disk_fails_visibly_while_the_ingest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = NginxRtmp::start(&dir.path().join("nginx"));
    // Room for a few seconds of the stream, then "No space left on device".
    let disk = SmallDisk::mount(&dir.path().join("small"), 256);
    let file = disk.dir.join("show.mkv");
    let (mut host, _alpha, socket) = host_with_alpha(
        dir.path(),
        &[nginx.url("full_disk"), format!("file:{}", file.display())],
    );
    ctl(&socket, &["show", "alpha"]);
    ctl(&socket, &["go-live"]);
    wait_for("the file output failed", Duration::from_secs(60), || {
        host_status(&socket)
            .outputs
            .iter()
            .any(|output| output.url.starts_with("file:") && output.health == OutputHealth::Failed)
    });
    let status = host_status(&socket);
    assert_eq!(
        status.phase,
        StreamPhase::Live,
        "the stream goes on: {status:?}"
    );
    let pushed = status.frames_pushed;
    wait_for("the ingest still fed", Duration::from_secs(20), || {
        host_status(&socket).frames_pushed >= pushed + 30
    });
    ctl(&socket, &["stop"]);
    wait_for("the stream finished", Duration::from_secs(30), || {
        host_status(&socket).phase == StreamPhase::Idle
    });
    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));
    assert!(
        video_frames(&session_file(&file)) > 0,
        "what fitted on the disk plays"
    );
    assert!(
        video_frames(&nginx.recording("full_disk")) >= pushed + 30,
        "the ingest got the whole stream"
    );
    drop(disk);
}
