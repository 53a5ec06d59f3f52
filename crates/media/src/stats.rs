//! Counters of a running stream, shared by the threads that feed it.

use core::sync::atomic::AtomicU64;

/// Counters of a running stream.
#[derive(Debug, Default)]
pub struct MediaStats {
    /// Frames pushed to the encoder.
    pub frames_pushed: AtomicU64,
    /// Of those, repeats of the previous frame, and the slate before the first one.
    pub frames_repeated: AtomicU64,
    /// Frames received but never streamed: a newer frame was due at the
    /// same output slot (the game delivers faster than the output rate, or
    /// the frame came later than the playout delay).
    pub frames_superseded: AtomicU64,
    /// How long after its presentation time the latest frame slot was
    /// emitted (ns): the wait for the slowest recent frame, see [`crate::FrameSchedule`].
    pub playout_delay_ns: AtomicU64,
    /// Keyframes forced at switches.
    pub keyframes_forced: AtomicU64,
    /// Audio chunks pushed.
    pub audio_chunks: AtomicU64,
    /// Audio chunks dropped (late or overlapping entirely).
    pub audio_dropped: AtomicU64,
    /// Bytes of encoded video and audio leaving the encoders (what every
    /// output carries before muxing): the stream's measured bitrate.
    pub bytes_encoded: AtomicU64,
}
