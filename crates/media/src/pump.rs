//! The frame pump's decisions, separated from GStreamer so they are tested
//! alone: at every output tick, push the newest frame if one arrived, else
//! repeat the last pushed frame; force a keyframe when the source changes.

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
