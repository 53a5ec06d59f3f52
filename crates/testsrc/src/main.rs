//! `livestream-testsrc`: connects to the host like a game and sends moving
//! colour bars with a burned-in frame counter, plus a sine tone.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use livestream_ipc::{
    ConnectError, LinkConfig, LinkEvent, LinkToHost, QueueError, connect, monotonic_ns,
    resolve_socket_path,
};
use livestream_protocol::{
    AudioChunkHeader, AudioFormat, Capabilities, DisplayReason, DisplayReport, GameMessage, Hello,
    HostMessage, MediaRequest, MicChoice, PixelFormat, VideoFrameHeader, Visibility,
};
use livestream_testsrc::{pattern, sync_marks::SyncMarks, tone::Tone};
use serde::Serialize;
use tracing::{info, warn};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    I420,
    Rgba,
}

/// Sends a test pattern and a tone to livestream-host, like a game would.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Host socket (default: the `LIVESTREAM_SOCKET` variable, then the per-user default).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Name announced to the host.
    #[arg(long, default_value = "testsrc")]
    name: String,
    /// Frame size as width x height, e.g. 320x180 (even numbers for I420).
    #[arg(long, default_value = "320x180", value_parser = parse_size)]
    size: (u32, u32),
    /// Frames per second.
    #[arg(long, default_value_t = 15)]
    fps: u32,
    /// Pixel format sent.
    #[arg(long, value_enum, default_value_t = Format::I420)]
    format: Format,
    /// Tone frequency in Hz (0: no audio).
    #[arg(long, default_value_t = 440.0)]
    tone: f32,
    /// Audio samples per second, as a sound card at another rate sends them.
    #[arg(long, default_value_t = 48_000)]
    audio_rate: u32,
    /// Audio channels (1: mono).
    #[arg(long, default_value_t = 2)]
    audio_channels: u16,
    /// Stop after this many seconds (default: run until the host goes away).
    #[arg(long)]
    duration: Option<f64>,
    /// Report itself shown at start (otherwise hidden until the host shows it).
    #[arg(long)]
    shown: bool,
    /// Send media right away instead of waiting for the host to ask.
    #[arg(long)]
    always_send: bool,
    /// Ask the host to go live once connected.
    #[arg(long)]
    go_live: bool,
    /// First frame number (and burned-in counter), so tests can tell sources apart.
    #[arg(long, default_value_t = 0)]
    first_frame: u64,
    /// Append every audience event received to this file, one JSON line each
    /// (`{"backlog": bool, "event": {…}}`), so tests can check delivery.
    #[arg(long)]
    audience_log: Option<PathBuf>,
    /// Append `FRAME_NUMBER TIMESTAMP_NS` (`CLOCK_MONOTONIC`) for every frame sent,
    /// so a benchmark can tell when each burned-in counter left the game.
    #[arg(long)]
    frame_log: Option<PathBuf>,
    /// A/V sync marks instead of the tone: every this many seconds the picture
    /// turns white and a click starts at the same capture instant.
    #[arg(long)]
    flash_every: Option<f64>,
    /// Keep trying to connect for this many seconds.
    #[arg(long, default_value_t = 10.0)]
    connect_timeout: f64,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = livestream_protocol::parse_frame_size(text)?;
    if w < 32 || h < 16 {
        return Err(format!("size {w}x{h} below 32x16 (the counter needs room)"));
    }
    Ok((w, h))
}

/// Printed as JSON on exit.
#[derive(Debug, Default, Serialize)]
struct Report {
    game_id: u64,
    frames_sent: u64,
    frames_dropped: u64,
    audio_chunks_sent: u64,
    audience_events: u64,
    seconds: f64,
    end: String,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if matches!(args.format, Format::I420) && (args.size.0 % 2 != 0 || args.size.1 % 2 != 0) {
        eprintln!(
            "livestream-testsrc: I420 needs an even size, got {}x{}",
            args.size.0, args.size.1
        );
        return std::process::ExitCode::from(2);
    }
    match run(&args) {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("livestream-testsrc: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn connect_with_retry(args: &Args) -> Result<livestream_ipc::Connection, ConnectError> {
    let socket = resolve_socket_path(args.socket.as_deref());
    let deadline = Instant::now() + Duration::from_secs_f64(args.connect_timeout);
    let format = match args.format {
        Format::I420 => PixelFormat::I420,
        Format::Rgba => PixelFormat::Rgba8,
    };
    let mut backoff = Duration::from_millis(50);
    loop {
        let hello = Hello::new(
            args.name.clone(),
            std::process::id(),
            Capabilities {
                video_formats: vec![format],
                audio: (args.tone > 0.0 || args.flash_every.is_some()).then_some(AudioFormat {
                    sample_rate: args.audio_rate,
                    channels: args.audio_channels,
                }),
            },
        );
        match connect(
            &socket,
            hello,
            &LinkConfig::default(),
            Duration::from_secs(5),
        ) {
            Ok(connection) => return Ok(connection),
            Err(err) if err.is_transient() && Instant::now() + backoff < deadline => {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
            Err(err) => return Err(err),
        }
    }
}

fn report_display(
    link: &LinkToHost,
    visibility: Visibility,
    reason: DisplayReason,
) -> Result<(), QueueError> {
    link.outbox().send(GameMessage::Display(DisplayReport {
        visibility,
        reason,
        timestamp_ns: monotonic_ns(),
    }))
}

/// A buffered log file, when one was asked for.
fn create_log(
    path: Option<&std::path::Path>,
) -> std::io::Result<Option<std::io::BufWriter<std::fs::File>>> {
    path.map(std::fs::File::create)
        .transpose()
        .map(|file| file.map(std::io::BufWriter::new))
}

/// Appends audience events to the log, flushed so a test can read them at once.
fn log_audience(
    log: Option<&mut std::io::BufWriter<std::fs::File>>,
    backlog: bool,
    events: &[livestream_protocol::AudienceEvent],
) -> std::io::Result<()> {
    use std::io::Write as _;
    let Some(log) = log else { return Ok(()) };
    for event in events {
        serde_json::to_writer(
            &mut *log,
            &serde_json::json!({"backlog": backlog, "event": event}),
        )?;
        log.write_all(b"\n")?;
    }
    log.flush()
}

fn run(args: &Args) -> Result<Report, Box<dyn std::error::Error>> {
    let connection = connect_with_retry(args)?;
    let link = connection.link;
    info!(game_id = connection.game_id, host = %connection.host_version, "connected");
    let mut report = Report {
        game_id: connection.game_id,
        ..Report::default()
    };
    let initial = if args.shown {
        Visibility::Shown
    } else {
        Visibility::Hidden
    };
    report_display(&link, initial, DisplayReason::Startup)?;
    if args.go_live {
        link.outbox().send(GameMessage::GoLive {
            mic: MicChoice::Off,
        })?;
    }

    let (width, height) = args.size;
    let format = match args.format {
        Format::I420 => PixelFormat::I420,
        Format::Rgba => PixelFormat::Rgba8,
    };
    let mut wanted = MediaRequest {
        video: args.always_send,
        audio: args.always_send,
        fps: args.fps,
    };
    let (sample_rate, channels) = (args.audio_rate, args.audio_channels);
    let mut tone = Tone::new(args.tone, sample_rate, channels, 0.25);
    let mut marks = args
        .flash_every
        .map(|seconds| SyncMarks::new((seconds * 1e9) as u64));
    let sends_audio = args.tone > 0.0 || marks.is_some();
    let started = Instant::now();
    let end = args.duration.map(|s| started + Duration::from_secs_f64(s));
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.fps.max(1)));
    let samples_per_tick = sample_rate / args.fps.max(1);
    let mut next_tick = Instant::now();
    let mut audio_ts: Option<u64> = None;
    let mut frame_number = args.first_frame;
    let mut frame_log = create_log(args.frame_log.as_deref())?;
    let mut audience_log = create_log(args.audience_log.as_deref())?;

    report.end = loop {
        for event in link.drain() {
            match event {
                LinkEvent::Message(envelope) => match envelope.message {
                    HostMessage::Media(request) => wanted = request,
                    HostMessage::SetVisibility(visibility) => {
                        report_display(&link, visibility, DisplayReason::HostCommand)?;
                    }
                    HostMessage::Ping { nonce } => {
                        link.outbox().send(GameMessage::Pong { nonce })?;
                    }
                    HostMessage::StreamState(state) => info!(phase = ?state.phase, "stream state"),
                    HostMessage::Audience(event) => {
                        report.audience_events += 1;
                        log_audience(audience_log.as_mut(), false, &[event])?;
                    }
                    HostMessage::Backlog { events, .. } => {
                        report.audience_events += events.len() as u64;
                        log_audience(audience_log.as_mut(), true, &events)?;
                    }
                    other => tracing::debug!(?other, "ignored"),
                },
                LinkEvent::Closed(reason) => {
                    warn!("host link closed: {reason}");
                    report.seconds = started.elapsed().as_secs_f64();
                    report.frames_dropped = link.outbox().dropped();
                    report.end = format!("host closed: {reason}");
                    return Ok(report);
                }
            }
        }
        if end.is_some_and(|end| Instant::now() >= end) {
            break "duration reached".to_owned();
        }
        let now = Instant::now();
        if now < next_tick {
            std::thread::sleep((next_tick - now).min(Duration::from_millis(20)));
            continue;
        }
        next_tick += interval;
        if next_tick < now {
            next_tick = now + interval; // fell behind: skip, do not burst
        }
        let timestamp_ns = monotonic_ns();
        if wanted.video {
            let rgba = if marks.as_mut().is_some_and(|m| m.flash(timestamp_ns)) {
                vec![255; (width * height * 4) as usize]
            } else {
                pattern::render_rgba(width, height, frame_number)
            };
            let pixels = match format {
                PixelFormat::I420 => pattern::rgba_to_i420(&rgba, width, height),
                PixelFormat::Rgba8 => rgba,
            };
            let header = VideoFrameHeader {
                timestamp_ns,
                frame_number,
                ..VideoFrameHeader::packed(format, width, height)
            };
            link.outbox()
                .send_with_payload(GameMessage::VideoFrame(header), pixels)?;
            if let Some(log) = frame_log.as_mut() {
                use std::io::Write as _;
                writeln!(log, "{frame_number} {timestamp_ns}")?;
                log.flush()?;
            }
            report.frames_sent += 1;
            frame_number += 1;
        }
        if wanted.audio && sends_audio {
            // Keep the audio timeline continuous; resync only after a stall.
            let continuous = audio_ts.unwrap_or(timestamp_ns);
            let start = if continuous.abs_diff(timestamp_ns) > 100_000_000 {
                timestamp_ns
            } else {
                continuous
            };
            let header = AudioChunkHeader {
                sample_rate,
                channels,
                frames: samples_per_tick,
                timestamp_ns: start,
                sequence: report.audio_chunks_sent,
            };
            audio_ts =
                Some(start + u64::from(samples_per_tick) * 1_000_000_000 / u64::from(sample_rate));
            let samples = match &marks {
                Some(marks) => marks.audio(start, samples_per_tick, sample_rate, channels),
                None => tone.next_chunk(samples_per_tick),
            };
            link.outbox()
                .send_with_payload(GameMessage::AudioChunk(header), samples)?;
            report.audio_chunks_sent += 1;
        }
    };
    link.outbox().send(GameMessage::Goodbye {
        reason: report.end.clone(),
    })?;
    if !link.flush(Duration::from_secs(1)) {
        warn!("goodbye not flushed within 1 s");
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.frames_dropped = link.outbox().dropped();
    Ok(report)
}
