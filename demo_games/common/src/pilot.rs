//! Attract mode: an autopilot plays until a key is pressed, and again after
//! a while without keys.

use bevy::prelude::*;

/// Seconds without a key press after which attract mode takes over again.
const IDLE_SECS: f32 = 30.0;

/// Attract mode: the autopilot plays until a key is pressed, and again
/// after a while without keys.
#[derive(Resource, Debug, Default)]
pub struct Pilot {
    last_key_secs: Option<f32>,
}

impl Pilot {
    /// Whether the autopilot steers at `now` (seconds).
    pub fn autopilot(&self, now: f32) -> bool {
        self.last_key_secs.is_none_or(|t| now - t > IDLE_SECS)
    }

    /// A key was pressed at `now`.
    pub fn key_pressed(&mut self, now: f32) {
        self.last_key_secs = Some(now);
    }
}

/// The [`Pilot`] resource, told of every key press.
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<Pilot>()
        .add_systems(PreUpdate, watch_keys);
}

fn watch_keys(keys: Res<ButtonInput<KeyCode>>, time: Res<Time>, mut pilot: ResMut<Pilot>) {
    if keys.get_pressed().len() > 0 {
        pilot.key_pressed(time.elapsed_secs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attract_mode_until_a_key_then_again_when_idle() {
        let mut pilot = Pilot::default();
        assert!(pilot.autopilot(0.0));
        pilot.key_pressed(5.0);
        assert!(!pilot.autopilot(5.0 + IDLE_SECS - 1.0));
        assert!(pilot.autopilot(5.0 + IDLE_SECS + 1.0));
    }
}
