//! What the demo games (`demo-dodge`, `demo-snake`) share: the command line
//! and base plugins, a tiny PRNG, chat vote tallies, sounds through the
//! plugin's `GameAudio`, attract mode, the audience counter, HUD layout,
//! `--duration` and the benchmarks' `--frame-log` / `--frame-code` /
//! `--gift-flash`.
//!
//! Built on `bevy_livestream`'s public API only, like the games.

mod args;
mod audience;
mod bench;
pub mod command_line_checks;
mod exit;
mod hud;
mod pilot;
mod rng;
mod sound;
mod votes;

use bevy::prelude::*;
use bevy::window::WindowResolution;
use bevy_livestream::prelude::*;

pub use args::Args;
pub use audience::AudienceCount;
pub use hud::{hud_corner, hud_font};
pub use pilot::Pilot;
pub use rng::Rng;
pub use sound::{Sfx, Sound};
pub use votes::{VoteTally, chat_words};

/// Bevy's plugins (a window, or offscreen with `--headless`) and the
/// shared resources and systems of the demo games.
pub fn add_base_plugins(app: &mut App, args: &Args, title: &str) {
    if args.headless {
        app.add_plugins((
            headless_default_plugins(),
            HeadlessPlugin {
                size: args.size,
                fps: args.fps,
            },
        ));
    } else {
        app.add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: title.to_owned(),
                resolution: WindowResolution::new(args.size.x, args.size.y),
                ..default()
            }),
            ..default()
        }));
    }
    app.insert_resource(Rng::from_time()).add_plugins((
        sound::plugin,
        pilot::plugin,
        audience::plugin,
    ));
    if let Some(limit) = args.duration {
        exit::add(app, limit);
    }
    bench::add(app, args);
}
