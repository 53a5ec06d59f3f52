//! Frames across the local socket vs memcpy on the same machine, in one run:
//! for 720p and 1080p I420 (and 720p RGBA), bytes per second received by the
//! host side over the bytes per second of memcpy of the same frame size,
//! both through RAM (fresh frames: the budget's reference) and cache-resident
//! (the same frame again and again).

use std::path::Path;
use std::time::{Duration, Instant};

use livestream_ipc::{
    LinkConfig, LinkEvent, PayloadPool, Server, ServerConfig, ServerEvent, connect,
};
use livestream_protocol::{Capabilities, GameMessage, Hello, PixelFormat, VideoFrameHeader};

use crate::report::Measured;

pub const WHAT: &str = "frames through the local socket (pooled payloads, host side draining) vs memcpy of the same size through RAM and cache-resident, in one run";

const RUN_TIME: Duration = Duration::from_millis(1500);

pub fn run(dir: &Path) -> Measured {
    let server = Server::bind(ServerConfig::new(dir.join("host.sock"))).expect("bind");
    let cases = [
        ("720p_i420", PixelFormat::I420, 1280, 720),
        ("1080p_i420", PixelFormat::I420, 1920, 1080),
        ("720p_rgba", PixelFormat::Rgba8, 1280, 720),
    ];
    let mut measured = Measured::default();
    for (name, format, width, height) in cases {
        let frame_len = VideoFrameHeader::packed(format, width, height)
            .payload_len()
            .expect("valid geometry");
        let copy = memcpy_bytes_per_sec(frame_len, false);
        let copy_hot = memcpy_bytes_per_sec(frame_len, true);
        let socket = socket_run(&server, format, width, height);
        measured.set(&format!("{name}_frames_per_s"), socket.frames_per_sec);
        measured.set(
            &format!("{name}_socket_gb_per_s"),
            socket.bytes_per_sec / 1e9,
        );
        measured.set(&format!("{name}_memcpy_ram_gb_per_s"), copy / 1e9);
        measured.set(
            &format!("{name}_to_memcpy_ram"),
            socket.bytes_per_sec / copy,
        );
        measured.set(
            &format!("{name}_to_memcpy_cached"),
            socket.bytes_per_sec / copy_hot,
        );
        measured.set(&format!("{name}_dropped_by_sender"), socket.dropped as f64);
    }
    measured
}

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
