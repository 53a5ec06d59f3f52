//! The real GStreamer pipeline writing files and publishing to a real nginx-rtmp;
//! what was written is decoded back with ffprobe/ffmpeg.

use std::time::{Duration, Instant};

use livestream_ipc::monotonic_ns;
use livestream_media::{MediaConfig, MediaEvent, MicSource, Output, Streamer, VideoFrame};
use livestream_protocol::{AudioChunkHeader, PixelFormat, VideoFrameHeader};
use livestream_testkit::{NginxRtmp, frame_counters, keyframe_times, probe};
use livestream_testsrc::{pattern, tone::Tone};

const W: u32 = 320;
const H: u32 = 180;
const FPS: u32 = 15;

fn config(outputs: &[String], mic: MicSource) -> MediaConfig {
    MediaConfig {
        width: W,
        height: H,
        fps: FPS,
        video_kbps: 600,
        x264_preset: "ultrafast".into(),
        mic,
        outputs: outputs.iter().map(|o| Output::parse(o).unwrap()).collect(),
        ..MediaConfig::default()
    }
}

/// A test-pattern frame from game `source` with counter `n`.
fn pattern_frame(source: u64, n: u64) -> VideoFrame {
    let i420 = pattern::rgba_to_i420(&pattern::render_rgba(W, H, n), W, H);
    let header = VideoFrameHeader {
        frame_number: n,
        timestamp_ns: monotonic_ns(),
        ..VideoFrameHeader::packed(PixelFormat::I420, W, H)
    };
    VideoFrame::new(source, header, i420)
}

/// Feeds `seconds` of frames (and tone) from `source` at the capture rate.
fn feed(streamer: &Streamer, source: u64, first: u64, seconds: f64, tone: &mut Tone) -> u64 {
    let interval = Duration::from_secs_f64(1.0 / f64::from(FPS));
    let frames = (seconds * f64::from(FPS)) as u64;
    let start = Instant::now();
    for i in 0..frames {
        let frame = pattern_frame(source, first + i);
        streamer.submit_frame(frame);
        let samples = 48_000 / FPS;
        let header = AudioChunkHeader {
            sample_rate: 48_000,
            channels: 2,
            frames: samples,
            timestamp_ns: monotonic_ns(),
            sequence: i,
        };
        streamer.submit_audio(source, &header, &tone.next_chunk(samples));
        let due = start + interval * (i as u32 + 1);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    first + frames
}

#[test]
fn files_keep_a_constant_rate_through_a_switch_and_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let flv = dir.path().join("out.flv");
    let mkv = dir.path().join("out.mkv");
    let mp4 = dir.path().join("out.mp4");
    let outputs = [
        format!("file:{}", flv.display()),
        format!("file:{}", mkv.display()),
        format!("file:{}", mp4.display()),
    ];
    let streamer = Streamer::start(config(&outputs, MicSource::TestTone)).unwrap();
    let mut tone = Tone::new(440.0, 48_000, 2, 0.3);
    let started = Instant::now();
    feed(&streamer, 1, 0, 1.0, &mut tone); // game A
    feed(&streamer, 2, 1000, 1.0, &mut tone); // switch to game B
    std::thread::sleep(Duration::from_secs(1)); // nothing shown: repeats
    feed(&streamer, 1, 100, 1.0, &mut tone); // back to A
    let elapsed = started.elapsed().as_secs_f64();
    let stats = streamer.stats();
    let pushed = stats
        .frames_pushed
        .load(std::sync::atomic::Ordering::Relaxed);
    let repeated = stats
        .frames_repeated
        .load(std::sync::atomic::Ordering::Relaxed);
    let keyframes = stats
        .keyframes_forced
        .load(std::sync::atomic::Ordering::Relaxed);
    let encoded = stats
        .bytes_encoded
        .load(std::sync::atomic::Ordering::Relaxed);
    streamer.stop(Duration::from_secs(10)).unwrap();
    let flv_len = std::fs::metadata(&flv).unwrap().len();
    assert!(
        encoded < flv_len && encoded > flv_len / 2,
        "the bytes encoded while live ({encoded}) are most of the FLV ({flv_len})"
    );

    assert!(
        repeated >= 10,
        "the gap was filled with repeats ({repeated})"
    );
    assert_eq!(keyframes, 2, "one keyframe per switch");
    // Every container, finalised on stop: the fragmented MP4 ends with its
    // fragment index.
    assert!(
        livestream_testkit::mp4::is_finalised(&mp4),
        "{:?}",
        livestream_testkit::mp4::top_level_boxes(&mp4)
    );
    for file in [&flv, &mkv, &mp4] {
        let streams = probe(file);
        let video = streams
            .iter()
            .find(|s| s.codec == "h264")
            .expect("h264 video");
        assert!(
            streams.iter().any(|s| s.codec == "aac"),
            "aac audio in {streams:?}"
        );
        assert_eq!((video.width, video.height), (u64::from(W), u64::from(H)));
        // Constant rate: one output frame per tick for the whole run.
        let expected = elapsed * f64::from(FPS);
        assert!(
            (video.frames as f64 - expected).abs() <= 4.0,
            "{} frames for {elapsed:.2}s at {FPS} fps in {}",
            video.frames,
            file.display()
        );
        // `pushed` was read just before stop: the pump may add a frame or two after it.
        assert!(
            (pushed..=pushed + 2).contains(&video.frames),
            "every pushed frame was written: {} written, {pushed} pushed before stop",
            video.frames
        );
    }

    // What viewers saw, frame by frame: A's counters, B's, B's last repeated, A's again.
    let counters: Vec<u32> = frame_counters(&flv, W, H).into_iter().flatten().collect();
    let first_b = counters
        .iter()
        .position(|&c| c >= 1000)
        .expect("game B shown");
    let back_to_a = counters[first_b..]
        .iter()
        .position(|&c| (100..1000).contains(&c))
        .map(|p| p + first_b)
        .expect("game A shown again");
    assert!(
        counters[..first_b].iter().all(|&c| c < 100),
        "only A before the switch"
    );
    assert!(counters[..first_b].windows(2).all(|w| w[1] >= w[0]));
    let b_part = &counters[first_b..back_to_a];
    assert!(b_part.iter().all(|&c| c >= 1000));
    let repeats = b_part.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(
        repeats >= 10,
        "the gap shows B's last frame repeated ({repeats})"
    );
}

#[test]
fn video_starts_with_the_stream_before_any_game_frame() {
    let dir = tempfile::tempdir().unwrap();
    let mkv = dir.path().join("out.mkv");
    let streamer = Streamer::start(config(
        &[format!("file:{}", mkv.display())],
        MicSource::None,
    ))
    .unwrap();
    let pushed = |streamer: &Streamer| {
        streamer
            .stats()
            .frames_pushed
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    // No game shown yet: the slate goes out at the output rate.
    let deadline = Instant::now() + Duration::from_secs(20);
    while pushed(&streamer) < u64::from(FPS) {
        assert!(Instant::now() < deadline, "no slate pushed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let slates = pushed(&streamer);
    let mut tone = Tone::new(440.0, 48_000, 2, 0.3);
    feed(&streamer, 1, 0, 1.0, &mut tone);
    let keyframes = streamer
        .stats()
        .keyframes_forced
        .load(std::sync::atomic::Ordering::Relaxed);
    streamer.stop(Duration::from_secs(10)).unwrap();

    assert_eq!(keyframes, 0, "the slate is no switch between games");
    let counters = frame_counters(&mkv, W, H);
    let first_game = counters
        .iter()
        .position(Option::is_some)
        .expect("the game's frames follow the slate");
    assert!(
        first_game as u64 >= slates.saturating_sub(1),
        "{first_game} frames before the game's, {slates} slates pushed"
    );
    assert!(
        counters[first_game..]
            .iter()
            .filter(|c| c.is_some())
            .count()
            >= 10,
        "{counters:?}"
    );
}

#[test]
fn the_stream_is_what_the_platforms_ingest_guides_ask_for() {
    let dir = tempfile::tempdir().unwrap();
    let flv = dir.path().join("out.flv");
    let streamer = Streamer::start(config(
        &[format!("file:{}", flv.display())],
        MicSource::TestTone,
    ))
    .unwrap();
    let mut tone = Tone::new(440.0, 48_000, 2, 0.3);
    feed(&streamer, 1, 0, 4.5, &mut tone);
    streamer.stop(Duration::from_secs(10)).unwrap();
    let streams = probe(&flv);
    let video = streams.iter().find(|s| s.codec == "h264").expect("h264");
    assert_eq!(
        (video.profile.as_str(), video.pix_fmt.as_str()),
        ("High", "yuv420p"),
        "{video:?}"
    );
    let audio = streams.iter().find(|s| s.codec == "aac").expect("aac");
    assert_eq!(
        (audio.profile.as_str(), audio.sample_rate, audio.channels),
        ("LC", 48_000, 2),
        "{audio:?}"
    );
    // A keyframe every 2 s.
    let keyframes = keyframe_times(&flv);
    assert!(keyframes.len() >= 3, "{keyframes:?}");
    for pair in keyframes.windows(2) {
        assert!((pair[1] - pair[0] - 2.0).abs() < 0.1, "{keyframes:?}");
    }
}

#[test]
fn rtmp_output_reaches_a_real_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = NginxRtmp::start(&dir.path().join("nginx"));
    let url = nginx.url("sk_test_key");
    let streamer = Streamer::start(config(&[url], MicSource::None)).unwrap();
    assert_eq!(
        streamer.outputs()[0].to_string(),
        format!("rtmp://127.0.0.1:{}/live/***", nginx.port),
        "the stream key is never shown"
    );
    let mut tone = Tone::new(440.0, 48_000, 2, 0.3);
    feed(&streamer, 1, 0, 2.0, &mut tone);
    streamer.stop(Duration::from_secs(10)).unwrap();
    let recording = nginx.recording("sk_test_key");
    let streams = probe(&recording);
    let video = streams.iter().find(|s| s.codec == "h264").expect("h264");
    assert_eq!((video.width, video.height), (u64::from(W), u64::from(H)));
    assert!(video.frames >= 20, "{} frames recorded", video.frames);
    assert!(streams.iter().any(|s| s.codec == "aac"));
}

#[test]
fn a_restarted_ingest_is_reconnected_while_other_outputs_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let nginx_dir = dir.path().join("nginx");
    let nginx = NginxRtmp::start(&nginx_dir);
    let port = nginx.port;
    let file = dir.path().join("out.mkv");
    let outputs = [nginx.url("reconnect"), format!("file:{}", file.display())];
    let streamer = Streamer::start(config(&outputs, MicSource::None)).unwrap();
    let mut tone = Tone::new(440.0, 48_000, 2, 0.3);
    let started = Instant::now();
    let next = feed(&streamer, 1, 0, 2.0, &mut tone);
    drop(nginx); // the ingest goes away mid-stream
    let restart_at = feed(&streamer, 1, next, 3.0, &mut tone);
    let nginx = NginxRtmp::start_on(&nginx_dir, port);
    feed(&streamer, 1, restart_at, 8.0, &mut tone);
    let elapsed = started.elapsed().as_secs_f64();
    let events: Vec<MediaEvent> = streamer.events().try_iter().collect();
    streamer.stop(Duration::from_secs(10)).unwrap();

    assert!(
        events
            .iter()
            .any(|e| matches!(e, MediaEvent::OutputDown { attempt: 1, .. })),
        "{events:?}"
    );
    let up = events
        .iter()
        .any(|e| matches!(e, MediaEvent::OutputUp { .. }));
    assert!(up, "the output came back: {events:?}");
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, MediaEvent::Error { .. })),
        "{events:?}"
    );
    // The file never stopped.
    let video = probe(&file)
        .into_iter()
        .find(|s| s.codec == "h264")
        .unwrap();
    let expected = elapsed * f64::from(FPS);
    assert!(
        (video.frames as f64 - expected).abs() <= 5.0,
        "{} frames",
        video.frames
    );
    // The ingest recorded again after its restart.
    let counters = frame_counters(&nginx.recording("reconnect"), W, H);
    let latest = counters.into_iter().flatten().max().unwrap_or(0);
    assert!(
        u64::from(latest) > restart_at,
        "recording resumed after the restart (latest counter {latest}, restart at {restart_at})"
    );
}

#[test]
fn an_unwritable_output_is_an_error_not_a_hang() {
    let outputs = ["file:/nonexistent-dir/out.flv".to_owned()];
    let err = Streamer::start(config(&outputs, MicSource::None)).unwrap_err();
    assert!(err.to_string().contains("cannot start"), "{err}");
}
