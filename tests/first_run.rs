//! A player's first Go live on a fresh machine, as they would do it: no host
//! running, an empty config directory, a real game window (Xvfb) and real
//! clicks. The pop-up asks where to stream first; "Record only" (no account)
//! and "Remember"; the game starts a host, which records the game to the
//! videos directory. The game quits and starts again: Go live goes straight
//! to the start step, with the remembered destination.

use std::path::Path;
use std::time::Duration;

use livestream_control::StreamPhase;
use livestream_e2e::player::{
    CONTINUE, DESTINATION_STEP, GO_LIVE, POP_UP, SCREEN, START, STOP, StopBySocket,
    assert_owner_only, dark, go_live_again, quit, start_game,
};
use livestream_e2e::{Colour, binary, colour_of};
use livestream_testkit::{Xvfb, probe, processes_with_arg, rgb_frames, try_status, wait_for};

#[test]
fn a_first_go_live_with_no_host_and_no_config_records_the_game() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/host.sock");
    let _stop = StopBySocket(&socket);
    let screen = Xvfb::start(SCREEN.0, SCREEN.1);
    let host = binary("livestream-host");
    let videos = dir.path().join("videos");
    let game = start_game(dir.path(), &screen, &socket, "game", &[]);
    assert!(!socket.exists(), "no host runs before the player asks");

    // First run: where to stream, then the usual pop-up.
    screen.click(GO_LIVE.0, GO_LIVE.1);
    wait_for("the first-run step", Duration::from_secs(30), || {
        dark(&screen, DESTINATION_STEP)
    });
    screen.click(CONTINUE.0, CONTINUE.1);
    wait_for("the start step", Duration::from_secs(30), || {
        dark(&screen, POP_UP) && !dark(&screen, DESTINATION_STEP)
    });
    screen.click(START.0, START.1);

    // The game started a host, which records the game.
    wait_for(
        "the game's picture on the stream",
        Duration::from_secs(60),
        || {
            try_status(&host, &socket).is_ok_and(|status| {
                status.is_live()
                    && status.shown.as_deref() == Some("snake")
                    && status
                        .game("snake")
                        .is_some_and(|g| g.frames_streamed >= 30)
            })
        },
    );
    let status = try_status(&host, &socket).unwrap();
    let url = status.outputs[0].url.clone();
    assert!(
        url.starts_with(&format!("file:{}/bevy_livestream ", videos.display())),
        "{status:?}"
    );
    let started = processes_with_arg(socket.as_os_str());
    assert_eq!(
        started.len(),
        1,
        "one host, started by the game: {started:?}"
    );
    assert!(started[0].1[0].ends_with("livestream-host"), "{started:?}");

    screen.click(STOP.0, STOP.1);
    wait_for("the stream stopped", Duration::from_secs(30), || {
        try_status(&host, &socket).is_ok_and(|status| status.phase == StreamPhase::Idle)
    });
    quit(game, &socket);

    let file = Path::new(url.strip_prefix("file:").unwrap());
    let streams = probe(file);
    assert!(
        streams.iter().any(|s| s.codec == "h264" && s.frames >= 30),
        "{streams:?}"
    );
    let frames = rgb_frames(file, 64, 36);
    assert_eq!(
        frames.last().map(|f| colour_of(f)),
        Some(Colour::Green),
        "the recording ends on the game"
    );

    // "Remember" kept the choice in the user's host.ron, theirs alone.
    let config = dir.path().join("config/bevy_livestream/host.ron");
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.contains("RecordOnly"), "{saved}");
    assert_owner_only(&config);

    // The next time: Go live → Start, no question asked.
    let game = start_game(dir.path(), &screen, &socket, "game-again", &[]);
    go_live_again(&screen);
    wait_for("live again", Duration::from_secs(60), || {
        try_status(&host, &socket).is_ok_and(|status| {
            status.is_live()
                && status
                    .game("snake")
                    .is_some_and(|g| g.frames_streamed >= 15)
        })
    });
    quit(game, &socket);
    let recordings = std::fs::read_dir(&videos).unwrap().count();
    assert_eq!(recordings, 2, "a new file for the second session");
}
