//! A real Bevy game (headless, rendered by lavapipe or whatever GPU is
//! present) with the plugin, against a test host built on the ipc crate's
//! server: frames of the tagged camera, game audio from kira, display
//! changes, audience events as Messages, and a host that dies and comes back.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy_livestream::prelude::*;
use bevy_livestream::{Conversion, GameVisibility, PixelFormat};
use common::{LIMIT, SOCKET_FILE, host, test_settings, wait_for_game};
use kira::Frame;
use kira::sound::static_sound::{StaticSoundData, StaticSoundSettings};
use livestream_ipc::{LinkEvent, LinkToGame, Server, monotonic_ns};
use livestream_protocol::{
    AudienceEvent, AudioChunkHeader, DisplayReason, GameMessage, HostMessage, MediaRequest,
    VideoFrameHeader,
};
use livestream_testkit::goertzel_amplitude;

mod common;

const SIZE: UVec2 = UVec2::new(320, 180);
const GAME: &str = "capture-test";

/// BT.601 limited-range Y, U, V of an sRGB colour (as the plugin's shader computes it).
fn yuv(rgb: [f32; 3]) -> [f32; 3] {
    let [r, g, b] = rgb.map(|c| c * 255.0);
    [
        (66.0 * r + 129.0 * g + 25.0 * b + 128.0) / 256.0 + 16.0,
        (-38.0 * r - 74.0 * g + 112.0 * b + 128.0) / 256.0 + 128.0,
        (112.0 * r - 94.0 * g - 18.0 * b + 128.0) / 256.0 + 128.0,
    ]
}

const RED: [f32; 3] = [1.0, 0.0, 0.0];
const BLUE: [f32; 3] = [0.0, 0.0, 1.0];
const GREY: [f32; 3] = [0.5, 0.5, 0.5];

/// A small scene: the streamable camera sees a blue left half (x 0..160), a
/// grey band (x 180..220) and red elsewhere; an untagged camera of higher order draws green to
/// its own image and must never be sent.
fn scene(mut commands: Commands, mut images: ResMut<Assets<Image>>) {
    let srgb = |[r, g, b]: [f32; 3]| Color::srgb(r, g, b);
    commands.spawn((
        Camera2d,
        Camera {
            order: 1,
            clear_color: ClearColorConfig::Custom(srgb(RED)),
            ..default()
        },
        Streamable,
    ));
    commands.spawn((
        Sprite::from_color(srgb(BLUE), Vec2::new(160.0, 180.0)),
        Transform::from_xyz(-80.0, 0.0, 0.0),
    ));
    commands.spawn((
        Sprite::from_color(srgb(GREY), Vec2::new(40.0, 180.0)),
        Transform::from_xyz(40.0, 0.0, 0.0),
    ));
    let other = images.add(Image::new_target_texture(
        64,
        64,
        bevy::render::render_resource::TextureFormat::Rgba8UnormSrgb,
        None,
    ));
    commands.spawn((
        Camera2d,
        Camera {
            order: 2,
            clear_color: ClearColorConfig::Custom(Color::srgb(0.0, 1.0, 0.0)),
            ..default()
        },
        bevy::camera::RenderTarget::Image(other.into()),
    ));
}

fn game(socket: &Path, format: PixelFormat, conversion: Conversion) -> App {
    let mut app = App::new();
    app.add_plugins((
        headless_default_plugins().disable::<LogPlugin>(),
        HeadlessPlugin {
            size: SIZE,
            fps: 60.0,
        },
        LiveStreamPlugin {
            settings: LiveStreamSettings {
                conversion,
                ..test_settings(socket, GAME, format)
            },
            ..default()
        },
    ))
    .add_systems(Startup, scene);
    app.finish();
    app.cleanup();
    app
}

/// A test host in a fresh temp dir and a game connected to it.
fn connected_game(
    format: PixelFormat,
    conversion: Conversion,
) -> (tempfile::TempDir, Server, App, LinkToGame) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join(SOCKET_FILE);
    let server = host(&socket);
    let mut app = game(&socket, format, conversion);
    let link = wait_for_game(&mut app, &server, GAME);
    (dir, server, app, link)
}

/// Everything the game sent, gathered while the game runs until `done` says so.
#[derive(Default)]
struct Received {
    frames: Vec<(VideoFrameHeader, Vec<u8>)>,
    audio: Vec<(AudioChunkHeader, Vec<u8>)>,
    display: Vec<(GameVisibility, DisplayReason)>,
    closed: bool,
}

fn run_until(
    app: &mut App,
    link: &LinkToGame,
    received: &mut Received,
    mut done: impl FnMut(&Received) -> bool,
) {
    let deadline = Instant::now() + LIMIT;
    while !done(received) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the game: {} frames, {} audio chunks, display {:?}",
            received.frames.len(),
            received.audio.len(),
            received.display
        );
        app.update();
        for event in link.drain() {
            match event {
                LinkEvent::Message(envelope) => match envelope.message {
                    GameMessage::VideoFrame(header) => {
                        received.frames.push((header, envelope.payload.into_vec()));
                    }
                    GameMessage::AudioChunk(header) => {
                        received.audio.push((header, envelope.payload.into_vec()));
                    }
                    GameMessage::Display(report) => {
                        received.display.push((report.visibility, report.reason));
                    }
                    _ => {}
                },
                LinkEvent::Closed(_) => received.closed = true,
            }
        }
    }
}

fn plane_mean(plane: &[u8], stride: usize, columns: core::ops::Range<usize>) -> f32 {
    let rows = plane.len() / stride;
    let (mut sum, mut n) = (0f32, 0f32);
    for row in rows / 4..rows * 3 / 4 {
        for x in columns.clone() {
            sum += f32::from(plane[row * stride + x]);
            n += 1.0;
        }
    }
    sum / n
}

/// Whether an I420 frame of [`scene`] shows the sprites: the blue and the
/// grey areas are nearer their own luma than the clear colour's. On a cold
/// machine the first frames show only the clear colour while the sprites'
/// pipeline compiles.
fn sprites_drawn((header, pixels): &(VideoFrameHeader, Vec<u8>)) -> bool {
    let y = &pixels[header.plane_ranges()[0].clone()];
    let stride = header.strides[0] as usize;
    let red = yuv(RED)[0];
    [(BLUE, 20..140), (GREY, 186..214)]
        .into_iter()
        .all(|(colour, columns)| {
            let got = plane_mean(y, stride, columns);
            (got - yuv(colour)[0]).abs() < (got - red).abs()
        })
}

fn assert_close(got: f32, want: f32, what: &str) {
    assert!(
        (got - want).abs() <= 4.0,
        "{what}: got {got:.1}, want {want:.1}"
    );
}

#[test]
fn tagged_camera_audio_and_display_changes_reach_the_host() {
    let (_dir, _server, mut app, link) = connected_game(PixelFormat::I420, Conversion::Auto);
    let mut got = Received::default();

    // Connected but not asked: the first report is the display status, and no media flows.
    run_until(&mut app, &link, &mut got, |r| !r.display.is_empty());
    assert_eq!(
        got.display[0],
        (GameVisibility::Hidden, DisplayReason::Startup)
    );
    for _ in 0..20 {
        run_until(&mut app, &link, &mut got, |_| true);
    }
    assert!(
        got.frames.is_empty() && got.audio.is_empty(),
        "media only when asked"
    );

    // Ask for media; play a tone through the game's kira manager.
    link.outbox()
        .send(HostMessage::Media(MediaRequest {
            video: true,
            audio: true,
            fps: 30,
        }))
        .unwrap();
    let tone: Vec<Frame> = (0..96_000)
        .map(|i| {
            Frame::from_mono((i as f32 * 440.0 * core::f32::consts::TAU / 48_000.0).sin() * 0.5)
        })
        .collect();
    app.world_mut()
        .resource_mut::<GameAudio>()
        .manager()
        .play(StaticSoundData {
            sample_rate: 48_000,
            frames: tone.into(),
            settings: StaticSoundSettings::default(),
            slice: None,
        })
        .unwrap();
    let asked_at = monotonic_ns();
    run_until(&mut app, &link, &mut got, |r| {
        r.frames.len() >= 10 && r.audio.len() >= 20 && r.frames.last().is_some_and(sprites_drawn)
    });

    // Frames: the tagged camera's picture, right size and format, in order.
    for pair in got.frames.windows(2) {
        assert!(
            pair[1].0.timestamp_ns > pair[0].0.timestamp_ns,
            "timestamps increase"
        );
        assert!(
            pair[1].0.frame_number > pair[0].0.frame_number,
            "numbers increase"
        );
    }
    // Every frame is the tagged camera's: never the green of the untagged one.
    let red_y = yuv(RED)[0];
    for (header, pixels) in &got.frames {
        let y = &pixels[header.plane_ranges()[0].clone()];
        assert_close(
            plane_mean(y, 320, 240..310),
            red_y,
            "tagged camera in every frame",
        );
    }
    let (header, pixels) = got.frames.last().unwrap();
    assert_eq!(
        (header.format, header.width, header.height, header.strides),
        (PixelFormat::I420, SIZE.x, SIZE.y, [320, 160, 160])
    );
    assert!(header.timestamp_ns >= asked_at);
    let planes = header.plane_ranges();
    let (y, u, v) = (
        &pixels[planes[0].clone()],
        &pixels[planes[1].clone()],
        &pixels[planes[2].clone()],
    );
    for (colour, columns, name) in [
        (BLUE, 20..140, "blue"),
        (GREY, 186..214, "grey"),
        (RED, 240..310, "red"),
    ] {
        let [want_y, want_u, want_v] = yuv(colour);
        assert_close(
            plane_mean(y, 320, columns.clone()),
            want_y,
            &format!("{name} Y"),
        );
        let half = columns.start / 2..columns.end / 2;
        assert_close(
            plane_mean(u, 160, half.clone()),
            want_u,
            &format!("{name} U"),
        );
        assert_close(plane_mean(v, 160, half), want_v, &format!("{name} V"));
    }
    let bytes_per_pixel = pixels.len() as f64 / f64::from(SIZE.x * SIZE.y);
    assert!(bytes_per_pixel <= 1.5, "{bytes_per_pixel} bytes per pixel");

    // Audio: 48 kHz stereo chunks on a continuous timeline, carrying the tone.
    let first = got.audio[0].0;
    assert_eq!((first.sample_rate, first.channels), (48_000, 2));
    let now = monotonic_ns();
    for pair in got.audio.windows(2) {
        assert!(pair[1].0.sequence == pair[0].0.sequence + 1);
        assert!(pair[1].0.timestamp_ns > pair[0].0.timestamp_ns);
    }
    assert!(
        first.timestamp_ns + 2_000_000_000 > asked_at && first.timestamp_ns < now,
        "audio stamped with the monotonic clock around now"
    );
    let samples: Vec<f32> = got
        .audio
        .iter()
        .flat_map(|(_, bytes)| {
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        })
        .collect();
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.3, "the tone reaches the host (peak {peak})");

    // Show and hide commands come back as display reports, in order.
    for visibility in [
        GameVisibility::Shown,
        GameVisibility::Hidden,
        GameVisibility::Shown,
    ] {
        link.outbox()
            .send(HostMessage::SetVisibility(visibility))
            .unwrap();
    }
    run_until(&mut app, &link, &mut got, |r| r.display.len() >= 4);
    assert_eq!(
        got.display[1..],
        [
            (GameVisibility::Shown, DisplayReason::HostCommand),
            (GameVisibility::Hidden, DisplayReason::HostCommand),
            (GameVisibility::Shown, DisplayReason::HostCommand),
        ]
    );
    let live = app.world().resource::<LiveStream>();
    assert_eq!(live.display.0, GameVisibility::Shown);
    assert!(live.stats.frames_sent >= 10 && live.stats.audio_chunks_sent >= 20);
}

/// The shader (what every GPU runs) and the CPU conversion (what a CPU
/// adapter runs) send the same picture, to within one step per sample.
#[test]
fn gpu_and_cpu_conversions_send_the_same_picture() {
    let picture = |conversion| {
        let (_dir, _server, mut app, link) = connected_game(PixelFormat::I420, conversion);
        link.outbox()
            .send(HostMessage::Media(MediaRequest {
                video: true,
                audio: false,
                fps: 30,
            }))
            .unwrap();
        let mut got = Received::default();
        // The scene's sprites drawn, and the picture settled: the same in
        // two frames in a row.
        run_until(&mut app, &link, &mut got, |r| match &r.frames[..] {
            [.., previous, last] => sprites_drawn(last) && previous.1 == last.1,
            _ => false,
        });
        let stats = app.world().resource::<LiveStream>().stats;
        let (header, pixels) = got.frames.pop().unwrap();
        (header, pixels, stats.frames_converted_on_cpu)
    };
    let (gpu_header, gpu, gpu_converted) = picture(Conversion::Gpu);
    let (cpu_header, cpu, cpu_converted) = picture(Conversion::Cpu);
    assert_eq!(gpu_converted, 0, "the shader converted");
    assert!(cpu_converted > 0, "the CPU converted");
    assert_eq!(
        (gpu_header.width, gpu_header.height, gpu_header.strides),
        (cpu_header.width, cpu_header.height, cpu_header.strides)
    );
    let differences = gpu.iter().zip(&cpu).filter(|(g, c)| g != c).count();
    let worst = gpu.iter().zip(&cpu).map(|(g, c)| g.abs_diff(*c)).max();
    assert!(
        worst <= Some(1),
        "largest difference {worst:?} ({differences} samples differ)"
    );
}

/// What a game system saw of the audience: (id, from the backlog).
#[derive(Resource, Default)]
struct SeenAudience(Vec<(String, bool)>);

fn collect_audience(mut messages: MessageReader<AudienceMessage>, mut seen: ResMut<SeenAudience>) {
    seen.0.extend(
        messages
            .read()
            .map(|m| (m.event.id.clone(), m.from_backlog)),
    );
}

fn chat(id: &str) -> AudienceEvent {
    common::chat(id, &format!("message {id}"))
}

#[test]
fn audience_events_reach_game_systems_as_messages_backlog_first() {
    let (_dir, _server, mut app, link) = connected_game(PixelFormat::I420, Conversion::Auto);
    app.init_resource::<SeenAudience>()
        .add_systems(Update, collect_audience);
    let outbox = link.outbox();
    outbox
        .send(HostMessage::Backlog {
            events: vec![chat("b1"), chat("b2")],
            more: true,
        })
        .unwrap();
    outbox
        .send(HostMessage::Backlog {
            events: vec![chat("b3")],
            more: false,
        })
        .unwrap();
    outbox.send(HostMessage::Audience(chat("live1"))).unwrap();
    let deadline = Instant::now() + LIMIT;
    while app.world().resource::<SeenAudience>().0.len() < 4 {
        assert!(Instant::now() < deadline, "audience events never arrived");
        app.update();
    }
    let seen = &app.world().resource::<SeenAudience>().0;
    let expected = [("b1", true), ("b2", true), ("b3", true), ("live1", false)];
    assert_eq!(
        seen.iter()
            .map(|(id, b)| (id.as_str(), *b))
            .collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        app.world().resource::<LiveStream>().stats.audience_events,
        4
    );
}

#[test]
fn the_game_survives_its_host_and_reconnects() {
    let (dir, server, mut app, link) = connected_game(PixelFormat::Rgba8, Conversion::Auto);
    let socket = dir.path().join(SOCKET_FILE);
    let mut got = Received::default();
    let media = HostMessage::Media(MediaRequest {
        video: true,
        audio: false,
        fps: 30,
    });
    link.outbox().send(media.clone()).unwrap();
    run_until(&mut app, &link, &mut got, |r| r.frames.len() >= 3);
    let (header, pixels) = &got.frames[0];
    assert_eq!(
        (header.format, header.strides[0]),
        (PixelFormat::Rgba8, SIZE.x * 4)
    );
    assert_eq!(pixels.len(), (SIZE.x * SIZE.y * 4) as usize);
    // Far right of the picture is red: R=255, G=0, B=0, A=255.
    let at = (90 * SIZE.x + 300) as usize * 4;
    assert_eq!(&pixels[at..at + 4], &[255, 0, 0, 255]);

    // The host dies: the game keeps running frames without it.
    drop((link, server));
    let before = app.world().resource::<bevy::diagnostic::FrameCount>().0;
    let stalled_until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < stalled_until {
        app.update();
    }
    let after = app.world().resource::<bevy::diagnostic::FrameCount>().0;
    assert!(
        after > before + 5,
        "the game kept running ({before} → {after} frames)"
    );
    assert_eq!(
        app.world().resource::<LiveStream>().connection,
        bevy_livestream::HostConnection::Disconnected
    );

    // A host comes back on the same socket: the game reconnects and streams when asked.
    let server = host(&socket);
    let link = wait_for_game(&mut app, &server, GAME);
    link.outbox().send(media).unwrap();
    let mut again = Received::default();
    run_until(&mut app, &link, &mut again, |r| r.frames.len() >= 3);
    assert_eq!(again.display[0].1, DisplayReason::Startup);
}

/// Amplitude of `frequency` in the last `seconds` of channel `channel` of
/// what the game sent, 0 before that much has arrived.
fn recent_level(got: &Received, channel: usize, frequency: f64, seconds: f64) -> f64 {
    let Some((first, _)) = got.audio.first() else {
        return 0.0;
    };
    let rate = f64::from(first.sample_rate);
    let channels = usize::from(first.channels);
    let samples: Vec<f64> = got
        .audio
        .iter()
        .flat_map(|(_, bytes)| {
            bytes.chunks_exact(4 * channels).map(move |frame| {
                let sample = &frame[4 * channel..4 * channel + 4];
                f64::from(f32::from_le_bytes(sample.try_into().unwrap()))
            })
        })
        .collect();
    let wanted = (rate * seconds) as usize;
    if samples.len() < wanted {
        return 0.0;
    }
    goertzel_amplitude(&samples[samples.len() - wanted..], frequency, rate)
}

/// A game connected to a test host that asks it for audio only.
fn game_asked_for_audio() -> (tempfile::TempDir, Server, App, LinkToGame) {
    let (dir, server, app, link) = connected_game(PixelFormat::I420, Conversion::Auto);
    link.outbox()
        .send(HostMessage::Media(MediaRequest {
            video: false,
            audio: true,
            fps: 30,
        }))
        .unwrap();
    (dir, server, app, link)
}

/// A game that plays only with Bevy's own audio components: its sounds reach
/// the host, and what it does to their `AudioSink` (pause, volume) is what
/// the host hears; a one-shot in `DESPAWN` mode whose asset arrives only
/// after it was spawned (as a file still loading) is heard once it arrives,
/// and then despawned.
#[test]
fn bevy_audio_sounds_reach_the_host_and_obey_their_sink() {
    const TONE: f64 = 660.0;
    const BEEP: f64 = 1_320.0;
    let (_dir, _server, mut app, link) = game_asked_for_audio();
    let world = app.world_mut();
    let (tone, beep_asset) = {
        let mut pitches = world.resource_mut::<Assets<Pitch>>();
        (
            pitches.add(Pitch::new(TONE as f32, Duration::from_secs(1))),
            pitches.reserve_handle(),
        )
    };
    let tone = world
        .spawn((AudioPlayer(tone), PlaybackSettings::LOOP))
        .id();
    let beep = world
        .spawn((AudioPlayer(beep_asset.clone()), PlaybackSettings::DESPAWN))
        .id();
    let mut got = Received::default();
    run_until(&mut app, &link, &mut got, |r| {
        recent_level(r, 0, TONE, 0.2) > 0.2
    });
    assert!(
        app.world().get_entity(beep).is_ok(),
        "a sound waiting for its asset stays"
    );
    app.world_mut()
        .resource_mut::<Assets<Pitch>>()
        .insert(
            &beep_asset,
            Pitch::new(BEEP as f32, Duration::from_millis(300)),
        )
        .unwrap();
    let mut beep_heard = 0f64;
    run_until(&mut app, &link, &mut got, |r| {
        beep_heard = beep_heard.max(recent_level(r, 0, BEEP, 0.1));
        beep_heard > 0.2 && recent_level(r, 0, BEEP, 0.2) < 0.01
    });
    // The tone alone, at full volume.
    let full = recent_level(&got, 0, TONE, 0.2);

    app.world().get::<AudioSink>(tone).unwrap().pause();
    run_until(&mut app, &link, &mut got, |r| {
        recent_level(r, 0, TONE, 0.2) < 0.01
    });

    {
        let mut sink = app.world_mut().get_mut::<AudioSink>(tone).unwrap();
        sink.set_volume(bevy::audio::Volume::Linear(0.25));
        sink.play();
    }
    run_until(&mut app, &link, &mut got, |r| {
        let level = recent_level(r, 0, TONE, 0.2);
        level > 0.2 * full && level < 0.3 * full
    });
    let dropped = app
        .world()
        .resource::<LiveStream>()
        .stats
        .audio_frames_dropped;
    assert!(
        app.world().get_entity(beep).is_err(),
        "the DESPAWN one-shot is gone once played"
    );
    assert_eq!(dropped, 0, "no audio lost on the way");
}

/// Spatial sounds: a tone left of the listener is louder on the left, and
/// moving its entity to the right moves the sound.
#[test]
fn spatial_bevy_audio_follows_the_emitter() {
    const TONE: f64 = 880.0;
    let (_dir, _server, mut app, link) = game_asked_for_audio();
    let world = app.world_mut();
    let tone = world
        .resource_mut::<Assets<Pitch>>()
        .add(Pitch::new(TONE as f32, Duration::from_secs(1)));
    world.spawn((SpatialListener::new(4.0), Transform::default()));
    let emitter = world
        .spawn((
            AudioPlayer(tone),
            PlaybackSettings::LOOP.with_spatial(true),
            Transform::from_xyz(-3.0, 0.0, 0.0),
        ))
        .id();
    let channel_levels = |got: &Received| {
        (
            recent_level(got, 0, TONE, 0.2),
            recent_level(got, 1, TONE, 0.2),
        )
    };
    let mut got = Received::default();
    run_until(&mut app, &link, &mut got, |r| {
        let (left, right) = channel_levels(r);
        left > 0.1 && left > 2.0 * right
    });
    app.world_mut()
        .get_mut::<Transform>(emitter)
        .unwrap()
        .translation
        .x = 3.0;
    run_until(&mut app, &link, &mut got, |r| {
        let (left, right) = channel_levels(r);
        right > 0.1 && right > 2.0 * left
    });
}
