//! The audience overlay and the Go-live UI are on the player's screen and
//! never in the stream: a demo game in a real window (Xvfb), its overlay
//! full of chat, streamed by the real host to a file. A screenshot of the
//! window shows the overlay; not one frame the host recorded does.

use std::time::Duration;

use livestream_control::StreamPhase;
use livestream_e2e::{Colour, Host, colour_of, demo_game_with, wait_for_picture};
use livestream_testkit::{Xvfb, rgb_frames, wait_for};

const SCREEN: (u32, u32) = (640, 360);
/// Where the overlay opens (window coordinates): the chat panel's body.
const OVERLAY: (std::ops::Range<u32>, std::ops::Range<u32>) = (20..280, 60..300);

/// Share of the overlay's area covered by the panel: dark pixels.
fn panel_share(rgb: &[u8], width: u32, scale: u32) -> f64 {
    let (xs, ys) = (
        OVERLAY.0.start / scale..OVERLAY.0.end / scale,
        OVERLAY.1.start / scale..OVERLAY.1.end / scale,
    );
    let total = (xs.len() * ys.len()) as f64;
    let dark = ys
        .flat_map(|y| xs.clone().map(move |x| ((y * width + x) * 3) as usize))
        .filter(|&i| rgb[i..i + 3].iter().all(|&c| c < 60))
        .count();
    dark as f64 / total
}

#[test]
fn overlay_is_on_screen_and_never_in_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let screen = Xvfb::start(SCREEN.0, SCREEN.1);
    let (mut host, recording) = Host::recording(dir.path(), "none", &[]);
    let display = screen.display();
    let mut game = demo_game_with(
        dir.path(),
        &host,
        "snake",
        "snake",
        &["--size", &format!("{}x{}", SCREEN.0, SCREEN.1)],
        &[("DISPLAY", display.as_str())],
    );
    host.wait_games(1);
    host.ctl(&["go-live"]);
    host.ctl(&["show", "snake"]);
    for n in 0..30 {
        host.ctl(&["say", "--user", "viewer", &format!("overlay line {n}")]);
    }
    host.ctl(&["gift", "--user", "fan", "rose", "--count", "5"]);

    // The player sees the overlay: the panel covers its corner of the window.
    let mut seen = 0.0;
    wait_for("the overlay on screen", Duration::from_secs(60), || {
        seen = panel_share(&screen.grab_rgb(), SCREEN.0, 1);
        seen > 0.5
    });
    // Keep streaming a while with the overlay up, from when the game's
    // picture is in the stream.
    wait_for_picture(&recording, Colour::Green);
    std::thread::sleep(Duration::from_secs(3));
    let status = host.status();
    assert_eq!(status.phase, StreamPhase::Live, "{status:?}");
    host.ctl(&["stop"]);
    wait_for("the stream to stop", Duration::from_secs(20), || {
        host.status().phase == StreamPhase::Idle
    });
    game.signal("INT");
    game.wait_timeout(Duration::from_secs(20));
    assert_eq!(host.process.wait_timeout(Duration::from_secs(30)), Some(0));

    // The stream shows the game, never the panel.
    let (w, h) = (SCREEN.0 / 10, SCREEN.1 / 10);
    let frames = rgb_frames(&recording, w, h);
    let green = frames
        .iter()
        .filter(|f| colour_of(f) == Colour::Green)
        .count();
    assert!(
        green * 2 > frames.len() && frames.len() > 30,
        "{green} of {} frames show the game",
        frames.len()
    );
    // Every frame of the game (not the black slate before its first frame).
    let worst = frames
        .iter()
        .filter(|f| colour_of(f) == Colour::Green)
        .map(|f| panel_share(f, w, 10))
        .fold(0.0, f64::max);
    eprintln!(
        "overlay panel share: on screen {seen:.2}, worst streamed frame {worst:.2} ({green} of {} frames green)",
        frames.len()
    );
    assert!(
        worst < 0.1,
        "the overlay leaked into the stream: {worst:.2} of its area dark in some frame (on screen: {seen:.2})"
    );
}
