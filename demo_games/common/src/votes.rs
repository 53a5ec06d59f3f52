//! Chat votes: words of a chat line, and tallies over a time window.

/// Chat votes over a window: the window opens with its first vote and, once
/// it has lasted its length, closes with the strict majority (if any).
#[derive(Debug, Clone)]
pub struct VoteTally<V> {
    window_secs: f32,
    opened_at: Option<f32>,
    votes: Vec<(V, u32)>,
}

impl<V: Copy + PartialEq> VoteTally<V> {
    /// A tally whose windows last `window_secs`.
    pub fn new(window_secs: f32) -> Self {
        Self {
            window_secs,
            opened_at: None,
            votes: Vec::new(),
        }
    }

    /// Counts one vote cast at `now` (seconds).
    pub fn cast(&mut self, vote: V, now: f32) {
        self.opened_at.get_or_insert(now);
        match self.votes.iter_mut().find(|(v, _)| *v == vote) {
            Some((_, n)) => *n += 1,
            None => self.votes.push((vote, 1)),
        }
    }

    /// Votes for `vote` in the open window.
    pub fn count(&self, vote: V) -> u32 {
        self.votes
            .iter()
            .find(|(v, _)| *v == vote)
            .map_or(0, |(_, n)| *n)
    }

    /// Closes the window once it has lasted its length: the option with the
    /// most votes wins; a tie wins nothing.
    pub fn close_if_due(&mut self, now: f32) -> Option<V> {
        let opened = self.opened_at?;
        if now - opened < self.window_secs {
            return None;
        }
        self.opened_at = None;
        let votes = std::mem::take(&mut self.votes);
        let top = votes.iter().map(|(_, n)| *n).max()?;
        let mut leaders = votes.iter().filter(|(_, n)| *n == top);
        match (leaders.next(), leaders.next()) {
            (Some((winner, _)), None) => Some(*winner),
            _ => None,
        }
    }
}

/// The words of a chat line, lower case, each without a leading `!`.
pub fn chat_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace()
        .map(|w| w.trim_start_matches('!').to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_window_picks_the_strict_majority() {
        let mut tally = VoteTally::new(10.0);
        assert_eq!(tally.close_if_due(100.0), None, "no votes, no window");
        tally.cast('a', 1.0);
        tally.cast('b', 2.0);
        tally.cast('a', 9.0);
        assert_eq!((tally.count('a'), tally.count('b')), (2, 1));
        assert_eq!(tally.close_if_due(10.5), None, "open for 10 s");
        assert_eq!(tally.close_if_due(11.0), Some('a'));
        assert_eq!(tally.count('a'), 0, "a new window starts empty");
        tally.cast('a', 20.0);
        tally.cast('b', 21.0);
        assert_eq!(tally.close_if_due(31.0), None, "a tie wins nothing");
        assert_eq!(tally.close_if_due(50.0), None);
    }

    #[test]
    fn chat_words_are_lower_case_without_bang() {
        let words: Vec<_> = chat_words("  !Spawn LEFT ").collect();
        assert_eq!(words, ["spawn", "left"]);
    }
}
