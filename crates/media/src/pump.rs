//! The frame pump's decisions, separated from GStreamer so they are tested
//! alone: which frame goes out at which output slot, when the pump may emit
//! a slot, and when a keyframe is forced.
//!
//! The output runs at a constant frame rate on a grid of slots; slot `k` has
//! the presentation time `origin + k / fps`, where `origin` is the capture
//! time of the first frame. A frame is placed on the grid by its capture
//! timestamp (the same clock the game's audio is stamped with, so picture
//! and sound stay together however long a frame took to arrive): it takes
//! the slot after the previous frame's while its capture time stays within
//! [`SLOT_TOLERANCE`] of that slot, else the slot nearest its capture time.
//! Following the previous frame absorbs capture jitter; re-anchoring when
//! the game drifts keeps picture and sound within a frame of each other.
//!
//! Slot `k` is emitted once the clock passes its time plus a playout delay:
//! the slowest recent arrival (arrival time minus slot time) plus a margin,
//! at most [`MAX_PLAYOUT_DELAY_NS`]. Frames reach the host unevenly — a
//! game's readback completes once per render frame, so two frames often
//! arrive together after a gap — and waiting that long lets every one of
//! them into its own slot. At each slot the newest frame due goes out (older
//! ones due at the same slot are superseded: the game is faster than the
//! output, or a frame came later than the delay); with none due the last
//! frame is repeated.

use std::collections::VecDeque;

/// How far (in slots) a frame's capture time may sit from the slot after
/// the previous frame's and still take it. Above one half, so capture
/// jitter around a slot boundary never puts two frames in one slot; below
/// one, so a frame is never shown more than this far from its sound.
pub const SLOT_TOLERANCE: f64 = 0.7;

/// Longest the pump waits for late frames. The audio mixer waits as long
/// for late game audio, so neither stream reaches the muxer later than the
/// other; a frame later than this may be superseded.
pub const MAX_PLAYOUT_DELAY_NS: u64 = 100_000_000;

/// Added to the slowest recent arrival: the host's own hand-over (its loop
/// runs every few milliseconds) and the pump's wake-up jitter.
const DELAY_MARGIN_NS: u64 = 5_000_000;

/// How long a slow arrival keeps the delay up.
const LATENESS_WINDOW_NS: u64 = 10_000_000_000;

/// Frames waiting at most. Only a pump that stopped pulling (or a game whose
/// frames all map to the future) reaches it; the oldest are dropped.
const MAX_WAITING: usize = 16;

/// Frames waiting for their slot on the output grid (see the module docs).
#[derive(Debug)]
pub struct FrameSchedule<T> {
    period_ns: u64,
    /// Presentation time of slot 0: where the slate ended, else the first
    /// frame's capture time.
    origin_ns: Option<u64>,
    /// Where the slates already pushed end: the grid goes on from there.
    slate_end_ns: Option<u64>,
    /// Slot of the latest frame placed.
    last_slot: Option<u64>,
    /// The next slot to emit.
    next_slot: u64,
    waiting: VecDeque<(u64, T)>,
    /// (arrival, lateness) of recent frames, lateness decreasing front to back.
    lateness: VecDeque<(u64, u64)>,
}

/// What the pump does now.
#[derive(Debug, PartialEq, Eq)]
pub enum PumpStep<T> {
    /// No frame has ever arrived: there is no grid yet.
    Idle,
    /// The next slot is not due yet; ask again after this many ns.
    Wait(u64),
    /// Emit a slot.
    Emit {
        /// Presentation time (running time, ns) of the slot.
        pts_ns: u64,
        /// The frame for it; `None` repeats the last frame.
        frame: Option<T>,
        /// Frames due at this slot that a newer one replaced (never streamed).
        superseded: u64,
        /// The playout delay the slot waited (ns).
        delay_ns: u64,
    },
}

impl<T> FrameSchedule<T> {
    /// An empty schedule for an output of `fps` frames per second.
    pub fn new(fps: u32) -> Self {
        Self {
            period_ns: 1_000_000_000 / u64::from(fps.max(1)),
            origin_ns: None,
            slate_end_ns: None,
            last_slot: None,
            next_slot: 0,
            waiting: VecDeque::with_capacity(MAX_WAITING + 1),
            lateness: VecDeque::new(),
        }
    }

    /// Adds a frame captured at `capture_ns` that arrived at `arrival_ns`
    /// (both running time). A capture time after the arrival (a clock that
    /// cannot be right) counts as the arrival. Returns how many waiting
    /// frames were dropped to stay bounded.
    pub fn push(&mut self, frame: T, capture_ns: u64, arrival_ns: u64) -> u64 {
        let capture_ns = capture_ns.min(arrival_ns);
        // After a slate the grid goes on where it ended, with no gap even
        // when the pump ran late (the slots before the first frame repeat
        // the slate); without one it starts at the first frame.
        let origin = *self
            .origin_ns
            .get_or_insert(self.slate_end_ns.unwrap_or(capture_ns));
        let position = capture_ns.saturating_sub(origin) as f64 / self.period_ns as f64;
        let slot = match self.last_slot {
            Some(last) if ((last + 1) as f64 - position).abs() <= SLOT_TOLERANCE => last + 1,
            _ => position.round() as u64,
        };
        self.last_slot = Some(slot);
        let late = arrival_ns.saturating_sub(self.slot_pts(slot));
        while self.lateness.back().is_some_and(|&(_, l)| l <= late) {
            self.lateness.pop_back();
        }
        self.lateness.push_back((arrival_ns, late));
        self.waiting.push_back((slot, frame));
        let mut dropped = 0;
        while self.waiting.len() > MAX_WAITING {
            self.waiting.pop_front();
            dropped += 1;
        }
        dropped
    }

    /// Makes the grid start at `pts_ns` (running time): the pump pushed
    /// pictures of its own (the slate) up to there before the first frame
    /// arrived, and the output goes on at its rate with no gap. No effect
    /// once the grid exists.
    pub fn start_no_earlier_than(&mut self, pts_ns: u64) {
        self.slate_end_ns = Some(self.slate_end_ns.map_or(pts_ns, |end| end.max(pts_ns)));
    }

    /// The current playout delay in ns: how long after its presentation time
    /// a slot is emitted.
    pub fn delay_ns(&mut self, now_ns: u64) -> u64 {
        while self
            .lateness
            .front()
            .is_some_and(|&(arrival, _)| arrival + LATENESS_WINDOW_NS < now_ns)
        {
            self.lateness.pop_front();
        }
        let slowest = self.lateness.front().map_or(0, |&(_, late)| late);
        (slowest + DELAY_MARGIN_NS).min(MAX_PLAYOUT_DELAY_NS)
    }

    /// Decides what the pump does at `now_ns` (running time).
    pub fn step(&mut self, now_ns: u64) -> PumpStep<T> {
        if self.origin_ns.is_none() {
            return PumpStep::Idle;
        }
        let pts_ns = self.slot_pts(self.next_slot);
        let delay_ns = self.delay_ns(now_ns);
        let emit_at = pts_ns + delay_ns;
        if now_ns < emit_at {
            return PumpStep::Wait(emit_at - now_ns);
        }
        let slot = self.next_slot;
        self.next_slot += 1;
        let mut frame = None;
        let mut superseded = 0;
        while let Some((_, taken)) = self.waiting.pop_front_if(|(due, _)| *due <= slot) {
            superseded += u64::from(frame.replace(taken).is_some());
        }
        PumpStep::Emit {
            pts_ns,
            frame,
            superseded,
            delay_ns,
        }
    }

    fn slot_pts(&self, slot: u64) -> u64 {
        self.origin_ns.unwrap_or(0) + slot * self.period_ns
    }
}

/// What to push at one slot.
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
    /// Decides one slot. `arrived` is the source id of the slot's frame, if any.
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

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const PERIOD: u64 = 33_333_333;

    /// `count` frames captured at `capture(n)`, each arriving `transit(n)` later.
    fn arrivals(
        count: u32,
        capture: impl Fn(u64) -> u64,
        transit: impl Fn(u64) -> u64,
    ) -> Vec<(u32, u64, u64)> {
        (0..count)
            .map(|n| {
                let at = capture(u64::from(n));
                (n, at, at + transit(u64::from(n)))
            })
            .collect()
    }

    /// Runs a schedule at 30 fps over `arrivals` of (frame, capture, arrival)
    /// and returns what each emitted slot carried, polling every millisecond.
    fn run(arrivals: &[(u32, u64, u64)], until: u64) -> (Vec<Option<u32>>, u64) {
        let mut schedule = FrameSchedule::new(30);
        let mut pending = arrivals.iter().peekable();
        let (mut out, mut superseded) = (vec![], 0);
        for now in (0..until).step_by(MS as usize) {
            while let Some(&&(frame, capture, arrival)) = pending.peek() {
                if arrival > now {
                    break;
                }
                superseded += schedule.push(frame, capture, arrival);
                pending.next();
            }
            while let PumpStep::Emit {
                frame,
                superseded: s,
                ..
            } = schedule.step(now)
            {
                out.push(frame);
                superseded += s;
            }
        }
        (out, superseded)
    }

    #[test]
    fn frames_arriving_in_pairs_each_get_their_slot() {
        // What a lavapipe game does: captured every 33.3 ms, but the readback
        // is seen at the next render frame or the one after, so frames come
        // 47 ms or 14 ms after capture, often two at once. Only the first
        // slow frame, before the delay has learnt it, is lost.
        let arrivals = arrivals(
            60,
            |n| 100 * MS + n * PERIOD,
            |n| if n % 3 == 1 { 47 * MS } else { 14 * MS },
        );
        let (out, superseded) = run(&arrivals, 2_300 * MS);
        assert_eq!(superseded, 1);
        let shown: Vec<u32> = out.iter().flatten().copied().collect();
        let expected: Vec<u32> = [0].into_iter().chain(2..60).collect();
        assert_eq!(shown, expected);
        let repeats = out[..60].iter().filter(|f| f.is_none()).count();
        assert_eq!(repeats, 1, "one repeat, where frame 1 was late");
    }

    #[test]
    fn capture_jitter_at_a_slot_boundary_neither_drops_nor_repeats() {
        // After the first frame, captures alternate 16.0 and 17.4 ms after
        // slot times: right on the half-period boundary, where rounding alone
        // would put two frames in one slot and none in the next.
        let jitter = |n: u64| match n {
            0 => 0,
            n if n % 2 == 1 => 16 * MS,
            _ => 17_400_000,
        };
        let arrivals = arrivals(30, |n| n * PERIOD + jitter(n), |_| 2 * MS);
        let (out, superseded) = run(&arrivals, 1_200 * MS);
        // Frame 1 is later than frame 0 taught the delay: the start-up loss.
        assert_eq!(superseded, 1);
        let shown: Vec<u32> = out.iter().flatten().copied().collect();
        let expected: Vec<u32> = [0].into_iter().chain(2..30).collect();
        assert_eq!(shown, expected);
    }

    #[test]
    fn a_slower_game_is_repeated_and_stays_near_its_sound() {
        // 29.7 fps into a 30 fps output: a repeat every ~100 frames, no loss,
        // and every frame within the tolerance of its own capture time.
        let arrivals = arrivals(300, |n| n * 33_670_000, |_| 3 * MS);
        let mut schedule = FrameSchedule::new(30);
        let mut slots = vec![];
        for &(frame, capture, arrival) in &arrivals {
            assert_eq!(schedule.push(frame, capture, arrival), 0);
            while let PumpStep::Emit { pts_ns, frame, .. } = schedule.step(arrival + 10 * MS) {
                slots.push((pts_ns, frame));
            }
        }
        let shown: Vec<u32> = slots.iter().filter_map(|(_, f)| *f).collect();
        assert!(shown.len() >= 299, "{} frames shown", shown.len());
        assert_eq!(shown, (0..shown.len() as u32).collect::<Vec<_>>());
        let repeats = slots.iter().filter(|(_, f)| f.is_none()).count();
        assert!((2..=4).contains(&repeats), "{repeats} repeats");
        for (pts, frame) in slots.iter().filter_map(|(p, f)| Some((p, (*f)?))) {
            let offset = *pts as f64 - arrivals[frame as usize].1 as f64;
            assert!(offset.abs() <= SLOT_TOLERANCE * PERIOD as f64, "{offset}");
        }
    }

    #[test]
    fn a_faster_source_keeps_the_newest_frame_of_each_slot() {
        // 60 fps into 30 fps: every other frame is superseded, delay stays put.
        let arrivals = arrivals(20, |n| n * PERIOD / 2, |_| MS);
        let (out, superseded) = run(&arrivals, 400 * MS);
        let shown: Vec<u32> = out.iter().take(10).map(|f| f.unwrap()).collect();
        assert_eq!(shown, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
        assert_eq!(superseded, 9);
    }

    #[test]
    fn the_delay_follows_the_slowest_recent_arrival_and_is_bounded() {
        let mut schedule = FrameSchedule::new(30);
        assert_eq!(schedule.step(0), PumpStep::Idle);
        schedule.push(0, 0, 2 * MS);
        assert_eq!(schedule.delay_ns(2 * MS), 7 * MS);
        schedule.push(1, PERIOD, PERIOD + 40 * MS);
        assert_eq!(schedule.delay_ns(PERIOD + 40 * MS), 45 * MS);
        schedule.push(2, 2 * PERIOD, 2 * PERIOD + 500 * MS);
        assert_eq!(schedule.delay_ns(3 * PERIOD), MAX_PLAYOUT_DELAY_NS);
        // Ten seconds later the slow ones no longer count.
        schedule.push(3, 360 * PERIOD, 360 * PERIOD + 3 * MS);
        assert_eq!(schedule.delay_ns(360 * PERIOD + 3 * MS), 8 * MS);
    }

    #[test]
    fn nothing_due_repeats_and_a_late_frame_goes_out_at_the_next_slot() {
        let mut schedule = FrameSchedule::new(30);
        schedule.push('a', 0, MS);
        let emitted = |step: PumpStep<char>| match step {
            PumpStep::Emit { pts_ns, frame, .. } => (pts_ns, frame),
            other => panic!("expected a slot, got {other:?}"),
        };
        assert_eq!(schedule.step(0), PumpStep::Wait(6 * MS));
        assert_eq!(emitted(schedule.step(6 * MS)), (0, Some('a')));
        assert_eq!(emitted(schedule.step(PERIOD + 6 * MS)), (PERIOD, None));
        // Frame b belonged to slot 1, already emitted as a repeat.
        schedule.push('b', PERIOD, PERIOD + 20 * MS);
        let (pts, frame) = emitted(schedule.step(2 * PERIOD + 25 * MS));
        assert_eq!((pts, frame), (2 * PERIOD, Some('b')));
    }

    #[test]
    fn a_capture_stamped_in_the_future_counts_from_its_arrival() {
        let mut schedule = FrameSchedule::new(30);
        schedule.push(0, 10 * MS, 10 * MS);
        schedule.push(1, 9_999_000 * MS, 10 * MS + PERIOD);
        assert_eq!(schedule.delay_ns(10 * MS + PERIOD), 5 * MS);
        let mut shown = vec![];
        for now in [20 * MS, 50 * MS] {
            if let PumpStep::Emit { frame, .. } = schedule.step(now) {
                shown.push(frame);
            }
        }
        assert_eq!(shown, [Some(0), Some(1)]);
    }

    #[test]
    fn the_waiting_line_is_bounded() {
        let mut schedule = FrameSchedule::new(30);
        let dropped: u64 = (0..20u32)
            .map(|n| schedule.push(n, u64::from(n) * PERIOD, u64::from(n) * PERIOD))
            .sum();
        assert_eq!(dropped, 4);
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
    fn the_first_frame_after_the_slate_starts_the_grid_no_earlier_than_the_slate_ended() {
        let mut schedule = FrameSchedule::new(30);
        assert_eq!(schedule.step(400 * MS), PumpStep::Idle);
        // The slate went out up to 500 ms; the first frame was captured at 480 ms.
        schedule.start_no_earlier_than(500 * MS);
        schedule.push("first", 480 * MS, 490 * MS);
        let PumpStep::Emit { pts_ns, frame, .. } = schedule.step(600 * MS) else {
            panic!("slot 0 is due");
        };
        assert_eq!((pts_ns, frame), (500 * MS, Some("first")));
        // Later frames keep their own times.
        schedule.push("second", 480 * MS + PERIOD, 530 * MS);
        let PumpStep::Emit { pts_ns, frame, .. } = schedule.step(700 * MS) else {
            panic!("slot 1 is due");
        };
        assert_eq!((pts_ns, frame), (500 * MS + PERIOD, Some("second")));
    }

    #[test]
    fn a_first_frame_long_after_the_slate_leaves_no_gap() {
        let mut schedule = FrameSchedule::new(30);
        // The slate ended at 500 ms, but the pump ran late: the first frame
        // was captured two periods after.
        schedule.start_no_earlier_than(500 * MS);
        schedule.push("first", 500 * MS + 2 * PERIOD, 500 * MS + 2 * PERIOD + MS);
        let mut emitted = Vec::new();
        for now in (600..=700).step_by(10) {
            if let PumpStep::Emit { pts_ns, frame, .. } = schedule.step(now * MS) {
                emitted.push((pts_ns, frame));
            }
        }
        assert_eq!(
            emitted[..3],
            [
                (500 * MS, None),
                (500 * MS + PERIOD, None),
                (500 * MS + 2 * PERIOD, Some("first"))
            ],
            "the slate repeats until the first frame's slot"
        );
    }
}
