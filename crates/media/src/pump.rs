//! The frame pump's decisions, separated from GStreamer so they are tested
//! alone: at every output tick, push the next waiting frame if there is one,
//! else repeat the last pushed frame; force a keyframe when the source changes.

use std::collections::VecDeque;

/// Frames waiting for the output clock. A game capturing at the output rate
/// delivers unevenly (render and readback jitter): two frames land within
/// one output tick, then none in the next. Keeping only the newest would drop
/// the first and repeat the second; holding one frame of slack streams both,
/// in order, at the cost of at most one frame of delay while it is used.
/// A faster game still has its older frames dropped, so delay stays bounded.
#[derive(Debug)]
pub struct FrameQueue<T> {
    frames: VecDeque<T>,
}

/// Frames a [`FrameQueue`] holds at most: the one for the next tick and one of slack.
pub const FRAME_QUEUE_DEPTH: usize = 2;

impl<T> Default for FrameQueue<T> {
    fn default() -> Self {
        Self {
            frames: VecDeque::with_capacity(FRAME_QUEUE_DEPTH + 1),
        }
    }
}

impl<T> FrameQueue<T> {
    /// Adds a frame; returns how many older frames it pushed out (never streamed).
    pub fn push(&mut self, frame: T) -> u64 {
        self.frames.push_back(frame);
        let mut dropped = 0;
        while self.frames.len() > FRAME_QUEUE_DEPTH {
            self.frames.pop_front();
            dropped += 1;
        }
        dropped
    }

    /// The frame for this tick: the oldest waiting, if any.
    pub fn take(&mut self) -> Option<T> {
        self.frames.pop_front()
    }
}

/// What to push at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickAction {
    /// Nothing was ever received: push nothing yet.
    Wait,
    /// Push the frame that just arrived.
    Fresh {
        /// Ask the encoder for a keyframe (the picture switched to another game).
        keyframe: bool,
    },
    /// Push the last pushed frame again (no new frame, or no game shown).
    Repeat,
}

/// Counters and memory of the pump.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PumpState {
    last_source: Option<u64>,
    /// Frames pushed that were new.
    pub fresh: u64,
    /// Frames pushed again.
    pub repeated: u64,
    /// Keyframes forced at switches.
    pub keyframes_forced: u64,
}

impl PumpState {
    /// Decides one tick. `arrived` is the source id of a frame that arrived
    /// since the last tick, if any.
    pub fn tick(&mut self, arrived: Option<u64>) -> TickAction {
        match (arrived, self.last_source) {
            (Some(source), last) => {
                let keyframe = last.is_some_and(|last| last != source);
                self.last_source = Some(source);
                self.fresh += 1;
                self.keyframes_forced += u64::from(keyframe);
                TickAction::Fresh { keyframe }
            }
            (None, Some(_)) => {
                self.repeated += 1;
                TickAction::Repeat
            }
            (None, None) => TickAction::Wait,
        }
    }

    /// Frames pushed in total.
    pub fn pushed(&self) -> u64 {
        self.fresh + self.repeated
    }
}

/// Presentation time of output frame `index` in a constant-frame-rate stream.
pub fn frame_pts_ns(first_pts_ns: u64, index: u64, fps: u32) -> u64 {
    first_pts_ns + index * 1_000_000_000 / u64::from(fps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uneven_arrivals_at_the_output_rate_lose_nothing() {
        // Per tick: 1, 2, 0, 1, 2, 0 frames arrive (6 frames in 6 ticks).
        let mut queue = FrameQueue::default();
        let (mut next, mut out, mut dropped) = (0, vec![], 0);
        for arrivals in [1, 2, 0, 1, 2, 0] {
            for _ in 0..arrivals {
                dropped += queue.push(next);
                next += 1;
            }
            out.push(queue.take());
        }
        assert_eq!(dropped, 0);
        assert_eq!(out, [0, 1, 2, 3, 4, 5].map(Some));
    }

    #[test]
    fn a_faster_source_keeps_only_one_frame_of_slack() {
        let mut queue = FrameQueue::default();
        let mut dropped = 0;
        let mut out = vec![];
        for tick in 0..4 {
            dropped += queue.push(tick * 2);
            dropped += queue.push(tick * 2 + 1);
            out.push(queue.take().unwrap());
        }
        // 8 frames in 4 ticks: every other one streamed, the delay never grows.
        assert_eq!(out, [0, 2, 4, 6]);
        assert_eq!(dropped, 3);
        assert_eq!(queue.take(), Some(7));
        assert_eq!(queue.take(), None);
    }

    #[test]
    fn waits_then_pushes_then_repeats() {
        let mut pump = PumpState::default();
        assert_eq!(pump.tick(None), TickAction::Wait);
        assert_eq!(pump.tick(Some(1)), TickAction::Fresh { keyframe: false });
        assert_eq!(pump.tick(None), TickAction::Repeat);
        assert_eq!(pump.tick(Some(1)), TickAction::Fresh { keyframe: false });
        assert_eq!((pump.fresh, pump.repeated), (2, 1));
    }

    #[test]
    fn switch_forces_one_keyframe() {
        let mut pump = PumpState::default();
        pump.tick(Some(1));
        assert_eq!(pump.tick(Some(2)), TickAction::Fresh { keyframe: true });
        assert_eq!(pump.tick(Some(2)), TickAction::Fresh { keyframe: false });
        assert_eq!(pump.keyframes_forced, 1);
    }

    #[test]
    fn constant_frame_rate_timestamps() {
        assert_eq!(frame_pts_ns(5, 0, 30), 5);
        assert_eq!(frame_pts_ns(0, 30, 30), 1_000_000_000);
        assert_eq!(frame_pts_ns(0, 1, 15), 66_666_666);
    }
}
