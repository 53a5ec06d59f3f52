//! A player streams to a server of their own over RTMPS, on a fresh machine,
//! as they would: no host running, an empty config directory, a real game
//! window (Xvfb), real clicks and typing. The ingest is real: nginx-rtmp
//! behind nginx's stream module terminating TLS (a certificate from the
//! test's own CA, trusted through the test-only `LIVESTREAM_INSECURE_TLS`),
//! refusing every stream key but one. The first key typed is wrong: the
//! badge says so, "Change destination" asks again, the right key goes live.
//! The key is saved for the player alone and appears in no process's
//! arguments, no status and no log. The game starts again: Go live → Start
//! streams straight away.

use std::path::Path;
use std::time::{Duration, Instant};

use livestream_control::{HostStatus, OutputHealth, OutputProblem, StreamPhase};
use livestream_e2e::player::{
    BADGE_TROUBLE, CHANGE_DESTINATION, CONTINUE_OWN_SERVER, DESTINATION_STEP, GO_LIVE, KEY_FIELD,
    OWN_SERVER, POP_UP, SCREEN, SERVER_FIELD, START, STOP, StopBySocket, assert_owner_only, dark,
    go_live_again, quit, start_game,
};
use livestream_e2e::{Colour, binary, colour_of};
use livestream_testkit::{
    IngestOptions, NginxRtmp, Xvfb, in_any_argv, probe, processes_with_arg, rgb_frames, try_ctl,
    try_status, wait_for,
};

/// The only key the ingest takes.
const GOOD_KEY: &str = "live_4f9a_good";
/// A key it refuses.
const WRONG_KEY: &str = "live_0000_wrong";
/// What the test's game needs in its environment: the host it starts trusts
/// the test's own CA.
const TRUST_TEST_CA: [(&str, &str); 1] = [("LIVESTREAM_INSECURE_TLS", "any-authority")];

/// Saves the screen as `name`.png in the directory `LIVESTREAM_SCREENSHOTS`
/// names, when it names one (`scripts/screenshot-first-run.sh` makes the
/// README's pictures of a player's first run so).
fn screenshot(screen: &Xvfb, name: &str) {
    if let Some(dir) = std::env::var_os("LIVESTREAM_SCREENSHOTS") {
        screen.save_png(&Path::new(&dir).join(format!("{name}.png")));
    }
}

/// Whether a file anywhere under `dir` (logs, configs) contains `text`,
/// leaving out the files named in `allowed`.
fn in_any_file(dir: &Path, text: &str, allowed: &[&Path]) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if !allowed.contains(&path.as_path())
                && std::fs::read(&path)
                    .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(text))
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Clicks a field and types into it.
fn type_into(screen: &Xvfb, field: (u32, u32), text: &str) {
    screen.click(field.0, field.1);
    screen.type_text(text);
}

/// Whether the host streams the game to the ingest with no output in trouble.
fn streaming_the_game(status: &HostStatus, frames: u64) -> bool {
    status.is_live()
        && status.shown.as_deref() == Some("snake")
        && status.outputs.len() == 1
        && status.outputs[0].health == OutputHealth::Up
        && status
            .game("snake")
            .is_some_and(|game| game.frames_streamed >= frames)
}

#[test]
fn a_first_go_live_over_rtmps_with_a_refused_key_then_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/host.sock");
    let _stop = StopBySocket(&socket);
    let ingest = NginxRtmp::start_with(
        &dir.path().join("nginx"),
        IngestOptions {
            tls: true,
            only_key: Some(GOOD_KEY),
        },
    );
    let screen = Xvfb::start(SCREEN.0, SCREEN.1);
    let host = binary("livestream-host");
    let game = start_game(dir.path(), &screen, &socket, "game", &TRUST_TEST_CA);
    assert!(!socket.exists(), "no host runs before the player asks");

    // First run: my own server, over RTMPS, with a wrong key.
    screen.click(GO_LIVE.0, GO_LIVE.1);
    wait_for("the first-run step", Duration::from_secs(30), || {
        dark(&screen, DESTINATION_STEP)
    });
    screen.click(OWN_SERVER.0, OWN_SERVER.1);
    type_into(&screen, SERVER_FIELD, &ingest.tls_server());
    type_into(&screen, KEY_FIELD, WRONG_KEY);
    screenshot(&screen, "first-run-destination");
    screen.click(CONTINUE_OWN_SERVER.0, CONTINUE_OWN_SERVER.1);
    wait_for("the start step", Duration::from_secs(30), || {
        dark(&screen, POP_UP) && !dark(&screen, DESTINATION_STEP)
    });
    screen.click(START.0, START.1);
    let pressed = Instant::now();

    // The ingest refuses it: the player reads why, with what to do.
    wait_for("the refusal told", Duration::from_secs(60), || {
        try_status(&host, &socket).is_ok_and(|status| {
            status
                .outputs
                .first()
                .is_some_and(|output| output.problem == Some(OutputProblem::KeyRefused))
        })
    });
    let told_after = pressed.elapsed();
    wait_for("the badge saying so", Duration::from_secs(30), || {
        dark(&screen, BADGE_TROUBLE)
    });
    let shown_after = pressed.elapsed();
    screenshot(&screen, "first-run-refused-key");
    eprintln!(
        "refused key: in ctl status {:.1} s, on screen {:.1} s after Start (host started on demand)",
        told_after.as_secs_f64(),
        shown_after.as_secs_f64()
    );
    assert!(
        !ingest.recording(WRONG_KEY).exists() || probe(&ingest.recording(WRONG_KEY)).is_empty(),
        "nothing published under the wrong key"
    );

    // Change destination: the same server, the right key.
    screen.click(CHANGE_DESTINATION.0, CHANGE_DESTINATION.1);
    wait_for("the first-run step again", Duration::from_secs(30), || {
        dark(&screen, DESTINATION_STEP)
    });
    type_into(&screen, KEY_FIELD, GOOD_KEY);
    screen.click(CONTINUE_OWN_SERVER.0, CONTINUE_OWN_SERVER.1);
    wait_for("the start step", Duration::from_secs(30), || {
        dark(&screen, POP_UP) && !dark(&screen, DESTINATION_STEP)
    });
    screen.click(START.0, START.1);
    wait_for("the game on the ingest", Duration::from_secs(60), || {
        try_status(&host, &socket).is_ok_and(|status| streaming_the_game(&status, 120))
    });
    screenshot(&screen, "first-run-live");
    let status = try_ctl(&host, &socket, &["status"]).unwrap().to_string();
    assert!(
        !status.contains(GOOD_KEY) && status.contains("/live/***"),
        "{status}"
    );
    assert!(
        !in_any_argv(GOOD_KEY),
        "the key is in a process's arguments"
    );

    screen.click(STOP.0, STOP.1);
    wait_for("the stream stopped", Duration::from_secs(30), || {
        try_status(&host, &socket).is_ok_and(|status| status.phase == StreamPhase::Idle)
    });
    quit(game, &socket);

    // The ingest got the game from the first second (a slate until its first frame).
    let recording = ingest.recording(GOOD_KEY);
    let streams = probe(&recording);
    assert!(
        streams.iter().any(|s| s.codec == "h264" && s.frames >= 60),
        "{streams:?}"
    );
    assert!(streams.iter().any(|s| s.codec == "aac"), "{streams:?}");
    let frames = rgb_frames(&recording, 64, 36);
    let slate = frames
        .iter()
        .take_while(|frame| colour_of(frame) != Colour::Green)
        .count();
    eprintln!("slate frames before the game's first: {slate}");
    assert_eq!(
        frames.get(30).map(|frame| colour_of(frame)),
        Some(Colour::Green),
        "the game one second in (the host's default 30 fps)"
    );

    // "Remember" kept the right key for the player alone, and no log has it.
    let config = dir.path().join("config/bevy_livestream/host.ron");
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(
        saved.contains(GOOD_KEY) && !saved.contains(WRONG_KEY),
        "{saved}"
    );
    assert_owner_only(&config);
    let leaks = in_any_file(dir.path(), GOOD_KEY, &[&config, &recording]);
    // nginx's own logs name the stream it was sent: those are the ingest's.
    let leaks: Vec<_> = leaks
        .into_iter()
        .filter(|path| !path.contains("/nginx/"))
        .collect();
    assert!(leaks.is_empty(), "the key is written in {leaks:?}");

    // The next time: Go live → Start, straight to the ingest.
    let game = start_game(dir.path(), &screen, &socket, "game-again", &TRUST_TEST_CA);
    go_live_again(&screen);
    wait_for("live again", Duration::from_secs(60), || {
        try_status(&host, &socket).is_ok_and(|status| streaming_the_game(&status, 15))
    });
    assert!(
        !in_any_argv(GOOD_KEY),
        "the key is in a process's arguments"
    );
    quit(game, &socket);
    assert!(processes_with_arg(socket.as_os_str()).is_empty());
}
