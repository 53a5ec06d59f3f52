//! The real `livestream-host` with two `livestream-testsrc` games and a real
//! nginx-rtmp: go live, switch, hide everything, switch back, lose a game,
//! and exit when the last one leaves; then decode what was recorded.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use livestream_control::{OutputHealth, StreamPhase};
use livestream_testkit::{
    NginxRtmp, PulseMic, Reaped, audio_start, frame_counters, in_any_argv, private_user_dirs,
    probe, session_file, tone_levels, video_frame_times, wait_for,
};

mod support;

use support::*;

#[test]
fn switching_between_games_keeps_one_unbroken_stream() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = NginxRtmp::start(&dir.path().join("nginx"));
    // A real PulseAudio virtual microphone playing the mic tone.
    let mic = PulseMic::start(dir.path(), MIC_TONE);
    let socket = dir.path().join("sock/host.sock");
    let file = dir.path().join("out.mkv");
    let mut host = host(
        &socket,
        &[
            nginx.url("e2e_secret_key"),
            format!("file:{}", file.display()),
        ],
        Mic::Pulse(&mic),
    );
    wait_for("host socket", Duration::from_secs(20), || socket.exists());
    assert!(
        !in_any_argv("e2e_secret_key"),
        "the stream key is in a process's arguments"
    );
    // B sends a different size: the host scales it to the output size.
    let _a = game(&socket, "alpha", 0, "320x180", 14);
    let _b = game(&socket, "beta", B_FIRST, "640x360", 14);
    wait_for("both games", Duration::from_secs(10), || {
        games_connected(&socket) == 2
    });

    ctl(&socket, &["go-live", "--mic"]);
    ctl(&socket, &["show", "alpha"]);
    std::thread::sleep(Duration::from_secs(2));
    ctl(&socket, &["show", "beta"]);
    std::thread::sleep(Duration::from_secs(2));
    ctl(&socket, &["hide-all"]);
    std::thread::sleep(Duration::from_millis(1500));
    ctl(&socket, &["show", "alpha"]);
    std::thread::sleep(Duration::from_secs(2));

    let status = host_status(&socket);
    assert_eq!(status.phase, StreamPhase::Live, "{status:?}");
    assert!(status.mic);
    assert_eq!(status.shown.as_deref(), Some("alpha"));
    assert!(status.switches >= 2, "{status:?}");
    let outputs = serde_json::to_string(&status.outputs).unwrap();
    assert!(
        !outputs.contains("e2e_secret_key"),
        "stream key leaked: {outputs}"
    );

    // The games end (--duration); the host stops cleanly and exits 0.
    let exit = host.wait_timeout(Duration::from_secs(30));
    let log = std::fs::read_to_string(dir.path().join("host.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(15).collect();
    assert_eq!(exit, Some(0), "host log (last lines first): {tail:#?}");

    for recording in [nginx.recording("e2e_secret_key"), session_file(&file)] {
        let streams = probe(&recording);
        let video = streams
            .iter()
            .find(|s| s.codec == "h264")
            .unwrap_or_else(|| panic!("no video in {}", recording.display()));
        assert_eq!((video.width, video.height), (u64::from(W), u64::from(H)));
        let (num, den) = video.rate.split_once('/').unwrap();
        let fps = num.parse::<f64>().unwrap() / den.parse::<f64>().unwrap();
        // FLV keeps millisecond timestamps: 15 fps reads back as ~15.1.
        assert!(
            (fps - 15.0).abs() < 0.3,
            "{} fps in {}",
            video.rate,
            recording.display()
        );
        assert!(streams.iter().any(|s| s.codec == "aac"), "{streams:?}");
        assert!(video.frames >= 90, "{} frames", video.frames);
    }

    // Frame by frame: A, then B, then B's last frame repeated, then A again.
    let counters: Vec<u32> = frame_counters(&session_file(&file), W, H)
        .into_iter()
        .flatten()
        .collect();
    let is_b = |c: &u32| *c >= B_FIRST;
    let first_b = counters.iter().position(is_b).expect("B on stream");
    let back_to_a = first_b
        + counters[first_b..]
            .iter()
            .position(|c| !is_b(c))
            .expect("A on stream again");
    assert!(first_b > 0 && !is_b(&counters[0]), "A first");
    let b_part = &counters[first_b..back_to_a];
    let longest_repeat = b_part
        .chunk_by(|x, y| x == y)
        .map(<[u32]>::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest_repeat >= 10,
        "while nothing was shown the last frame repeats (longest run {longest_repeat})"
    );
    check_audio(&nginx.recording("e2e_secret_key"));
}

/// What the picture showed at one output frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Picture {
    A,
    B,
    /// B's last frame repeated while nothing was shown.
    Held,
    Other,
}

/// The microphone is heard throughout; each game's tone only while its picture is shown.
fn check_audio(recording: &Path) {
    let times = video_frame_times(recording);
    let counters = frame_counters(recording, W, H);
    assert_eq!(times.len(), counters.len(), "one time per decoded frame");
    let mut pictures = vec![Picture::Other; counters.len()];
    let mut run_start = 0;
    for i in 0..counters.len() {
        pictures[i] = match counters[i] {
            Some(c) if c >= B_FIRST => Picture::B,
            Some(_) => Picture::A,
            None => Picture::Other,
        };
        if i > 0 && counters[i] != counters[i - 1] {
            run_start = i;
        }
        if i - run_start >= 3 && pictures[i] == Picture::B {
            for p in &mut pictures[run_start + 1..=i] {
                *p = Picture::Held; // a still, repeated B frame: nothing shown
            }
        }
    }
    const WINDOW: f64 = 0.5;
    let start = audio_start(recording);
    let levels = tone_levels(recording, &[A_TONE, B_TONE, MIC_TONE], WINDOW);
    let (mut seen_a, mut seen_b, mut seen_held) = (0, 0, 0);
    let last = times.last().copied().unwrap_or(0.0);
    for (k, level) in levels.iter().enumerate() {
        let (from, to) = (start + k as f64 * WINDOW, start + (k + 1) as f64 * WINDOW);
        // The first two seconds are start-up: the microphone device and the
        // mixer need a moment before their first samples reach the output
        // (up to 1.5 s seen under CI load).
        if from < start + 2.0 {
            continue;
        }
        if to <= last - 0.5 {
            assert!(level[2] > 0.02, "mic tone missing at {from:.1}s: {level:?}");
        }
        // Game audio is placed by capture time and a game's chunk may cover
        // up to one of its frame intervals (66 ms at 15 fps) past a switch,
        // so a window must also be clear of switches by that margin.
        const MARGIN: f64 = 0.1;
        let inside: Vec<Picture> = times
            .iter()
            .zip(&pictures)
            .filter(|(t, _)| **t >= from - MARGIN && **t < to + MARGIN)
            .map(|(_, p)| *p)
            .collect();
        if inside.len() < 5 || inside.iter().any(|p| *p != inside[0]) {
            continue; // a window at a switch, or without video
        }
        let (a, b) = (level[0], level[1]);
        match inside[0] {
            Picture::A => {
                seen_a += 1;
                assert!(a > 0.02 && b < 0.005, "A shown at {from:.1}s: {level:?}");
            }
            Picture::B => {
                seen_b += 1;
                assert!(b > 0.02 && a < 0.005, "B shown at {from:.1}s: {level:?}");
            }
            Picture::Held => {
                seen_held += 1;
                assert!(
                    a < 0.005 && b < 0.005,
                    "no game audio while hidden at {from:.1}s: {level:?}"
                );
            }
            Picture::Other => {}
        }
    }
    assert!(
        seen_a >= 2 && seen_b >= 2 && seen_held >= 1,
        "windows checked: A {seen_a}, B {seen_b}, hidden {seen_held}"
    );
}

#[test]
fn a_killed_game_does_not_disturb_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/host.sock");
    let file = dir.path().join("out.flv");
    let mut host = host(&socket, &[format!("file:{}", file.display())], Mic::None);
    wait_for("host socket", Duration::from_secs(20), || socket.exists());
    let _a = game(&socket, "alpha", 0, "320x180", 8);
    let b = game(&socket, "beta", B_FIRST, "320x180", 60);
    wait_for("both games", Duration::from_secs(10), || {
        games_connected(&socket) == 2
    });
    ctl(&socket, &["go-live"]);
    ctl(&socket, &["show", "beta"]);
    std::thread::sleep(Duration::from_secs(1));
    let before = host_status(&socket).frames_pushed;
    b.signal("KILL");
    wait_for("beta removed", Duration::from_secs(5), || {
        games_connected(&socket) == 1
    });
    std::thread::sleep(Duration::from_secs(1));
    let status = host_status(&socket);
    assert_eq!(status.phase, StreamPhase::Live, "{status:?}");
    assert!(
        status.frames_pushed >= before + 10,
        "frames keep flowing after the kill: {status:?}"
    );
    // A ends by itself: last game gone, the host exits 0 and the file plays.
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));
    let streams = probe(&session_file(&file));
    assert!(streams.iter().any(|s| s.codec == "h264" && s.frames >= 30));
}

#[test]
fn bad_settings_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let output = private_user_dirs(&mut Command::new(HOST), dir.path())
        .args(["--output", "gopher://nowhere", "--socket"])
        .arg(dir.path().join("h.sock"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsupported output"));
}

#[test]
fn the_host_reconnects_to_a_restarted_ingest_and_no_game_disconnects() {
    let dir = tempfile::tempdir().unwrap();
    let nginx_dir = dir.path().join("nginx");
    let nginx = NginxRtmp::start(&nginx_dir);
    let port = nginx.port;
    let socket = dir.path().join("sock/host.sock");
    let mut host = host(&socket, &[nginx.url("resume")], Mic::None);
    wait_for("host socket", Duration::from_secs(20), || socket.exists());
    let _a = live_with_alpha(&socket, 16);
    std::thread::sleep(Duration::from_secs(2));

    drop(nginx); // the ingest goes away
    wait_for("reconnecting", Duration::from_secs(5), || {
        matches!(host_status(&socket).phase, StreamPhase::Reconnecting { .. })
    });
    let status = host_status(&socket);
    assert_ne!(status.outputs[0].health, OutputHealth::Up, "{status:?}");
    let sent_before_restart = status.games[0].frames;

    let nginx = NginxRtmp::start_on(&nginx_dir, port);
    wait_for("live again", Duration::from_secs(20), || {
        host_status(&socket).phase == StreamPhase::Live
    });
    assert_eq!(games_connected(&socket), 1, "no game disconnected");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));

    let latest = frame_counters(&nginx.recording("resume"), W, H)
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
    assert!(
        u64::from(latest) > sent_before_restart,
        "the recording resumed: latest frame {latest}, {sent_before_restart} sent before the restart"
    );
}

#[test]
fn launched_games_connect_and_stop_with_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/host.sock");
    let mut host = Reaped::spawn(
        private_user_dirs(&mut Command::new(HOST), dir.path())
            .stderr(log_file(&socket, "host"))
            .args(["--headless", "--mic", "none"])
            .arg("--socket")
            .arg(&socket)
            .arg("--output")
            .arg(format!("file:{}", dir.path().join("out.mkv").display()))
            .arg("--launch")
            .arg(testsrc_bin()),
    );
    // The child finds the host through LIVESTREAM_SOCKET, set by the host.
    wait_for("the launched game", Duration::from_secs(20), || {
        socket.exists() && games_connected(&socket) == 1
    });
    let pid = host_status(&socket).games[0].pid;
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the launched game {pid} outlived the host"
    );
}

#[test]
fn srt_and_rtmp_outputs_at_once_reach_real_servers() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = NginxRtmp::start(&dir.path().join("nginx"));
    let socket = dir.path().join("sock/host.sock");
    let port = livestream_testkit::free_port();
    let received = dir.path().join("received.ts");
    // ffmpeg (libsrt) as the SRT server, writing what it receives.
    let mut listener = Reaped::spawn(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(format!("srt://127.0.0.1:{port}?mode=listener"))
            .args(["-c", "copy", "-f", "mpegts"])
            .arg(&received)
            .stdout(Stdio::null())
            .stderr(log_file(&socket, "srt-listener")),
    );
    // MPEG-TS over SRT and FLV over RTMP from one encoder at the same time.
    let mut host = host(
        &socket,
        &[format!("srt://127.0.0.1:{port}"), nginx.url("both")],
        Mic::None,
    );
    wait_for("host socket", Duration::from_secs(20), || socket.exists());
    let _a = live_with_alpha(&socket, 30);
    wait_for("frames at the listener", Duration::from_secs(20), || {
        std::fs::metadata(&received).is_ok_and(|m| m.len() > 50_000)
    });
    ctl(&socket, &["stop"]);
    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));
    // The caller has gone: the listener finishes its file.
    listener.signal("INT");
    listener.wait_timeout(Duration::from_secs(10));

    let streams = probe(&received);
    let video = streams
        .iter()
        .find(|s| s.codec == "h264")
        .expect("H.264 over SRT");
    assert_eq!((video.width, video.height), (u64::from(W), u64::from(H)));
    assert!(video.frames >= 15, "{} frames", video.frames);
    assert!(streams.iter().any(|s| s.codec == "aac"), "AAC over SRT");
}

#[test]
fn the_users_host_ron_is_read_and_one_others_can_read_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/host.sock");
    let config_dir = dir.path().join("config/bevy_livestream");
    std::fs::create_dir_all(&config_dir).unwrap();
    let recording = dir.path().join("from-config.mkv");
    let config = config_dir.join("host.ron");
    std::fs::write(
        &config,
        format!("(outputs: [\"file:{}\"])", recording.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut host = host(&socket, &[], Mic::None);
    wait_for("host socket", Duration::from_secs(20), || socket.exists());
    let _alpha = game(&socket, "alpha", 0, "320x180", 60);
    wait_for("the game", Duration::from_secs(20), || {
        games_connected(&socket) == 1
    });
    let outputs = one_session(&socket);
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert!(
        outputs[0].starts_with(&format!("file:{}/from-config ", dir.path().display())),
        "the session's own file: {outputs:?}"
    );
    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));
    let log = std::fs::read_to_string(dir.path().join("host.log")).unwrap();
    assert!(
        log.contains(&format!("chmod 600 '{}'", config.display())),
        "{log}"
    );
    assert!(
        probe(&session_file(&recording))
            .iter()
            .any(|s| s.codec == "h264")
    );
}

#[test]
fn games_sending_any_sample_rate_are_heard_at_the_right_pitch() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/host.sock");
    let template = dir.path().join("out-{n}.mkv");
    let mut host = host(
        &socket,
        &[format!("file:{}", template.display())],
        Mic::None,
    );
    wait_for("host socket", Duration::from_secs(20), || socket.exists());
    // A sound card at 44.1 kHz in mono, and one at 96 kHz in stereo: one
    // session each.
    let formats = [
        ("alpha", 0, ["44100", "1"]),
        ("beta", B_FIRST, ["96000", "2"]),
    ];
    let _games = formats.map(|(name, first, [rate, channels])| {
        game_with(
            &socket,
            name,
            first,
            "320x180",
            90,
            &["--audio-rate", rate, "--audio-channels", channels],
        )
    });
    wait_for("both games", Duration::from_secs(20), || {
        games_connected(&socket) == 2
    });
    let chunks = |name: &str| {
        host_status(&socket)
            .games
            .iter()
            .find(|game| game.name == name)
            .map_or(0, |game| game.audio_chunks)
    };
    let shown_for = |name: &str, new_chunks: u64| {
        ctl(&socket, &["show", name]);
        let before = chunks(name);
        wait_for("its audio", Duration::from_secs(30), || {
            chunks(name) >= before + new_chunks
        });
    };
    let session = |shown: &[&str]| {
        ctl(&socket, &["show", shown[0]]);
        ctl(&socket, &["go-live"]);
        for name in shown {
            shown_for(name, 60); // 4 s at 15 chunks a second
        }
        ctl(&socket, &["stop"]);
        wait_for("the stream stopped", Duration::from_secs(30), || {
            host_status(&socket).phase == StreamPhase::Idle
        });
    };
    session(&["alpha"]);
    session(&["beta"]);
    // And a switch between the two formats within one stream.
    session(&["alpha", "beta"]);
    host.signal("TERM");
    assert_eq!(host.wait_timeout(Duration::from_secs(30)), Some(0));

    let clean = |level: &Vec<f64>, own: usize| level[own] > 0.02 && level[1 - own] < 0.005;
    for (n, own) in [(1, 0), (2, 1)] {
        let file = dir.path().join(format!("out-{n}.mkv"));
        let levels = tone_levels(&file, &[A_TONE, B_TONE], 0.5);
        // Past the start-up, before the end: every window carries the
        // game's tone at its pitch (a rate taken for another would move it).
        let middle = &levels[2..levels.len().saturating_sub(1)];
        assert!(middle.len() >= 3, "{}: {levels:?}", file.display());
        assert!(
            middle.iter().all(|level| clean(level, own)),
            "{}: {levels:?}",
            file.display()
        );
    }
    let switched = tone_levels(&dir.path().join("out-3.mkv"), &[A_TONE, B_TONE], 0.5);
    let first_b = switched.iter().position(|level| clean(level, 1));
    assert!(
        first_b.is_some_and(|b| switched[..b].iter().any(|level| clean(level, 0))
            && switched[b..switched.len() - 1]
                .iter()
                .all(|level| !clean(level, 0))),
        "A at 44.1 kHz mono, then B at 96 kHz stereo: {switched:?}"
    );
}
