//! Frames across the local socket vs memcpy on the same machine, in one run.
//!
//! `cargo bench -p livestream-ipc --bench socket_throughput` prints one JSON
//! object: for 720p and 1080p I420 (and 720p RGBA), frames/s and bytes/s
//! received by the host side, and the ratio to memcpy of the same frame size
//! measured in the same run, both streaming through RAM (fresh frames, the
//! budget's reference) and cache-resident (the same frame again and again).
//! Repeated runs give min/median/max.

use std::time::{Duration, Instant};

use livestream_ipc::{
    LinkConfig, LinkEvent, PayloadPool, Server, ServerConfig, ServerEvent, connect,
};
use livestream_protocol::{Capabilities, GameMessage, Hello, PixelFormat, VideoFrameHeader};

const RUNS: usize = 5;
const RUN_TIME: Duration = Duration::from_millis(1500);

/// memcpy of frame-sized blocks. `hot`: the same two frames over and over
/// (they stay in the CPU cache: cache bandwidth). Otherwise: through 256 MiB
/// of distinct frames, so every copy streams from and to RAM, as a capture's
/// fresh frames do (memory bandwidth).
fn memcpy_bytes_per_sec(frame_len: usize, hot: bool) -> f64 {
    let slots = if hot { 1 } else { (256 << 20) / frame_len + 1 };
    let source = vec![7u8; frame_len * slots];
    let mut target = vec![0u8; frame_len * slots];
    let started = Instant::now();
    let mut copied = 0usize;
    let mut slot = 0;
    while started.elapsed() < RUN_TIME {
        for _ in 0..16 {
            let range = slot * frame_len..(slot + 1) * frame_len;
            target[range.clone()].copy_from_slice(std::hint::black_box(&source[range]));
            std::hint::black_box(&mut target);
            copied += frame_len;
            slot = (slot + 1) % slots;
        }
    }
    copied as f64 / started.elapsed().as_secs_f64()
}

struct SocketRun {
    frames_per_sec: f64,
    bytes_per_sec: f64,
    dropped: u64,
}

fn socket_run(server: &Server, format: PixelFormat, width: u32, height: u32) -> SocketRun {
    let hello = Hello::new(
        "bench",
        std::process::id(),
        Capabilities {
            video_formats: vec![format],
            audio: None,
        },
    );
    let game = connect(
        server.socket(),
        hello,
        &LinkConfig::default(),
        Duration::from_secs(5),
    )
    .expect("connect");
    let host = match server.events().recv_timeout(Duration::from_secs(5)) {
        Ok(ServerEvent::Connected(connected)) => connected,
        other => panic!("no connection: {other:?}"),
    };
    let header = VideoFrameHeader::packed(format, width, height);
    let frame_len = header.payload_len().expect("valid geometry");
    // Frames come from a pool, as a capture's would: the writer thread hands
    // each buffer back once written, so the producer copies nothing.
    let pool = PayloadPool::new(8);
    let outbox = game.link.outbox().clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The producer keeps the media lane topped up, as a capture would when the
    // socket is the bottleneck (it never blocks: the lane drops oldest).
    let producer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let message = GameMessage::VideoFrame(VideoFrameHeader {
                    frame_number: n,
                    ..header
                });
                if outbox
                    .send_with_payload(message, pool.take(frame_len))
                    .is_err()
                {
                    return;
                }
                n += 1;
                // Stay just ahead of the writer so the run measures the
                // socket, not evictions, and leaves the cores to the I/O threads.
                while outbox.backlog().1 >= 2 && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        })
    };
    // Warm up, then count what the host side receives.
    let warmup = Instant::now() + Duration::from_millis(200);
    while Instant::now() < warmup {
        let _ = host.link.recv_timeout(Duration::from_millis(10));
    }
    let started = Instant::now();
    let mut frames = 0u64;
    let mut bytes = 0u64;
    while started.elapsed() < RUN_TIME {
        if let Some(LinkEvent::Message(envelope)) =
            host.link.recv_timeout(Duration::from_millis(50))
        {
            frames += 1;
            bytes += envelope.payload.len() as u64;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    producer.join().expect("producer");
    SocketRun {
        frames_per_sec: frames as f64 / elapsed,
        bytes_per_sec: bytes as f64 / elapsed,
        dropped: game.link.outbox().dropped(),
    }
}

fn stats(mut values: Vec<f64>) -> serde_json::Value {
    values.sort_by(f64::total_cmp);
    serde_json::json!({
        "min": values[0],
        "median": values[values.len() / 2],
        "max": values[values.len() - 1],
    })
}

fn main() {
    let dir = std::env::temp_dir().join(format!("livestream-bench-{}", std::process::id()));
    let server = Server::bind(ServerConfig::new(dir.join("host.sock"))).expect("bind");
    let cases = [
        ("720p_i420", PixelFormat::I420, 1280, 720),
        ("1080p_i420", PixelFormat::I420, 1920, 1080),
        ("720p_rgba", PixelFormat::Rgba8, 1280, 720),
    ];
    let mut report = serde_json::Map::new();
    for (name, format, width, height) in cases {
        let frame_len = VideoFrameHeader::packed(format, width, height)
            .payload_len()
            .expect("valid geometry");
        let (mut fps, mut bps, mut memcpy, mut ratio) = (vec![], vec![], vec![], vec![]);
        let (mut memcpy_hot, mut ratio_hot) = (vec![], vec![]);
        let mut dropped = 0;
        for _ in 0..RUNS {
            let copy = memcpy_bytes_per_sec(frame_len, false);
            let copy_hot = memcpy_bytes_per_sec(frame_len, true);
            let run = socket_run(&server, format, width, height);
            fps.push(run.frames_per_sec);
            bps.push(run.bytes_per_sec);
            memcpy.push(copy);
            memcpy_hot.push(copy_hot);
            ratio.push(run.bytes_per_sec / copy);
            ratio_hot.push(run.bytes_per_sec / copy_hot);
            dropped += run.dropped;
        }
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        eprintln!(
            "{name:>11}: {:>6.0} frames/s, socket {:>5.2} GB/s, memcpy RAM {:>5.2} GB/s \
             (ratio {:.2}), memcpy cached {:>5.2} GB/s (ratio {:.2})",
            median(&fps),
            median(&bps) / 1e9,
            median(&memcpy) / 1e9,
            median(&ratio),
            median(&memcpy_hot) / 1e9,
            median(&ratio_hot),
        );
        report.insert(
            name.to_owned(),
            serde_json::json!({
                "frame_bytes": frame_len,
                "bytes_per_pixel": frame_len as f64 / f64::from(width * height),
                "frames_per_sec": stats(fps),
                "socket_bytes_per_sec": stats(bps),
                "memcpy_ram_bytes_per_sec": stats(memcpy),
                "socket_to_memcpy_ram_ratio": stats(ratio),
                "memcpy_cached_bytes_per_sec": stats(memcpy_hot),
                "socket_to_memcpy_cached_ratio": stats(ratio_hot),
                "frames_dropped_by_sender": dropped,
                "runs": RUNS,
            }),
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", serde_json::Value::Object(report));
}
