//! The shared timeline: `CLOCK_MONOTONIC` nanoseconds, the same in every process
//! on the machine (and the clock GStreamer's system clock uses), so the host
//! maps game timestamps to pipeline time without negotiation.

/// Now, in `CLOCK_MONOTONIC` nanoseconds.
pub fn monotonic_ns() -> u64 {
    #[cfg(unix)]
    {
        use nix::time::{ClockId, clock_gettime};
        // CLOCK_MONOTONIC cannot fail on a supported kernel; 0 would only ever
        // show up as an obviously wrong timestamp, never as a panic.
        clock_gettime(ClockId::CLOCK_MONOTONIC)
            .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
            .unwrap_or(0)
    }
    #[cfg(not(unix))]
    {
        // Without a shared monotonic clock, fall back to time since first use
        // (same-process ordering only).
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_nanos() as u64
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn monotonic_and_nonzero() {
        let a = super::monotonic_ns();
        let b = super::monotonic_ns();
        assert!(a > 0 && b >= a);
    }
}
