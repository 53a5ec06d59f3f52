//! Display status: whether the game is what the player sees. Derived from the
//! primary window (focus, visibility, occlusion, minimised) and from the host's
//! show/hide commands; a game without a window (headless) follows the host's
//! commands alone and starts hidden.

use bevy::prelude::*;
use bevy::window::{PrimaryWindow, WindowFocused, WindowOccluded};
use livestream_ipc::monotonic_ns;
use livestream_protocol::{DisplayReason, DisplayReport, Visibility};

use crate::state::{DisplayChanged, LiveStream};

/// What the window system says about the primary window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowFacts {
    /// Has keyboard focus.
    pub focused: bool,
    /// Mapped (not hidden by the game).
    pub visible: bool,
    /// Entirely covered by other windows.
    pub occluded: bool,
    /// Minimised (zero-sized).
    pub minimized: bool,
}

impl WindowFacts {
    /// A window is shown when the player can see it and is using it.
    pub fn visibility(self) -> Visibility {
        if self.focused && self.visible && !self.occluded && !self.minimized {
            Visibility::Shown
        } else {
            Visibility::Hidden
        }
    }
}

/// The current display status and the window facts it came from.
#[derive(Resource, Debug, Clone)]
pub(crate) struct DisplayTracker {
    window: Option<WindowFacts>,
    visibility: Visibility,
    reason: DisplayReason,
    since_ns: u64,
}

impl Default for DisplayTracker {
    fn default() -> Self {
        Self {
            window: None,
            visibility: Visibility::Hidden,
            reason: DisplayReason::Startup,
            since_ns: monotonic_ns(),
        }
    }
}

impl DisplayTracker {
    /// New window facts; a change of visibility is reported with `reason`.
    pub fn apply_window(
        &mut self,
        facts: WindowFacts,
        reason: DisplayReason,
    ) -> Option<DisplayChanged> {
        let first = self.window.is_none();
        self.window = Some(facts);
        let reason = if first {
            DisplayReason::Startup
        } else {
            reason
        };
        self.set(facts.visibility(), reason, first)
    }

    /// The host's show/hide command; it holds until the window changes again.
    pub fn apply_host(&mut self, visibility: Visibility) -> Option<DisplayChanged> {
        self.set(visibility, DisplayReason::HostCommand, false)
    }

    /// The current state as a report for the host (sent on connect).
    pub fn report(&self) -> DisplayReport {
        DisplayReport {
            visibility: self.visibility,
            reason: self.reason,
            timestamp_ns: self.since_ns,
        }
    }

    fn set(
        &mut self,
        visibility: Visibility,
        reason: DisplayReason,
        force: bool,
    ) -> Option<DisplayChanged> {
        if visibility == self.visibility && !force {
            return None;
        }
        self.visibility = visibility;
        self.reason = reason;
        self.since_ns = monotonic_ns();
        Some(DisplayChanged {
            visibility,
            reason,
            timestamp_ns: self.since_ns,
        })
    }
}

/// Follows the primary window and reports visibility changes.
pub(crate) fn track_window(
    mut focused: MessageReader<WindowFocused>,
    mut occluded: MessageReader<WindowOccluded>,
    windows: Query<(Entity, Ref<Window>), With<PrimaryWindow>>,
    mut tracker: ResMut<DisplayTracker>,
    mut changes: MessageWriter<DisplayChanged>,
) {
    let Ok((primary, window)) = windows.single() else {
        focused.clear();
        occluded.clear();
        return;
    };
    let mut facts = tracker.window.unwrap_or(WindowFacts {
        focused: window.focused,
        visible: window.visible,
        occluded: false,
        minimized: false,
    });
    let mut reason = DisplayReason::Startup;
    for event in focused.read().filter(|e| e.window == primary) {
        facts.focused = event.focused;
        reason = DisplayReason::Focus;
    }
    for event in occluded.read().filter(|e| e.window == primary) {
        facts.occluded = event.occluded;
        reason = DisplayReason::Occlusion;
    }
    if window.is_changed() {
        let minimized = window.physical_width() == 0 || window.physical_height() == 0;
        if minimized != facts.minimized {
            facts.minimized = minimized;
            reason = DisplayReason::Minimize;
        }
        if window.visible != facts.visible {
            facts.visible = window.visible;
            reason = DisplayReason::Visibility;
        }
    }
    if tracker.window == Some(facts) {
        return;
    }
    if let Some(change) = tracker.apply_window(facts, reason) {
        changes.write(change);
    }
}

/// Mirrors display changes into [`LiveStream`].
pub(crate) fn publish_display(
    mut changes: MessageReader<DisplayChanged>,
    mut live: ResMut<LiveStream>,
) {
    if let Some(last) = changes.read().last() {
        live.display = (last.visibility, last.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOWN: WindowFacts = WindowFacts {
        focused: true,
        visible: true,
        occluded: false,
        minimized: false,
    };

    #[test]
    fn shown_needs_focus_visibility_and_no_cover() {
        assert_eq!(SHOWN.visibility(), Visibility::Shown);
        for hidden in [
            WindowFacts {
                focused: false,
                ..SHOWN
            },
            WindowFacts {
                visible: false,
                ..SHOWN
            },
            WindowFacts {
                occluded: true,
                ..SHOWN
            },
            WindowFacts {
                minimized: true,
                ..SHOWN
            },
        ] {
            assert_eq!(hidden.visibility(), Visibility::Hidden, "{hidden:?}");
        }
    }

    #[test]
    fn first_facts_are_reported_as_startup() {
        let mut tracker = DisplayTracker::default();
        let change = tracker.apply_window(SHOWN, DisplayReason::Focus).unwrap();
        assert_eq!(change.reason, DisplayReason::Startup);
        assert_eq!(change.visibility, Visibility::Shown);
    }

    #[test]
    fn only_changes_are_reported() {
        let mut tracker = DisplayTracker::default();
        tracker.apply_window(SHOWN, DisplayReason::Startup);
        let covered = WindowFacts {
            occluded: true,
            ..SHOWN
        };
        let change = tracker
            .apply_window(covered, DisplayReason::Occlusion)
            .unwrap();
        assert_eq!(
            (change.visibility, change.reason),
            (Visibility::Hidden, DisplayReason::Occlusion)
        );
        let unfocused = WindowFacts {
            focused: false,
            ..covered
        };
        assert_eq!(tracker.apply_window(unfocused, DisplayReason::Focus), None);
        assert_eq!(
            tracker.apply_host(Visibility::Shown).map(|c| c.reason),
            Some(DisplayReason::HostCommand)
        );
        assert_eq!(tracker.apply_host(Visibility::Shown), None);
        assert_eq!(tracker.report().reason, DisplayReason::HostCommand);
    }
}
