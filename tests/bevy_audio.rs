//! A game that plays only with Bevy's own audio components
//! (`demo-metronome`: a looped drone under a tick, no kira and no streaming
//! code) on a real host and a real ingest (nginx-rtmp): its drone is on the
//! stream while it is shown and not while it is hidden, and what the game
//! does to its `AudioSink` (pause, volume, asked for in chat) is what
//! viewers hear. Headless, and in a window on a 44.1 kHz sound server, where
//! the player hears the game too, with Bevy's own `AudioPlugin` running.

use std::path::Path;
use std::time::Duration;

use livestream_e2e::{Host, demo_game_with};
use livestream_testkit::{
    AUDIO_RATE, NginxRtmp, PulseMic, Reaped, Xvfb, goertzel_amplitude, try_audio_samples, wait_for,
};

/// The metronome's drone, and its amplitude in the game.
const DRONE: f64 = 660.0;
const DRONE_AMPLITUDE: f64 = 0.3;
/// The speaker's rate: a CD's, as many sound cards run.
const SPEAKER_RATE: u32 = 44_100;
const KEY: &str = "bevy_audio_key";
/// How long any change may take to show in the recording.
const LIMIT: Duration = Duration::from_secs(60);

/// The drone's amplitude in the recording's last second (0 before there is one).
fn drone_now(recording: &Path) -> f64 {
    let samples = try_audio_samples(recording).unwrap_or_default();
    let second = AUDIO_RATE as usize;
    if samples.len() < second {
        return 0.0;
    }
    goertzel_amplitude(&samples[samples.len() - second..], DRONE, AUDIO_RATE)
}

/// Seconds of audio recorded so far.
fn recorded_seconds(recording: &Path) -> f64 {
    try_audio_samples(recording).map_or(0.0, |s| s.len() as f64 / AUDIO_RATE)
}

/// Waits until the drone's level in the recording's last second passes `check`.
fn wait_for_drone(recording: &Path, what: &str, check: impl Fn(f64) -> bool) -> f64 {
    let mut level = 0.0;
    wait_for(what, LIMIT, || {
        level = drone_now(recording);
        check(level)
    });
    level
}

/// Goes live with the metronome hidden, shows it, asks for `quiet`, `pause`,
/// `play loud` in chat, then hides it, each time waiting until the stream
/// says so; `heard` is asked, while the game is shown and while hidden,
/// whether the player hears the drone.
fn drone_follows_the_game(host: &Host, recording: &Path, heard: impl Fn() -> Option<f64>) {
    host.ctl(&["go-live"]);
    // Hidden: the stream runs (the slate) without the game's sound.
    wait_for("two seconds of stream", LIMIT, || {
        recorded_seconds(recording) >= 2.0
    });
    let hidden = drone_now(recording);
    assert!(hidden < 0.005, "drone on the stream while hidden: {hidden}");

    host.ctl(&["show", "metronome"]);
    wait_for_drone(recording, "the drone on the stream", |l| l > 0.1);
    // Its steady level: once the recording's last second is all drone.
    let heard_at = recorded_seconds(recording);
    wait_for("a second of drone", LIMIT, || {
        recorded_seconds(recording) >= heard_at + 1.0
    });
    let full = drone_now(recording);
    eprintln!("drone on the stream: amplitude {full:.3}");
    if let Some(level) = heard() {
        eprintln!("drone on the player's speaker: amplitude {level:.3}");
        // Once: not also through Bevy's own output.
        assert!(
            (0.5 * DRONE_AMPLITUDE..1.5 * DRONE_AMPLITUDE).contains(&level),
            "the player hears the drone once: amplitude {level}"
        );
    }
    host.ctl(&["say", "--user", "viewer", "quiet"]);
    wait_for_drone(recording, "the drone at a quarter", |l| {
        (0.15 * full..0.35 * full).contains(&l)
    });
    host.ctl(&["say", "--user", "viewer", "pause"]);
    wait_for_drone(recording, "the drone paused", |l| l < 0.02 * full);
    host.ctl(&["say", "--user", "viewer", "play loud"]);
    wait_for_drone(recording, "the drone back at full", |l| l > 0.7 * full);

    host.ctl(&["hide-all"]);
    wait_for_drone(recording, "the drone off the stream", |l| l < 0.02 * full);
    if let Some(level) = heard() {
        assert!(
            level > 0.5 * DRONE_AMPLITUDE,
            "the player still hears the hidden game: amplitude {level}"
        );
    }
    host.ctl(&["stop"]);
}

/// Stops the game as a player would (Ctrl-C), then waits for the host to exit.
fn finish(mut host: Host, game: Reaped) {
    game.signal("INT");
    assert_eq!(host.process.wait_timeout(Duration::from_secs(60)), Some(0));
}

#[test]
fn a_headless_bevy_audio_game_is_heard_while_shown() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = NginxRtmp::start(&dir.path().join("nginx"));
    let host = Host::start(dir.path(), &["--output", &nginx.url(KEY)], &[]);
    let game = demo_game_with(
        dir.path(),
        &host,
        "metronome",
        "metronome",
        &["--headless", "--size", "320x180", "--fps", "15"],
        &[],
    );
    host.wait_games(1);
    drone_follows_the_game(&host, &nginx.recording(KEY), || None);
    finish(host, game);
}

#[test]
fn a_bevy_audio_game_in_a_window_is_heard_by_player_and_viewers() {
    let dir = tempfile::tempdir().unwrap();
    let screen = Xvfb::start(320, 180);
    let pulse = PulseMic::with_speaker(dir.path(), 1_000.0, SPEAKER_RATE);
    let nginx = NginxRtmp::start(&dir.path().join("nginx"));
    let host = Host::start(dir.path(), &["--output", &nginx.url(KEY)], &[]);
    let display = screen.display();
    let game = demo_game_with(
        dir.path(),
        &host,
        "metronome",
        "metronome",
        &["--size", "320x180"],
        &[("DISPLAY", &display), ("PULSE_SERVER", &pulse.server)],
    );
    host.wait_games(1);
    let heard = || {
        let samples = pulse.record_speaker(SPEAKER_RATE, 1.0);
        Some(goertzel_amplitude(&samples, DRONE, f64::from(SPEAKER_RATE)))
    };
    drone_follows_the_game(&host, &nginx.recording(KEY), heard);
    finish(host, game);
}
