//! What dodge looks like: the camera, the lane (with a cheap custom
//! surface shader), the rails, background particles, the player with its
//! shield glow, obstacle meshes, the HUD and the music.

use bevy::asset::embedded_asset;
use bevy::core_pipeline::tonemapping::{DebandDither, Tonemapping};
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, ShaderType};
use bevy::render::view::Msaa;
use bevy::shader::ShaderRef;
use bevy_livestream::prelude::*;
use demo_common::{Rng, Sfx, hud_corner, hud_font};

use crate::lane::{LANE_HALF, OBSTACLE_HALF, PLAYER_HALF, PLAYER_Z, SPAWN_Z};

/// The sky: the clear colour, most of the picture.
pub const SKY: Color = Color::srgb(0.10, 0.25, 0.85);
const PLATFORM: Color = Color::srgb(0.16, 0.36, 0.98);
const STRIPE: Color = Color::srgb(0.55, 0.75, 1.0);
const PARTICLE: Color = Color::srgb(0.7, 0.85, 1.0);
const PLAYER: Color = Color::srgb(1.0, 0.62, 0.1);
const OBSTACLE: Color = Color::srgb(0.92, 0.16, 0.22);
/// Colour of the HUD's text.
pub const TEXT: Color = Color::srgb(0.95, 0.97, 1.0);
const PARTICLES: usize = 40;
/// Obstacles and particles behind the camera are recycled past this z.
pub const BEHIND_Z: f32 = 8.0;

/// Builds the scene at start.
pub struct ScenePlugin;

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        embedded_asset!(app, "lane_surface.wgsl");
        app.insert_resource(ClearColor(SKY))
            .add_plugins(MaterialPlugin::<LaneMaterial>::default())
            .add_systems(Startup, setup);
    }
}

/// The lane's surface: a flat colour with dashed dividers that scroll.
/// The PBR shader, even unlit, costs about half the frame on a software
/// renderer at 640×360; this one costs next to nothing.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct LaneMaterial {
    /// Colours and scroll, in one uniform.
    #[uniform(0)]
    pub lane: LaneUniform,
}

/// The uniform of [`LaneMaterial`] (`Lane` in `lane_surface.wgsl`).
#[derive(ShaderType, Debug, Clone)]
pub struct LaneUniform {
    color: LinearRgba,
    stripe: LinearRgba,
    /// World units the dashes have moved towards the camera.
    pub scroll: f32,
}

impl Material for LaneMaterial {
    fn fragment_shader() -> ShaderRef {
        "embedded://demo_dodge/lane_surface.wgsl".into()
    }
}

/// Meshes and materials shared by many entities.
#[derive(Resource)]
pub struct Palette {
    cube: Handle<Mesh>,
    obstacle: Handle<StandardMaterial>,
    /// The player's own material.
    pub player: Handle<StandardMaterial>,
    /// The player's material while it blinks after a crash.
    pub flash: Handle<StandardMaterial>,
    /// The lane's surface, whose dashes scroll.
    pub lane: Handle<LaneMaterial>,
}

/// The player's cube.
#[derive(Component)]
pub struct Player;

/// The glow around the player while a shield is up.
#[derive(Component)]
pub struct ShieldGlow;

/// A block flying towards the player.
#[derive(Component)]
pub struct Obstacle;

/// A background particle.
#[derive(Component)]
pub struct Particle;

/// HUD texts.
#[derive(Component)]
pub enum Hud {
    /// Time survived and best run.
    Score,
    /// Shield and chat votes.
    Shield,
    /// Attract-mode hint.
    Pilot,
    /// Audience events received.
    Audience,
}

/// Throws a block from the far end of the lane at `x`.
pub fn spawn_obstacle(commands: &mut Commands, palette: &Palette, x: f32) {
    commands.spawn((
        Obstacle,
        Mesh3d(palette.cube.clone()),
        MeshMaterial3d(palette.obstacle.clone()),
        Transform::from_xyz(x, OBSTACLE_HALF, SPAWN_Z),
    ));
}

fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut lanes: ResMut<Assets<LaneMaterial>>,
    mut rng: ResMut<Rng>,
    mut sfx: Sfx,
) {
    commands.spawn((
        Camera3d::default(),
        Transform::from_xyz(0.0, 3.2, 6.5).looking_at(Vec3::new(0.0, 0.0, -10.0), Vec3::Y),
        // Cheap on software renderers: no MSAA, no tonemapping LUT, no dithering.
        Msaa::Off,
        Tonemapping::None,
        DebandDither::Disabled,
        // The game's picture (with its HUD) is what viewers see.
        Streamable,
    ));
    commands.spawn((
        DirectionalLight::default(),
        Transform::from_xyz(2.0, 8.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));

    let length = BEHIND_Z - SPAWN_Z + 4.0;
    let middle_z = (BEHIND_Z + SPAWN_Z) / 2.0;
    let lane = lanes.add(LaneMaterial {
        lane: LaneUniform {
            color: PLATFORM.to_linear(),
            stripe: STRIPE.to_linear(),
            scroll: 0.0,
        },
    });
    let surface = Plane3d::default()
        .mesh()
        .size(LANE_HALF * 2.0 + 1.5, length);
    commands.spawn((
        Mesh3d(meshes.add(surface)),
        MeshMaterial3d(lane.clone()),
        Transform::from_xyz(0.0, 0.0, middle_z),
    ));
    let unlit = |color: Color| StandardMaterial {
        base_color: color,
        unlit: true,
        ..default()
    };
    let rail = meshes.add(Cuboid::new(0.15, 0.1, length));
    let rail_material = materials.add(unlit(STRIPE));
    for side in [-1.0, 1.0] {
        commands.spawn((
            Mesh3d(rail.clone()),
            MeshMaterial3d(rail_material.clone()),
            Transform::from_xyz(side * (LANE_HALF + 0.75), 0.05, middle_z),
        ));
    }

    let particle = meshes.add(Cuboid::from_length(0.12));
    let particle_material = materials.add(unlit(PARTICLE));
    for _ in 0..PARTICLES {
        let side = if rng.below(2) == 0 { -1.0 } else { 1.0 };
        commands.spawn((
            Particle,
            Mesh3d(particle.clone()),
            MeshMaterial3d(particle_material.clone()),
            Transform::from_xyz(
                side * (LANE_HALF + 1.5 + rng.unit() * 7.0),
                rng.unit() * 5.0,
                SPAWN_Z + rng.unit() * (BEHIND_Z - SPAWN_Z),
            ),
        ));
    }

    let palette = Palette {
        cube: meshes.add(Cuboid::from_length(OBSTACLE_HALF * 2.0)),
        obstacle: materials.add(OBSTACLE),
        player: materials.add(PLAYER),
        flash: materials.add(StandardMaterial {
            base_color: Color::WHITE,
            emissive: LinearRgba::rgb(2.0, 2.0, 2.0),
            ..default()
        }),
        lane,
    };
    commands
        .spawn((
            Player,
            Mesh3d(meshes.add(Cuboid::from_length(PLAYER_HALF * 2.0))),
            MeshMaterial3d(palette.player.clone()),
            Transform::from_xyz(0.0, PLAYER_HALF, PLAYER_Z),
        ))
        .with_child((
            ShieldGlow,
            Mesh3d(meshes.add(Sphere::new(0.75).mesh().uv(16, 12))),
            MeshMaterial3d(materials.add(StandardMaterial {
                base_color: Color::srgba(0.3, 0.9, 1.0, 0.35),
                alpha_mode: AlphaMode::Blend,
                unlit: true,
                ..default()
            })),
            Visibility::Hidden,
        ));
    commands.insert_resource(palette);

    let text = |hud: Hud, node: Node| (Text::default(), hud_font(4.5), TextColor(TEXT), hud, node);
    commands.spawn(text(Hud::Score, hud_corner(true, true)));
    commands.spawn(text(Hud::Shield, hud_corner(true, false)));
    commands.spawn(text(Hud::Pilot, hud_corner(false, true)));
    commands.spawn(text(Hud::Audience, hud_corner(false, false)));

    sfx.loop_music("music_dodge.wav");
}
