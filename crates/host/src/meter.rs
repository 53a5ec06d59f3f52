//! Rates from counters the host already keeps (frames received, bytes
//! encoded), and a bounded history of samples for the bitrate plot.

use std::collections::VecDeque;
use std::time::Duration;

/// The rate of a growing counter over the last `window` (frames/s from a
/// frame counter, bytes/s from a byte counter), from samples taken by the
/// caller: it keeps no counter of its own.
#[derive(Debug, Clone)]
pub struct RateMeter {
    window: Duration,
    /// (time, counter value), oldest first; the first may be just before the window.
    samples: VecDeque<(Duration, u64)>,
}

impl RateMeter {
    /// A meter over the last `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            samples: VecDeque::new(),
        }
    }

    /// Records the counter's value at time `at` (any monotonic origin). A
    /// counter that went back (a new stream) starts the meter afresh.
    pub fn record(&mut self, at: Duration, count: u64) {
        if self
            .samples
            .back()
            .is_some_and(|&(last_at, last)| count < last || at < last_at)
        {
            self.samples.clear();
        }
        self.samples.push_back((at, count));
        let start = at.saturating_sub(self.window);
        // Keep one sample at or before the window's start, so the rate spans the whole window.
        while self.samples.len() > 2 && self.samples[1].0 <= start {
            self.samples.pop_front();
        }
    }

    /// Counter units per second over the window (0 until two samples exist).
    pub fn per_second(&self) -> f64 {
        let (Some(&(first_at, first)), Some(&(last_at, last))) =
            (self.samples.front(), self.samples.back())
        else {
            return 0.0;
        };
        let span = (last_at - first_at).as_secs_f64();
        if span <= 0.0 {
            return 0.0;
        }
        (last - first) as f64 / span
    }
}

/// The last `capacity` samples of a value, oldest first (the bitrate over
/// the last minute, one sample a second).
#[derive(Debug, Clone)]
pub struct SampleRing {
    capacity: usize,
    values: VecDeque<f64>,
}

impl SampleRing {
    /// An empty ring keeping at most `capacity` samples (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            values: VecDeque::with_capacity(capacity.max(1)),
        }
    }

    /// Adds a sample, forgetting the oldest beyond the capacity.
    pub fn push(&mut self, value: f64) {
        if self.values.len() == self.capacity {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }

    /// The samples, oldest first.
    pub fn values(&self) -> impl ExactSizeIterator<Item = f64> + '_ {
        self.values.iter().copied()
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<f64> {
        self.values.back().copied()
    }

    /// The largest sample (0 when empty).
    pub fn max(&self) -> f64 {
        self.values.iter().copied().fold(0.0, f64::max)
    }

    /// How many samples a full ring holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rate_of_a_30_fps_counter_over_the_last_second() {
        let mut meter = RateMeter::new(Duration::from_secs(1));
        assert!(meter.per_second().abs() < f64::EPSILON);
        // Sampled every 16 ms for 3 s, as the host loop would; 30 frames a second.
        for t in (0..3000).step_by(16) {
            meter.record(ms(t), t * 30 / 1000);
        }
        assert!(
            (meter.per_second() - 30.0).abs() < 1.5,
            "{}",
            meter.per_second()
        );
        // The game stops sending: within a second the rate falls to zero.
        let frames = 2992 * 30 / 1000;
        for t in (3000..4100).step_by(16) {
            meter.record(ms(t), frames);
        }
        assert!(
            meter.per_second().abs() < f64::EPSILON,
            "{}",
            meter.per_second()
        );
    }

    #[test]
    fn rate_window_is_bounded_and_a_reset_counter_starts_afresh() {
        let mut meter = RateMeter::new(Duration::from_secs(1));
        for t in 0..10_000 {
            meter.record(ms(t), t * 10);
        }
        assert!(meter.samples.len() <= 1002, "{}", meter.samples.len());
        assert!((meter.per_second() - 10_000.0).abs() < 1.0);
        meter.record(ms(10_000), 5);
        assert!(meter.per_second().abs() < f64::EPSILON);
        meter.record(ms(10_500), 505);
        assert!((meter.per_second() - 1000.0).abs() < 1.0);
    }

    #[test]
    fn ring_keeps_the_newest_samples_only() {
        let mut ring = SampleRing::new(60);
        for i in 0..1000 {
            ring.push(f64::from(i));
        }
        assert_eq!(ring.values().len(), 60);
        assert_eq!(ring.values().next(), Some(940.0));
        assert_eq!(ring.latest(), Some(999.0));
        assert!((ring.max() - 999.0).abs() < f64::EPSILON);
        assert_eq!(ring.capacity(), 60);
    }
}
