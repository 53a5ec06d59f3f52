//! When an output branch is torn down, rebuilt and counted as up again: a
//! pure state machine per output (no GStreamer), driven by the bus thread.
//!
//! A network output that fails is rebuilt after 0.5 s, 1 s, 2 s, … 30 s
//! ([`Backoff`]); once it has run [`SETTLE`] without an error it counts as
//! up and the back-off starts over. A file output is not retried.

use core::time::Duration;
use std::time::Instant;

use livestream_protocol::Backoff;

/// First reconnection delay; doubles per failed attempt.
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// Longest reconnection delay.
const MAX_DELAY: Duration = Duration::from_secs(30);
/// Error-free time after which a rebuilt output counts as up again.
pub(crate) const SETTLE: Duration = Duration::from_secs(3);

/// Where one output is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Built and (as far as we know) sending.
    Up {
        /// When it was (re)built; `None` once it has settled.
        unsettled_since: Option<Instant>,
    },
    /// Torn down after a failure; rebuilt at `at`.
    Waiting {
        /// When to rebuild.
        at: Instant,
    },
    /// Failed and not retried (a file); the other outputs go on.
    Failed,
}

/// What to do about an output's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Already torn down: another element of the same branch reported too.
    AlreadyHandled,
    /// Tear the branch down for good.
    GiveUp,
    /// Tear the branch down; it is rebuilt after `retry_in`.
    Retry {
        /// The reconnection attempt to be made, from 1.
        attempt: u32,
        /// The delay before it.
        retry_in: Duration,
    },
}

/// What is due for an output now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Nothing.
    Nothing,
    /// Rebuild the branch now (on failure, report it with [`Reconnect::on_error`]).
    Rebuild,
    /// The rebuilt branch has run long enough without an error: it is up.
    Settled,
}

/// The reconnect state of one output branch.
#[derive(Debug, Clone)]
pub(crate) struct Reconnect {
    retries: bool,
    state: State,
    backoff: Backoff,
    attempt: u32,
}

impl Reconnect {
    /// A running output; `retries` is false for outputs given up at the first error (files).
    pub(crate) fn new(retries: bool) -> Self {
        Self {
            retries,
            state: State::Up {
                unsettled_since: None,
            },
            backoff: Backoff::new(FIRST_DELAY, MAX_DELAY),
            attempt: 0,
        }
    }

    /// The output reported an error (or could not be rebuilt) at `now`.
    pub(crate) fn on_error(&mut self, now: Instant) -> Failure {
        if !matches!(self.state, State::Up { .. }) {
            return Failure::AlreadyHandled;
        }
        if !self.retries {
            self.state = State::Failed;
            return Failure::GiveUp;
        }
        self.attempt += 1;
        let retry_in = self.backoff.next_delay();
        self.state = State::Waiting { at: now + retry_in };
        Failure::Retry {
            attempt: self.attempt,
            retry_in,
        }
    }

    /// What is due at `now`; a rebuild is assumed to succeed until
    /// [`Reconnect::on_error`] says otherwise.
    pub(crate) fn tick(&mut self, now: Instant) -> Due {
        match self.state {
            State::Waiting { at } if now >= at => {
                self.state = State::Up {
                    unsettled_since: Some(now),
                };
                Due::Rebuild
            }
            State::Up {
                unsettled_since: Some(since),
            } if now.duration_since(since) >= SETTLE => {
                self.state = State::Up {
                    unsettled_since: None,
                };
                self.attempt = 0;
                self.backoff.reset();
                Due::Settled
            }
            _ => Due::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn retry(attempt: u32, retry_in: Duration) -> Failure {
        Failure::Retry { attempt, retry_in }
    }

    /// Fails `output` at `now`, then rebuilds it when due; returns the rebuild time.
    fn fail_and_rebuild(output: &mut Reconnect, now: Instant) -> (Failure, Instant) {
        let failure = output.on_error(now);
        let Failure::Retry { retry_in, .. } = failure else {
            panic!("not retried: {failure:?}");
        };
        let at = now + retry_in;
        assert_eq!(output.tick(at), Due::Rebuild);
        (failure, at)
    }

    #[test]
    fn an_error_waits_the_first_delay_before_a_rebuild() {
        let t0 = Instant::now();
        let mut output = Reconnect::new(true);
        assert_eq!(
            output.tick(t0),
            Due::Nothing,
            "a healthy output has nothing due"
        );
        assert_eq!(output.on_error(t0), retry(1, 500 * MS));
        assert_eq!(output.tick(t0 + 499 * MS), Due::Nothing);
        assert_eq!(output.tick(t0 + 500 * MS), Due::Rebuild);
        assert_eq!(output.tick(t0 + 501 * MS), Due::Nothing, "rebuilt once");
    }

    #[test]
    fn errors_while_waiting_are_already_handled() {
        let t0 = Instant::now();
        let mut output = Reconnect::new(true);
        assert_eq!(output.on_error(t0), retry(1, 500 * MS));
        assert_eq!(output.on_error(t0 + MS), Failure::AlreadyHandled);
        assert_eq!(
            output.tick(t0 + 500 * MS),
            Due::Rebuild,
            "the first delay holds"
        );
    }

    #[test]
    fn repeated_failures_back_off_up_to_the_cap() {
        let mut output = Reconnect::new(true);
        let mut now = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..9 {
            let (failure, rebuilt_at) = fail_and_rebuild(&mut output, now);
            let Failure::Retry { attempt, retry_in } = failure else {
                unreachable!()
            };
            assert_eq!(attempt as usize, delays.len() + 1);
            delays.push(retry_in.as_millis());
            // Fails again before it has settled: the back-off keeps growing.
            now = rebuilt_at + SETTLE - MS;
        }
        assert_eq!(
            delays,
            [
                500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000
            ]
        );
    }

    #[test]
    fn a_failed_rebuild_counts_as_the_next_failure() {
        let t0 = Instant::now();
        let mut output = Reconnect::new(true);
        let (_, rebuilt_at) = fail_and_rebuild(&mut output, t0);
        assert_eq!(output.on_error(rebuilt_at), retry(2, 1_000 * MS));
    }

    #[test]
    fn settling_reports_up_once_and_resets_the_back_off() {
        let t0 = Instant::now();
        let mut output = Reconnect::new(true);
        let (_, first) = fail_and_rebuild(&mut output, t0);
        let (_, second) = fail_and_rebuild(&mut output, first + MS);
        assert_eq!(output.tick(second + SETTLE - MS), Due::Nothing);
        assert_eq!(output.tick(second + SETTLE), Due::Settled);
        assert_eq!(output.tick(second + SETTLE * 2), Due::Nothing, "up once");
        let later = second + SETTLE * 3;
        assert_eq!(output.on_error(later), retry(1, 500 * MS));
    }

    #[test]
    fn an_output_that_does_not_retry_gives_up_once() {
        let t0 = Instant::now();
        let mut output = Reconnect::new(false);
        assert_eq!(output.on_error(t0), Failure::GiveUp);
        assert_eq!(output.on_error(t0 + MS), Failure::AlreadyHandled);
        assert_eq!(
            output.tick(t0 + MAX_DELAY * 2),
            Due::Nothing,
            "never rebuilt"
        );
    }
}
