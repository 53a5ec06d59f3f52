//! Headless games: no window, a fixed-rate loop, and an offscreen render
//! target. Cameras that would draw to the primary window draw to the target
//! instead, so the same game code streams with or without a display (demo
//! games with `--headless`, tests, servers).

use std::time::Duration;

use bevy::app::{PluginGroupBuilder, ScheduleRunnerPlugin};
use bevy::audio::AudioPlugin;
use bevy::camera::RenderTarget;
use bevy::prelude::*;
use bevy::render::render_resource::{TextureFormat, TextureUsages};
use bevy::window::{ExitCondition, WindowRef};
use bevy::winit::WinitPlugin;

/// Bevy's default plugins without a window or winit (which needs a display),
/// and without a sound device: `bevy_audio` sounds still play, into the
/// stream only (the plugin plays them, see `GameAudio`).
pub fn headless_default_plugins() -> PluginGroupBuilder {
    DefaultPlugins
        .set(WindowPlugin {
            primary_window: None,
            exit_condition: ExitCondition::DontExit,
            close_when_requested: false,
            ..default()
        })
        .disable::<WinitPlugin>()
        .disable::<AudioPlugin>()
}

/// Runs the app without a window; add it next to [`headless_default_plugins`].
#[derive(Debug, Clone, Copy)]
pub struct HeadlessPlugin {
    /// Size of the offscreen target in pixels.
    pub size: UVec2,
    /// Frames per second of the loop.
    pub fps: f64,
}

impl Default for HeadlessPlugin {
    fn default() -> Self {
        Self {
            size: UVec2::new(640, 360),
            fps: 30.0,
        }
    }
}

/// The offscreen image that window cameras draw to in headless mode.
#[derive(Resource, Debug, Clone)]
pub struct HeadlessTarget(pub Handle<Image>);

impl Plugin for HeadlessPlugin {
    fn build(&self, app: &mut App) {
        let mut image = Image::new_target_texture(
            self.size.x,
            self.size.y,
            TextureFormat::Rgba8UnormSrgb,
            None,
        );
        image.texture_descriptor.label = Some("livestream_headless_target");
        // Let the game (or a test) read back what the player would see.
        image.texture_descriptor.usage |= TextureUsages::COPY_SRC;
        let handle = app.world_mut().resource_mut::<Assets<Image>>().add(image);
        app.insert_resource(HeadlessTarget(handle))
            .add_plugins(ScheduleRunnerPlugin::run_loop(Duration::from_secs_f64(
                1.0 / self.fps.max(1.0),
            )))
            .add_systems(First, retarget_window_cameras);
    }
}

/// Points cameras that target the (absent) primary window at the offscreen
/// image. The first one also becomes the default UI camera (`bevy_ui` only
/// picks window cameras by itself), so the game's HUD draws as with a window.
fn retarget_window_cameras(
    target: Res<HeadlessTarget>,
    mut cameras: Query<(Entity, &mut RenderTarget), Added<Camera>>,
    ui_cameras: Query<(), With<IsDefaultUiCamera>>,
    mut commands: Commands,
) {
    let mut has_ui_camera = !ui_cameras.is_empty();
    for (entity, mut camera_target) in &mut cameras {
        if matches!(*camera_target, RenderTarget::Window(WindowRef::Primary)) {
            *camera_target = RenderTarget::Image(target.0.clone().into());
            if !has_ui_camera {
                commands.entity(entity).insert(IsDefaultUiCamera);
                has_ui_camera = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_cameras_draw_offscreen_and_the_first_one_gets_the_hud() {
        let mut app = App::new();
        app.init_resource::<Assets<Image>>()
            .insert_resource(HeadlessTarget(Handle::default()))
            .add_systems(Update, retarget_window_cameras);
        let first = app.world_mut().spawn(Camera2d).id();
        let second = app.world_mut().spawn(Camera2d).id();
        app.update();
        let world = app.world();
        for camera in [first, second] {
            assert!(matches!(
                world.get::<RenderTarget>(camera),
                Some(RenderTarget::Image(_))
            ));
        }
        assert!(world.get::<IsDefaultUiCamera>(first).is_some());
        assert!(world.get::<IsDefaultUiCamera>(second).is_none());
    }
}
