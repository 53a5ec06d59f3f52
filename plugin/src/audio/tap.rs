//! The tap on kira's main track: an [`Effect`] that copies what the game
//! plays into lock-free single-producer rings, and the consumer side that
//! turns those blocks into timestamped chunks for the host.
//!
//! The audio thread never allocates, locks or waits: a block that does not
//! fit in the ring is dropped and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kira::Frame;
use kira::effect::{Effect, EffectBuilder};
use kira::info::Info;
use livestream_ipc::monotonic_ns;
use rtrb::{Consumer, Producer, RingBuffer};

/// Interleaved channels the tap records (kira mixes in stereo).
pub(crate) const CHANNELS: u16 = 2;

/// One block the audio thread processed: when, and how many frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockStamp {
    /// `CLOCK_MONOTONIC` ns when kira processed the block.
    pub timestamp_ns: u64,
    /// Sample frames in the block.
    pub frames: u32,
}

/// State shared by the tap, its consumer and the game.
#[derive(Debug, Default)]
pub(crate) struct TapShared {
    /// Record only while the host wants audio.
    pub enabled: AtomicBool,
    /// Frames the audio thread could not store (the consumer was behind).
    pub dropped_frames: AtomicU64,
}

/// Builds the tap effect; add it to the main track.
pub(crate) struct TapBuilder {
    samples: Producer<f32>,
    stamps: Producer<BlockStamp>,
    shared: Arc<TapShared>,
}

/// Creates a tap with room for `frames` sample frames, and its consumer.
pub(crate) fn tap(frames: usize, shared: Arc<TapShared>) -> (TapBuilder, TapConsumer) {
    let (samples, sample_rx) = RingBuffer::new(frames * usize::from(CHANNELS));
    // Blocks are at least a few frames long; 1 stamp per 16 frames is plenty.
    let (stamps, stamp_rx) = RingBuffer::new(frames / 16 + 1);
    (
        TapBuilder {
            samples,
            stamps,
            shared: shared.clone(),
        },
        TapConsumer {
            samples: sample_rx,
            stamps: stamp_rx,
        },
    )
}

impl EffectBuilder for TapBuilder {
    type Handle = ();

    fn build(self) -> (Box<dyn Effect>, ()) {
        (Box::new(Tap(self)), ())
    }
}

struct Tap(TapBuilder);

impl Effect for Tap {
    fn process(&mut self, input: &mut [Frame], _dt: f64, _info: &Info) {
        let tap = &mut self.0;
        if !tap.shared.enabled.load(Ordering::Relaxed) || input.is_empty() {
            return;
        }
        let needed = input.len() * usize::from(CHANNELS);
        if tap.samples.slots() < needed || tap.stamps.slots() == 0 {
            tap.shared
                .dropped_frames
                .fetch_add(input.len() as u64, Ordering::Relaxed);
            return;
        }
        let Ok(chunk) = tap.samples.write_chunk_uninit(needed) else {
            return;
        };
        chunk.fill_from_iter(input.iter().flat_map(|f| [f.left, f.right]));
        // Room was checked above; the stamp always fits.
        let _ = tap.stamps.push(BlockStamp {
            timestamp_ns: monotonic_ns(),
            frames: input.len() as u32,
        });
    }
}

/// The reading end of the tap (owned by the sender thread).
pub(crate) struct TapConsumer {
    samples: Consumer<f32>,
    stamps: Consumer<BlockStamp>,
}

impl TapConsumer {
    /// Moves every complete block into `timeline`.
    pub fn drain_into(&mut self, timeline: &mut ChunkTimeline) {
        while let Ok(stamp) = self.stamps.peek().copied() {
            let wanted = stamp.frames as usize * usize::from(CHANNELS);
            let Ok(chunk) = self.samples.read_chunk(wanted) else {
                // The producer pushes samples before the stamp, so this does not happen.
                return;
            };
            let (a, b) = chunk.as_slices();
            timeline.push_block(stamp.timestamp_ns, a, b);
            chunk.commit_all();
            let _ = self.stamps.pop();
        }
    }
}

/// A chunk ready to send: its first sample's time and interleaved samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimedChunk {
    /// `CLOCK_MONOTONIC` ns of the first frame.
    pub timestamp_ns: u64,
    /// Interleaved stereo samples.
    pub samples: Vec<f32>,
}

/// Turns blocks stamped when the audio thread ran into chunks on a
/// sample-accurate timeline: within a run, a block's time is the run's start
/// plus the frames before it; a new run starts when the stamps and the
/// timeline disagree by more than `resync_ns` (a dropped block, a stall, or
/// the sound card's clock drifting from the system's).
#[derive(Debug)]
pub(crate) struct ChunkTimeline {
    sample_rate: u32,
    chunk_frames: usize,
    resync_ns: u64,
    run_start_ns: Option<u64>,
    run_frames: u64,
    pending_start_ns: u64,
    pending: Vec<f32>,
    ready: Vec<TimedChunk>,
}

impl ChunkTimeline {
    /// Chunks of `chunk_frames` frames at `sample_rate`.
    pub fn new(sample_rate: u32, chunk_frames: usize, resync_ns: u64) -> Self {
        Self {
            sample_rate,
            chunk_frames,
            resync_ns,
            run_start_ns: None,
            run_frames: 0,
            pending_start_ns: 0,
            pending: Vec::with_capacity(chunk_frames * usize::from(CHANNELS) * 2),
            ready: Vec::new(),
        }
    }

    fn timeline_ns(&self) -> Option<u64> {
        self.run_start_ns
            .map(|start| start + self.run_frames * 1_000_000_000 / u64::from(self.sample_rate))
    }

    /// Adds one block (its samples may wrap around the ring: `a` then `b`).
    pub fn push_block(&mut self, stamp_ns: u64, a: &[f32], b: &[f32]) {
        let predicted = self.timeline_ns();
        if predicted.is_none_or(|p| p.abs_diff(stamp_ns) > self.resync_ns) {
            self.flush();
            self.run_start_ns = Some(stamp_ns);
            self.run_frames = 0;
        }
        if self.pending.is_empty() {
            self.pending_start_ns = self.timeline_ns().unwrap_or(stamp_ns);
        }
        self.pending.extend_from_slice(a);
        self.pending.extend_from_slice(b);
        self.run_frames += ((a.len() + b.len()) / usize::from(CHANNELS)) as u64;
        if self.pending.len() >= self.chunk_frames * usize::from(CHANNELS) {
            self.flush();
        }
    }

    /// Ends the current chunk early (nothing is lost).
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let samples = core::mem::replace(
            &mut self.pending,
            Vec::with_capacity(self.chunk_frames * usize::from(CHANNELS) * 2),
        );
        self.ready.push(TimedChunk {
            timestamp_ns: self.pending_start_ns,
            samples,
        });
    }

    /// Chunks completed so far, oldest first.
    pub fn take_ready(&mut self) -> impl Iterator<Item = TimedChunk> + '_ {
        self.ready.drain(..)
    }

    /// Forgets the run (after a pause in recording the next block starts a new one).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.ready.clear();
        self.run_start_ns = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kira::backend::mock::{MockBackend, MockBackendSettings};
    use kira::sound::static_sound::{StaticSoundData, StaticSoundSettings};
    use kira::track::MainTrackBuilder;
    use kira::{AudioManager, AudioManagerSettings};

    const MS: u64 = 1_000_000;

    #[test]
    fn blocks_join_into_chunks_on_a_sample_accurate_timeline() {
        let mut timeline = ChunkTimeline::new(48_000, 480, 50 * MS);
        let block = vec![0.5f32; 128 * 2];
        // Four blocks processed in one burst (same stamp): 512 frames.
        for _ in 0..4 {
            timeline.push_block(1_000 * MS, &block, &[]);
        }
        let chunks: Vec<_> = timeline.take_ready().collect();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].timestamp_ns, 1_000 * MS);
        assert_eq!(chunks[0].samples.len(), 512 * 2);
        // The next block continues the timeline: 512 frames = 10.667 ms later.
        timeline.push_block(1_011 * MS, &block, &[]);
        timeline.flush();
        let next: Vec<_> = timeline.take_ready().collect();
        assert_eq!(
            next[0].timestamp_ns,
            1_000 * MS + 512 * 1_000_000_000 / 48_000
        );
    }

    #[test]
    fn a_gap_starts_a_new_run() {
        let mut timeline = ChunkTimeline::new(48_000, 480, 50 * MS);
        let block = vec![0.0f32; 128 * 2];
        timeline.push_block(1_000 * MS, &block, &[]);
        timeline.push_block(2_000 * MS, &block, &[]);
        timeline.flush();
        let stamps: Vec<_> = timeline.take_ready().map(|c| c.timestamp_ns).collect();
        assert_eq!(stamps, [1_000 * MS, 2_000 * MS]);
    }

    #[test]
    fn the_tap_records_what_kira_plays() {
        let shared = Arc::new(TapShared::default());
        let (builder, mut consumer) = tap(48_000, shared.clone());
        let mut manager = AudioManager::<MockBackend>::new(AudioManagerSettings {
            backend_settings: MockBackendSettings {
                sample_rate: 48_000,
            },
            main_track_builder: MainTrackBuilder::new().with_effect(builder),
            ..Default::default()
        })
        .unwrap();
        let tone: Vec<Frame> = (0..4_800)
            .map(|i| Frame::from_mono((i as f32 * 0.05).sin() * 0.5))
            .collect();
        manager
            .play(StaticSoundData {
                sample_rate: 48_000,
                frames: tone.into(),
                settings: StaticSoundSettings::default(),
                slice: None,
            })
            .unwrap();
        let mut timeline = ChunkTimeline::new(48_000, 480, 50 * MS);
        // Disabled: nothing recorded.
        manager.backend_mut().on_start_processing();
        manager.backend_mut().process();
        consumer.drain_into(&mut timeline);
        timeline.flush();
        assert_eq!(timeline.take_ready().count(), 0);

        shared.enabled.store(true, Ordering::Relaxed);
        for _ in 0..10 {
            manager.backend_mut().on_start_processing();
            manager.backend_mut().process();
        }
        consumer.drain_into(&mut timeline);
        timeline.flush();
        let chunks: Vec<_> = timeline.take_ready().collect();
        let samples: Vec<f32> = chunks.iter().flat_map(|c| c.samples.clone()).collect();
        assert!(!samples.is_empty());
        let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.1, "the tone is in the tap (peak {peak})");
        assert_eq!(shared.dropped_frames.load(Ordering::Relaxed), 0);
    }
}
