//! The audience's round trip: how long from a viewer's gift until the
//! viewer sees the game react. A viewer posts a gift to a private
//! `livestream-room` over HTTP; the host reads the room's feed
//! (`--interaction`) and hands the gift to `demo-snake` (headless,
//! 640×360 at 30 fps), whose `--gift-flash` turns the whole view white for
//! 200 ms; the plugin captures the frame, the host encodes it (x264
//! `veryfast`) and pushes it to a private nginx-rtmp; `ffmpeg` plays the
//! stream back and decodes it. The time is from just before the post to
//! the first decoded white frame. The gifts are one at a time: the next is
//! posted once the last one's flash was seen and has ended.
//!
//! Legs, all on `CLOCK_MONOTONIC`: post → host (the host's log line for
//! the event, its wall-clock time mapped onto the monotonic clock), host →
//! game (the game's `--gift-flash` log: when it read the gift), game →
//! decoded (render, capture, IPC, encode, RTMP through nginx, decode; the
//! `latency` probe splits this leg further).

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use livestream_e2e::{binary, demo_game};
use livestream_ipc::monotonic_ns;
use livestream_testkit::{NginxRtmp, Reaped, RoomServer, post_json, wait_for};
use livestream_testsrc::pattern;

use super::latency::{percentile, player};
use super::streaming_host_with;
use crate::report::Measured;

pub const WHAT: &str = "viewer's gift posted to livestream-room (HTTP) → host (room feed) → demo-snake headless 640x360@30 flashes white → captured → host x264 veryfast → nginx-rtmp → ffmpeg play + decode; from the post to the first decoded white frame, and its legs";

const SIZE: &str = "640x360";
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
/// The room the viewer posts to.
const ROOM: &str = "show";
/// The longest wait for one gift's flash on the stream before it counts as lost.
const GIFT_TIMEOUT: Duration = Duration::from_secs(10);
/// Quiet time after a flash is seen, longer than a flash lasts (200 ms), so
/// the next gift's flash is never taken for this one's.
const AFTER_FLASH: Duration = Duration::from_millis(600);
/// Mean luma above the frame code band of a flashed frame (white is 235;
/// the game's green board is about 100).
const FLASH_LUMA: f64 = 200.0;

/// One decoded frame of the stream.
struct Decoded {
    /// When it was decoded (`CLOCK_MONOTONIC` ns).
    at: u64,
    /// The game frame it shows, from its frame code.
    code: Option<u32>,
    /// Whether it shows a gift's flash.
    flash: bool,
}

/// One gift's times (`CLOCK_MONOTONIC` ns).
struct Gift {
    id: String,
    posted: u64,
    /// The first decoded frame showing the flash, and its frame code.
    seen: Option<(u64, Option<u32>)>,
}

pub fn run(dir: &Path, gifts: usize) -> Measured {
    let nginx = NginxRtmp::start(&dir.join("nginx"));
    let url = nginx.url("roundtrip");
    let room = RoomServer::start(&binary("livestream-room"), &[]);
    let host = streaming_host_with(
        dir,
        &url,
        SIZE,
        "none",
        &["--interaction", &room.source(ROOM)],
        &[
            ("RUST_LOG", "info,livestream_host::audience=debug"),
            ("NO_COLOR", "1"),
        ],
    );
    let codes = dir.join("codes.txt");
    let flashes = dir.join("gifts.txt");
    let lifetime = (gifts as u64 * GIFT_TIMEOUT.as_secs() + 120).to_string();
    let _game = demo_game(
        dir,
        &host,
        "snake",
        "game",
        &[
            "--headless",
            "--size",
            SIZE,
            "--fps",
            "30",
            "--duration",
            &lifetime,
            "--frame-code",
            &codes.to_string_lossy(),
            "--gift-flash",
            &flashes.to_string_lossy(),
        ],
    );
    host.wait_games(1);
    wait_for("the host reading the room", Duration::from_secs(30), || {
        host.status()
            .audience
            .sources
            .iter()
            .any(|s| s.state == livestream_interaction::SourceState::Connected)
    });
    host.ctl(&["go-live"]);
    host.ctl(&["show", "snake"]);
    let (player, frames) = play(dir, &url);
    // Playback is live once frames arrive at the stream's pace.
    let first = frames
        .recv_timeout(Duration::from_secs(30))
        .expect("ffmpeg decoded nothing from the ingest (see player.log)");
    next_frame(&frames, |frame| frame.at >= first.at + 2_000_000_000);

    let post_url = room.http(&format!("/rooms/{ROOM}/post"));
    let mut timed = Vec::with_capacity(gifts);
    for n in 0..gifts {
        let posted = monotonic_ns();
        let body = format!(r#"{{"type":"gift","user":"viewer{n}","gift":"rose"}}"#);
        let (status, answer) = post_json(&post_url, &body, None);
        assert_eq!(status, 200, "the room refused a gift: {answer}");
        let id = answer["id"].as_str().expect("the gift's id").to_owned();
        let seen = next_frame(&frames, |frame| frame.flash && frame.at > posted)
            .map(|frame| (frame.at, frame.code));
        let quiet_from = seen.map_or_else(monotonic_ns, |(at, _)| at);
        next_frame(&frames, |frame| {
            frame.at >= quiet_from + AFTER_FLASH.as_nanos() as u64
        });
        timed.push(Gift { id, posted, seen });
    }
    drop(player);
    let host_log = std::fs::read_to_string(dir.join("host.log")).expect("host log");
    let reached_host = host_receipts(&host_log, wall_to_monotonic_offset());
    let reached_game = game_receipts(&std::fs::read_to_string(&flashes).expect("gift log"));
    figures(&timed, &reached_host, &reached_game)
}

/// Plays `url` back with `ffmpeg` (low-delay flags) on a thread that
/// decodes every frame's code and flash; the frames arrive on the channel.
fn play(dir: &Path, url: &str) -> (Reaped, Receiver<Decoded>) {
    let mut player = player(dir, url);
    let mut stdout = player.take_stdout().expect("ffmpeg stdout");
    let (sender, frames) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        let mut frame = vec![0u8; (WIDTH * HEIGHT) as usize];
        while stdout.read_exact(&mut frame).is_ok() {
            let decoded = Decoded {
                at: monotonic_ns(),
                code: pattern::read_counter(&frame, WIDTH, HEIGHT, WIDTH as usize),
                flash: flashed(&frame, WIDTH as usize, HEIGHT as usize),
            };
            if sender.send(decoded).is_err() {
                break;
            }
        }
    });
    (player, frames)
}

/// Whether a gray frame shows the flash: the picture above the frame code
/// band (the bottom eighth) is white.
fn flashed(gray: &[u8], width: usize, height: usize) -> bool {
    let above = &gray[..width * (height - height / 8)];
    let mean = above.iter().map(|&v| f64::from(v)).sum::<f64>() / above.len().max(1) as f64;
    mean > FLASH_LUMA
}

/// The next decoded frame that `wanted` accepts (the ones before it are
/// taken); `None` when none came within [`GIFT_TIMEOUT`].
fn next_frame(frames: &Receiver<Decoded>, wanted: impl Fn(&Decoded) -> bool) -> Option<Decoded> {
    let deadline = Instant::now() + GIFT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match frames.recv_timeout(left) {
            Ok(frame) if wanted(&frame) => return Some(frame),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Wall-clock ns minus monotonic ns now: added to a monotonic time it
/// gives the wall-clock time, so log times can be compared with ours.
fn wall_to_monotonic_offset() -> i128 {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    wall - i128::from(monotonic_ns())
}

/// When the host took each event in (its `audience event received` debug
/// lines: an RFC 3339 time first, then `id=ID`), on the monotonic clock.
fn host_receipts(log: &str, offset: i128) -> HashMap<String, u64> {
    log.lines()
        .filter(|line| line.contains("audience event received"))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let time: jiff::Timestamp = words.next()?.parse().ok()?;
            let id = words.find_map(|w| w.strip_prefix("id="))?;
            let monotonic = time.as_nanosecond() - offset;
            Some((id.to_owned(), u64::try_from(monotonic).ok()?))
        })
        .collect()
}

/// When the game read each gift and in which frame it flashed, from its
/// `--gift-flash` log (`ID FRAME NS` lines).
fn game_receipts(log: &str) -> HashMap<String, (u32, u64)> {
    log.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let id = words.next()?;
            let frame: u64 = words.next()?.parse().ok()?;
            let at = words.next()?.parse().ok()?;
            // The frame code carries the low 24 bits of the frame number.
            Some((id.to_owned(), ((frame & 0xff_ffff) as u32, at)))
        })
        .collect()
}

/// The round trip and its legs (p50 / p95 ms), how many gifts were timed,
/// and the samples for the plots.
fn figures(
    gifts: &[Gift],
    reached_host: &HashMap<String, u64>,
    reached_game: &HashMap<String, (u32, u64)>,
) -> Measured {
    let ms = |from: u64, to: u64| (to as f64 - from as f64) / 1e6;
    let mut legs: [(&str, Vec<f64>); 4] = [
        ("room_to_host", Vec::new()),
        ("host_to_game", Vec::new()),
        ("game_to_viewer", Vec::new()),
        ("round_trip", Vec::new()),
    ];
    let mut code_matches = 0usize;
    for gift in gifts {
        let Some((seen, code)) = gift.seen else {
            continue;
        };
        let (Some(&host), Some(&(frame, game))) =
            (reached_host.get(&gift.id), reached_game.get(&gift.id))
        else {
            continue;
        };
        code_matches += usize::from(code.is_some_and(|code| code >= frame));
        for (leg, value) in legs.iter_mut().zip([
            ms(gift.posted, host),
            ms(host, game),
            ms(game, seen),
            ms(gift.posted, seen),
        ]) {
            leg.1.push(value);
        }
    }
    let mut measured = Measured::default();
    let timed = legs[3].1.len();
    measured.set("gifts_posted", gifts.len() as f64);
    measured.set("gifts_timed", timed as f64);
    measured.set(
        "gifts_lost",
        gifts.iter().filter(|g| g.seen.is_none()).count() as f64,
    );
    // The flash seen carries this gift's frame code or a later one: it is
    // this gift's reaction, not a stray white frame.
    measured.set(
        "flash_code_matches_share",
        code_matches as f64 / timed.max(1) as f64,
    );
    for (leg, mut values) in legs {
        if values.is_empty() {
            continue;
        }
        values.sort_by(f64::total_cmp);
        measured.set(&format!("{leg}_p50_ms"), percentile(&values, 0.5));
        measured.set(&format!("{leg}_p95_ms"), percentile(&values, 0.95));
        measured.samples.insert(format!("{leg}_ms"), values);
    }
    assert!(timed > 0, "no gift's reaction was seen on the stream");
    measured
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_white_picture_above_the_band_is_a_flash() {
        let (w, h) = (16, 16);
        let mut frame = vec![235u8; w * h];
        assert!(flashed(&frame, w, h));
        frame[..w * 8].fill(100);
        assert!(!flashed(&frame, w, h));
        // The band itself does not count.
        let mut band_only = vec![100u8; w * h];
        band_only[w * 14..].fill(235);
        assert!(!flashed(&band_only, w, h));
    }

    #[test]
    fn log_lines_give_each_gifts_times() {
        let offset = 1_000_000_000_000_000_000i128;
        let host = "2001-09-09T01:46:41.000250Z DEBUG livestream_host::audience: audience event received id=abc-7 source=room\n\
                    2001-09-09T01:46:41Z  INFO livestream_host: something else id=zzz\n";
        let reached = host_receipts(host, offset);
        assert_eq!(reached.len(), 1);
        assert_eq!(reached["abc-7"], 1_000_250_000);
        let game = game_receipts("abc-7 16777217 1500000000\nnot a line\n");
        assert_eq!(game["abc-7"], (1, 1_500_000_000));
    }

    #[test]
    fn legs_add_up_to_the_round_trip() {
        let gifts = [
            Gift {
                id: "a".into(),
                posted: 1_000_000_000,
                seen: Some((1_200_000_000, Some(41))),
            },
            Gift {
                id: "b".into(),
                posted: 2_000_000_000,
                seen: None,
            },
        ];
        let host = HashMap::from([("a".to_owned(), 1_020_000_000)]);
        let game = HashMap::from([("a".to_owned(), (40, 1_050_000_000))]);
        let measured = figures(&gifts, &host, &game);
        let f = |name: &str| measured.figures[name];
        assert_eq!(f("gifts_lost"), 1.0);
        assert_eq!(f("gifts_timed"), 1.0);
        assert_eq!(f("room_to_host_p50_ms"), 20.0);
        assert_eq!(f("host_to_game_p50_ms"), 30.0);
        assert_eq!(f("game_to_viewer_p50_ms"), 150.0);
        assert_eq!(f("round_trip_p50_ms"), 200.0);
        assert_eq!(f("flash_code_matches_share"), 1.0);
    }
}
