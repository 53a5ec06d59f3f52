//! Bevy's own sounds into kira: a rodio [`Mixer`] (the one `bevy_audio`'s
//! sinks are connected to, see [`super::bevy_playback`]) that a render
//! thread runs a little ahead of kira into a lock-free ring, and a kira
//! [`Sound`] on the main track that plays the ring. So the player hears
//! `bevy_audio` through the same device as kira, and the main-track tap
//! records both on one clock.
//!
//! rodio's sinks lock their controls and decoders allocate as they run, so
//! they run on the render thread, never on kira's audio thread: the audio
//! thread only reads the ring (no allocation, lock or wait). The render
//! thread keeps the ring as full as the largest batch kira has taken at once
//! plus [`MARGIN_FRAMES`]: that is the latency `bevy_audio` sounds have over
//! kira's own (5.3 ms with the virtual output's 128-frame batches; a sound
//! card's period plus 2.7 ms otherwise).

use std::num::NonZero;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use kira::Frame;
use kira::info::Info;
use kira::sound::{Sound, SoundData};
use rodio::mixer::{Mixer, MixerSource};
use rtrb::{Consumer, Producer, RingBuffer};

use super::GameAudioError;

/// Interleaved channels of the mix (kira mixes in stereo).
const CHANNELS: usize = 2;
/// Frames the ring holds: far more than any batch a sound card asks for.
const RING_FRAMES: usize = 8_192;
/// Frames rendered ahead of kira on top of its largest batch, for the
/// render thread's wake-up jitter.
pub(crate) const MARGIN_FRAMES: usize = 128;
/// How often the render thread tops up the ring.
const POLL: Duration = Duration::from_millis(1);

/// State shared by the render thread and the kira sound.
#[derive(Debug)]
struct MixShared {
    /// The most frames kira has taken in one batch (learnt as it plays).
    largest_batch: AtomicUsize,
    /// Frames kira wanted that the ring did not have (played as silence),
    /// except while a batch larger than any before is being learnt.
    underrun_frames: AtomicU64,
}

/// The running mix: connect `bevy_audio` sinks to [`RodioMix::mixer`].
pub(crate) struct RodioMix {
    mixer: Mixer,
    shared: Arc<MixShared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the render thread for a kira mixer running at `sample_rate`; play
/// the returned sound on kira's main track.
pub(crate) fn start(sample_rate: u32) -> Result<(RodioMix, MixSound), GameAudioError> {
    let rate = NonZero::new(sample_rate).ok_or(GameAudioError::SampleRate(sample_rate))?;
    let channels = NonZero::new(CHANNELS as u16).expect("two channels");
    let (mixer, source) = rodio::mixer::mixer(channels, rate);
    let (producer, consumer) = RingBuffer::new(RING_FRAMES * CHANNELS);
    let shared = Arc::new(MixShared {
        largest_batch: AtomicUsize::new(0),
        underrun_frames: AtomicU64::new(0),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (shared, stop) = (shared.clone(), stop.clone());
        std::thread::Builder::new()
            .name("livestream-bevy-audio".into())
            .spawn(move || render(source, producer, &shared, &stop))
            .map_err(GameAudioError::Thread)?
    };
    let sound = MixSound {
        ring: consumer,
        shared: shared.clone(),
        batch_frames: 0,
    };
    Ok((
        RodioMix {
            mixer,
            shared,
            stop,
            thread: Some(thread),
        },
        sound,
    ))
}

impl RodioMix {
    /// The mixer `bevy_audio` sinks play into.
    pub fn mixer(&self) -> &Mixer {
        &self.mixer
    }

    /// Frames kira played as silence because the render thread was late.
    pub fn underrun_frames(&self) -> u64 {
        self.shared.underrun_frames.load(Ordering::Relaxed)
    }
}

impl Drop for RodioMix {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The render thread: keeps the ring filled to kira's largest batch plus the
/// margin, silence where no sound plays.
fn render(mut source: MixerSource, mut ring: Producer<f32>, shared: &MixShared, stop: &AtomicBool) {
    let capacity = ring.buffer().capacity();
    while !stop.load(Ordering::Relaxed) {
        let ahead = capacity - ring.slots();
        let wanted = ((shared.largest_batch.load(Ordering::Relaxed) + MARGIN_FRAMES) * CHANNELS)
            .min(capacity);
        if ahead < wanted
            && let Ok(chunk) = ring.write_chunk_uninit(wanted - ahead)
        {
            // Whole frames only: `wanted` and `ahead` are both even.
            chunk.fill_from_iter(std::iter::from_fn(|| Some(source.next().unwrap_or(0.0))));
        }
        std::thread::sleep(POLL);
    }
}

/// kira's side: plays what the render thread put in the ring.
pub(crate) struct MixSound {
    ring: Consumer<f32>,
    shared: Arc<MixShared>,
    batch_frames: usize,
}

impl SoundData for MixSound {
    type Error = ();
    type Handle = ();

    fn into_sound(self) -> Result<(Box<dyn Sound>, ()), ()> {
        Ok((Box::new(self), ()))
    }
}

impl Sound for MixSound {
    fn on_start_processing(&mut self) {
        self.batch_frames = 0;
    }

    fn process(&mut self, out: &mut [Frame], _dt: f64, _info: &Info) {
        self.batch_frames += out.len();
        let largest_before = self
            .shared
            .largest_batch
            .fetch_max(self.batch_frames.min(RING_FRAMES / 2), Ordering::Relaxed);
        let frames = out.len().min(self.ring.slots() / CHANNELS);
        if let Ok(chunk) = self.ring.read_chunk(frames * CHANNELS) {
            let (a, b) = chunk.as_slices();
            let mut samples = a.iter().chain(b);
            for frame in &mut out[..frames] {
                let (Some(&left), Some(&right)) = (samples.next(), samples.next()) else {
                    break;
                };
                *frame = Frame { left, right };
            }
            chunk.commit_all();
        }
        if frames < out.len() {
            out[frames..].fill(Frame::ZERO);
            if self.batch_frames <= largest_before {
                self.shared
                    .underrun_frames
                    .fetch_add((out.len() - frames) as u64, Ordering::Relaxed);
            }
        }
    }

    fn finished(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::super::tap::{ChunkTimeline, TapShared, tap};
    use super::*;
    use kira::backend::mock::{MockBackend, MockBackendSettings};
    use kira::track::MainTrackBuilder;
    use kira::{AudioManager, AudioManagerSettings};
    use rodio::Source;
    use rodio::source::SineWave;
    use std::time::Instant;

    /// kira (a mock device, recorded by the main-track tap) plays a rodio
    /// sine wave added to the mixer, at its pitch.
    #[test]
    fn a_rodio_source_plays_through_kira() {
        let tap_shared = Arc::new(TapShared::default());
        tap_shared.enabled.store(true, Ordering::Relaxed);
        let (tap, mut recorded) = tap(48_000, tap_shared);
        let mut manager = AudioManager::<MockBackend>::new(AudioManagerSettings {
            backend_settings: MockBackendSettings {
                sample_rate: 48_000,
            },
            main_track_builder: MainTrackBuilder::new().with_effect(tap),
            ..Default::default()
        })
        .unwrap();
        let (mix, sound) = start(48_000).unwrap();
        manager.play(sound).unwrap();
        mix.mixer().add(
            SineWave::new(1_000.0)
                .amplify(0.5)
                .take_duration(Duration::from_secs(5)),
        );
        // kira takes 512 frames (four of the mock's 128) every 10 ms, as a
        // device would, until a tenth of a second of the tone has come through.
        let mut timeline = ChunkTimeline::new(48_000, 480, u64::MAX);
        let mut left: Vec<f32> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while left.len() < 4_800 {
            assert!(Instant::now() < deadline, "no sound came through");
            manager.backend_mut().on_start_processing();
            for _ in 0..4 {
                manager.backend_mut().process();
            }
            recorded.drain_into(&mut timeline);
            timeline.flush();
            for chunk in timeline.take_ready() {
                left.extend(chunk.samples.iter().step_by(2));
            }
            // Drop the silence before the tone.
            if let Some(start) = left.iter().position(|s| s.abs() > 0.05) {
                left.drain(..start);
            } else {
                left.clear();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // A 1 kHz tone crosses zero 200 times in 0.1 s.
        let crossings = left[..4_800]
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!(
            (195..=205).contains(&crossings),
            "{crossings} zero crossings in 0.1 s"
        );
    }
}
