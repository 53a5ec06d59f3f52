//! When the host ends: the last game gone, a signal, or the dashboard
//! closed; and the stream finished cleanly whichever way it ends.

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

/// The signals that stop the host cleanly: Ctrl-C (every press: a second
/// one must not cut the recordings short), `kill`/service managers, a closed
/// terminal, and Ctrl-\.
#[cfg(unix)]
pub const STOP_SIGNALS: [i32; 4] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGQUIT,
];

/// Set by a stop signal ([`STOP_SIGNALS`]) or by closing the dashboard window.
#[derive(Resource, Debug, Default, Clone)]
pub struct TerminationRequested(pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl TerminationRequested {
    /// A flag raised by any of the [`STOP_SIGNALS`] from now on.
    pub fn on_stop_signals() -> std::io::Result<Self> {
        let flag = Self::default();
        #[cfg(unix)]
        for signal in STOP_SIGNALS {
            signal_hook::flag::register(signal, flag.0.clone())?;
        }
        Ok(flag)
    }

    /// Raises the flag: the host stops as on a signal.
    pub fn request(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Exits the app (and so stops the stream cleanly) once termination was requested.
pub fn exit_on_request(flag: Res<TerminationRequested>, mut exit: MessageWriter<AppExit>) {
    if flag.0.load(std::sync::atomic::Ordering::Acquire) {
        info!("stop signal or dashboard closed: stopping");
        exit.write(AppExit::Success);
    }
}

/// Finishes the stream cleanly when the app exits (last game gone, a signal, the dashboard closed).
pub fn stop_on_exit(mut exits: MessageReader<AppExit>, mut streaming: ResMut<Streaming>) {
    if exits.read().next().is_some() {
        streaming.finish_before_exit();
    }
}
