//! Which game feeds the stream: pure rules, tested alone.
//!
//! A game is *shown* when it says so (focus, visibility, host command). When
//! several say so at once (a window manager may focus one before unfocusing
//! another), the one that became shown most recently wins. A *switch* is a
//! change of the picked game; *nothing shown* keeps the stream on the last
//! frame.

use livestream_protocol::Visibility;

/// What the selection knows of one game.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The game's connection id.
    pub game_id: u64,
    /// Its latest reported visibility.
    pub visibility: Visibility,
    /// When that was reported (`CLOCK_MONOTONIC` ns, the host's receive time).
    pub since_ns: u64,
}

/// The game whose picture and sound feed the stream, if any.
pub fn pick_shown(candidates: &[Candidate]) -> Option<u64> {
    candidates
        .iter()
        .filter(|c| c.visibility == Visibility::Shown)
        .max_by_key(|c| (c.since_ns, c.game_id))
        .map(|c| c.game_id)
}

/// A change of the picked game.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Same as before.
    Unchanged,
    /// Another game is now shown (`from` is `None` after a time with nothing shown).
    Switched {
        /// The game shown before, if any.
        from: Option<u64>,
        /// The game shown now.
        to: u64,
    },
    /// Nothing is shown any more: the stream repeats the last frame.
    NothingShown {
        /// The game shown before.
        from: u64,
    },
}

/// Compares the previous pick with the new one.
pub fn compare(previous: Option<u64>, now: Option<u64>) -> Selection {
    match (previous, now) {
        (a, b) if a == b => Selection::Unchanged,
        (from, Some(to)) => Selection::Switched { from, to },
        (Some(from), None) => Selection::NothingShown { from },
        (None, None) => Selection::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(game_id: u64, shown: bool, since_ns: u64) -> Candidate {
        Candidate {
            game_id,
            visibility: if shown {
                Visibility::Shown
            } else {
                Visibility::Hidden
            },
            since_ns,
        }
    }

    #[test]
    fn most_recently_shown_wins() {
        assert_eq!(pick_shown(&[]), None);
        assert_eq!(pick_shown(&[c(1, false, 5), c(2, false, 9)]), None);
        assert_eq!(pick_shown(&[c(1, true, 5), c(2, false, 9)]), Some(1));
        assert_eq!(pick_shown(&[c(1, true, 5), c(2, true, 9)]), Some(2));
    }

    #[test]
    fn switches_and_gaps() {
        assert_eq!(compare(None, None), Selection::Unchanged);
        assert_eq!(compare(Some(1), Some(1)), Selection::Unchanged);
        assert_eq!(
            compare(Some(1), Some(2)),
            Selection::Switched {
                from: Some(1),
                to: 2
            }
        );
        assert_eq!(compare(Some(1), None), Selection::NothingShown { from: 1 });
        assert_eq!(
            compare(None, Some(3)),
            Selection::Switched { from: None, to: 3 }
        );
    }
}
