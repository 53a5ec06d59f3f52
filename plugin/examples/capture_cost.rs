//! Benchmark: a small 3D game's frame time with streaming off vs on, in one
//! run, and the bytes per pixel on the socket. Prints one JSON object.
//!
//! `cargo run --release`-free: `cargo run --example capture_cost -- 640x360`
//! (dependencies are optimised in the dev profile). Phases of streaming off
//! and on alternate so machine noise hits both; the ratio of each on-phase's
//! median frame time to the mean of its neighbouring off-phases is reported
//! as min/median/max.

use std::time::{Duration, Instant};

use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy_livestream::AudioOutput;
use bevy_livestream::prelude::*;
use livestream_ipc::{LinkEvent, Server, ServerConfig, ServerEvent};
use livestream_protocol::{GameMessage, HostMessage, MediaRequest};

const PHASE_FRAMES: usize = 90;
const PHASES: usize = 7; // off, on, off, on, off, on, off

fn scene(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    commands.spawn((
        Camera3d::default(),
        Transform::from_xyz(0.0, 4.0, 9.0).looking_at(Vec3::ZERO, Vec3::Y),
        Streamable,
    ));
    commands.spawn((
        DirectionalLight::default(),
        Transform::from_xyz(3.0, 8.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(20.0, 20.0))),
        MeshMaterial3d(materials.add(Color::srgb(0.3, 0.5, 0.3))),
    ));
    let cube = meshes.add(Cuboid::default());
    for i in 0..25 {
        let (x, z) = ((i % 5) as f32 * 1.6 - 3.2, (i / 5) as f32 * 1.6 - 3.2);
        commands.spawn((
            Mesh3d(cube.clone()),
            MeshMaterial3d(materials.add(Color::hsl(i as f32 * 14.0, 0.7, 0.5))),
            Transform::from_xyz(x, 0.5, z),
            Spin,
        ));
    }
}

#[derive(Component)]
struct Spin;

fn spin(time: Res<Time>, mut cubes: Query<&mut Transform, With<Spin>>) {
    for mut transform in &mut cubes {
        transform.rotate_y(time.delta_secs());
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let size = std::env::args()
        .nth(1)
        .map(|s| livestream_protocol::parse_frame_size(&s).expect("size as WxH"))
        .unwrap_or((640, 360));
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("bench.sock");
    let server = Server::bind(ServerConfig::new(&socket)).expect("bench host binds");

    let mut app = App::new();
    app.add_plugins((
        headless_default_plugins().disable::<LogPlugin>(),
        HeadlessPlugin {
            size: UVec2::new(size.0, size.1),
            fps: 1000.0,
        },
        LiveStreamPlugin {
            settings: LiveStreamSettings {
                game_name: "bench".into(),
                socket: Some(socket),
                capture_fps: 30,
                audio_output: AudioOutput::Virtual,
                start_host_on_demand: false,
                ..default()
            },
            ..default()
        },
    ))
    .add_systems(Startup, scene)
    .add_systems(Update, spin);
    app.finish();
    app.cleanup();

    let deadline = Instant::now() + Duration::from_secs(60);
    let link = loop {
        app.update();
        if let Ok(ServerEvent::Connected(connected)) = server.events().try_recv() {
            break connected.link;
        }
        assert!(Instant::now() < deadline, "the game never connected");
    };
    // The host side drains on its own thread, as the real host does.
    let outbox = link.outbox().clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drain_done = done.clone();
    let drain = std::thread::spawn(move || {
        let (mut frames, mut bytes, mut pixels) = (0u64, 0u64, 0u64);
        while !drain_done.load(std::sync::atomic::Ordering::Relaxed) {
            let Some(event) = link.recv_timeout(Duration::from_millis(100)) else {
                continue;
            };
            match event {
                LinkEvent::Message(envelope) => {
                    if let GameMessage::VideoFrame(header) = envelope.message {
                        frames += 1;
                        bytes += envelope.payload.len() as u64;
                        pixels += u64::from(header.width * header.height);
                    }
                }
                LinkEvent::Closed(_) => break,
            }
        }
        (frames, bytes, pixels)
    });
    // Warm up (pipelines compile on first use).
    let media = |on: bool| {
        HostMessage::Media(MediaRequest {
            video: on,
            audio: on,
            fps: 30,
        })
    };
    outbox.send(media(true)).expect("queue");
    for _ in 0..60 {
        app.update();
    }

    let mut phase_medians = Vec::new();
    for phase in 0..PHASES {
        let on = phase % 2 == 1;
        outbox.send(media(on)).expect("queue");
        for _ in 0..5 {
            app.update();
        }
        let mut times: Vec<f64> = (0..PHASE_FRAMES)
            .map(|_| {
                let start = Instant::now();
                app.update();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        phase_medians.push(median(&mut times));
    }
    let mut ratios: Vec<f64> = (1..PHASES)
        .step_by(2)
        .map(|i| phase_medians[i] / ((phase_medians[i - 1] + phase_medians[i + 1]) / 2.0))
        .collect();
    let stats = app.world().resource::<LiveStream>().stats;
    drop(app);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (frames, bytes, pixels) = drain.join().expect("drain thread");
    let ratio_median = median(&mut ratios);
    println!(
        "{{\"bench\":\"capture_cost\",\"size\":\"{}x{}\",\"frame_ms_off_on\":{:?},\"ratio_on_off\":{{\"min\":{:.3},\"median\":{:.3},\"max\":{:.3}}},\"frames_received\":{frames},\"bytes_per_pixel\":{:.3},\"frames_skipped_gpu_busy\":{},\"frames_dropped\":{}}}",
        size.0,
        size.1,
        phase_medians
            .iter()
            .map(|m| (m * 100.0).round() / 100.0)
            .collect::<Vec<_>>(),
        ratios[0],
        ratio_median,
        ratios[ratios.len() - 1],
        bytes as f64 / pixels.max(1) as f64,
        stats.frames_skipped,
        stats.frames_dropped,
    );
}
