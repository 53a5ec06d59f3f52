//! `livestream-testsrc`: a game stand-in for developing, testing and
//! benchmarking the host without Bevy. The pattern code is public so tests
//! and benchmarks can decode the frame counter back out of a recording.

pub mod pattern;
pub mod sync_marks;
pub mod tone;
