//! When the host ends: the last game gone, SIGTERM, or the dashboard closed;
//! and the stream finished cleanly whichever way it ends.

use bevy::prelude::*;
use tracing::info;

use crate::games::{GamesSeen, SubGame};
use crate::settings::HostSettings;
use crate::stream::Streaming;

/// Exits once every game that connected has gone (closed or crashed).
pub fn exit_when_empty(
    games: Query<(), With<SubGame>>,
    seen: Res<GamesSeen>,
    settings: Res<HostSettings>,
    mut exit: MessageWriter<AppExit>,
) {
    if settings.exit_when_empty && seen.0 > 0 && games.is_empty() {
        info!("every game has gone: stopping");
        exit.write(AppExit::Success);
    }
}

/// Set by SIGTERM (service managers, `kill`, test harnesses) or by closing
/// the dashboard window; Ctrl-C is Bevy's.
#[derive(Resource, Debug, Default, Clone)]
pub struct TerminationRequested(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl TerminationRequested {
    /// A flag raised by SIGTERM from now on.
    pub fn on_sigterm() -> std::io::Result<Self> {
        let flag = Self::default();
        #[cfg(unix)]
        signal_hook::flag::register(signal_hook::consts::SIGTERM, flag.0.clone())?;
        Ok(flag)
    }

    /// Raises the flag: the host stops as on SIGTERM.
    pub fn request(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Exits the app (and so stops the stream cleanly) once termination was requested.
pub fn exit_on_sigterm(flag: Res<TerminationRequested>, mut exit: MessageWriter<AppExit>) {
    if flag.0.load(std::sync::atomic::Ordering::Acquire) {
        info!("SIGTERM or dashboard closed: stopping");
        exit.write(AppExit::Success);
    }
}

/// Finishes the stream cleanly when the app exits (last game gone, Ctrl-C, SIGTERM).
pub fn stop_on_exit(mut exits: MessageReader<AppExit>, mut streaming: ResMut<Streaming>) {
    if exits.read().next().is_some() {
        streaming.stop();
    }
}
