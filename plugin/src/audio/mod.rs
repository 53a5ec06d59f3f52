//! Game audio: the kira [`AudioManager`] the game plays its sounds through,
//! with a tap on the main track whose blocks a sender thread stamps and ships
//! to the host. Sounds the game plays with Bevy's own `bevy_audio` are played
//! into the same manager ([`bevy_playback`]). Without a sound device
//! (servers, CI, headless games) kira runs on a virtual output paced in real
//! time, so the stream still has sound.

mod backend;
mod bevy_playback;
mod late_source;
mod rodio_mix;
mod tap;

use std::num::NonZero;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use bevy::prelude::*;
use kira::track::MainTrackBuilder;
use kira::{AudioManager, AudioManagerSettings};
use livestream_ipc::PayloadPool;
use livestream_protocol::{AudioChunkHeader, AudioFormat, GameMessage};
use tracing::{info, warn};

pub use backend::{GameAudioBackend, GameAudioError};
use bevy_playback::StreamedMixer;
use rodio_mix::RodioMix;
use tap::{CHANNELS, ChunkTimeline, TapConsumer, TapShared};

use crate::config::AudioOutput;
use crate::route::RouteReceiver;

/// Frames the tap can hold if the sender thread falls behind (½ s at 96 kHz).
const TAP_FRAMES: usize = 48_000;
/// How often the sender thread ships what the tap recorded.
const SEND_INTERVAL: Duration = Duration::from_millis(10);
/// Frames per chunk at most (10 ms at 48 kHz).
const CHUNK_FRAMES: usize = 480;
/// Disagreement between the audio thread's stamps and the sample timeline
/// that starts a new timeline (larger than any sound card's callback period).
const RESYNC_NS: u64 = 50_000_000;

/// The game's audio: play sounds through [`GameAudio::manager`] (or deref)
/// so they reach both the speakers and the stream.
#[derive(Resource)]
pub struct GameAudio {
    manager: AudioManager<GameAudioBackend>,
    sample_rate: u32,
    tap: Arc<TapShared>,
    sender: Option<SenderThread>,
    chunks_sent: Arc<AtomicU64>,
    bevy_mix: RodioMix,
}

struct SenderThread {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl GameAudio {
    /// Opens the audio output (`Auto`: the sound device, else virtual) with the tap installed.
    pub(crate) fn open(output: AudioOutput, route: RouteReceiver) -> Result<Self, GameAudioError> {
        let tap_shared = Arc::new(TapShared::default());
        let open = |output: AudioOutput| {
            let (builder, consumer) = tap::tap(TAP_FRAMES, tap_shared.clone());
            let manager = AudioManager::<GameAudioBackend>::new(AudioManagerSettings {
                backend_settings: output,
                main_track_builder: MainTrackBuilder::new().with_effect(builder),
                ..default()
            })?;
            Ok::<_, GameAudioError>((manager, consumer))
        };
        let (manager, consumer) = match open(output) {
            Ok(opened) => opened,
            Err(err) if output == AudioOutput::Auto => {
                info!("no usable sound device ({err}); game sound goes to the stream only");
                open(AudioOutput::Virtual)?
            }
            Err(err) => return Err(err),
        };
        let mut manager = manager;
        let sample_rate = manager.backend_mut().sample_rate();
        let (bevy_mix, bevy_sound) = rodio_mix::start(sample_rate)?;
        manager.play(bevy_sound).map_err(GameAudioError::BevyMix)?;
        let chunks_sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, sent, shared) = (stop.clone(), chunks_sent.clone(), tap_shared.clone());
            std::thread::Builder::new()
                .name("livestream-audio-send".into())
                .spawn(move || send_audio(consumer, route, sample_rate, &shared, &stop, &sent))
                .map_err(GameAudioError::Thread)?
        };
        Ok(Self {
            manager,
            sample_rate,
            tap: tap_shared,
            sender: Some(SenderThread { stop, thread }),
            chunks_sent,
            bevy_mix,
        })
    }

    /// The kira manager: play sounds, add tracks, set volumes.
    pub fn manager(&mut self) -> &mut AudioManager<GameAudioBackend> {
        &mut self.manager
    }

    /// Format of what the game sends (announced in the hello).
    pub fn format(&self) -> AudioFormat {
        AudioFormat {
            sample_rate: self.sample_rate,
            channels: CHANNELS,
        }
    }

    /// Whether the sound goes to a real device (else only to the stream).
    pub fn has_device(&mut self) -> bool {
        !self.manager.backend_mut().is_virtual()
    }

    /// Records the main track while `on` (the host asked for audio).
    pub(crate) fn set_recording(&self, on: bool) {
        self.tap.enabled.store(on, Ordering::Relaxed);
    }

    /// (chunks sent, frames dropped by the audio thread, frames of
    /// `bevy_audio` sound that came too late for kira and were played as silence).
    pub(crate) fn counters(&self) -> (u64, u64, u64) {
        (
            self.chunks_sent.load(Ordering::Relaxed),
            self.tap.dropped_frames.load(Ordering::Relaxed),
            self.bevy_mix.underrun_frames(),
        )
    }

    /// Where `bevy_audio` sounds are played so they reach the stream.
    fn streamed_mixer(&self) -> StreamedMixer {
        StreamedMixer::new(
            self.bevy_mix.mixer().clone(),
            NonZero::new(CHANNELS).expect("stereo"),
            NonZero::new(self.sample_rate).expect("checked when the mix started"),
        )
    }
}

/// Plays the game's `bevy_audio` sounds into `audio` (see [`bevy_playback`]).
pub(crate) fn play_bevy_audio(app: &mut App, audio: &GameAudio) {
    bevy_playback::build(app, audio.streamed_mixer());
}

/// Registers what Bevy's `AudioPlugin` would have, if the game left it out
/// and its sounds are played here.
pub(crate) fn finish(app: &mut App) {
    if app.world().contains_resource::<StreamedMixer>() {
        bevy_playback::finish(app);
    }
}

impl Drop for GameAudio {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.stop.store(true, Ordering::Relaxed);
            let _ = sender.thread.join();
        }
    }
}

/// The sender thread: every few milliseconds, turn the tap's blocks into
/// timestamped chunks and queue them on the host link.
fn send_audio(
    mut consumer: TapConsumer,
    mut route: RouteReceiver,
    sample_rate: u32,
    tap: &TapShared,
    stop: &AtomicBool,
    sent: &AtomicU64,
) {
    let mut timeline = ChunkTimeline::new(sample_rate, CHUNK_FRAMES, RESYNC_NS);
    let pool = PayloadPool::new(8);
    let mut bytes = Vec::with_capacity(CHUNK_FRAMES * usize::from(CHANNELS) * 8);
    let mut sequence = 0u64;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(SEND_INTERVAL);
        consumer.drain_into(&mut timeline);
        if !tap.enabled.load(Ordering::Relaxed) {
            timeline.reset();
            continue;
        }
        let Some(outbox) = route.current() else {
            timeline.reset();
            continue;
        };
        for chunk in timeline.take_ready() {
            let frames = (chunk.samples.len() / usize::from(CHANNELS)) as u32;
            let header = AudioChunkHeader {
                sample_rate,
                channels: CHANNELS,
                frames,
                timestamp_ns: chunk.timestamp_ns,
                sequence,
            };
            sequence += 1;
            bytes.clear();
            bytes.extend(chunk.samples.iter().flat_map(|s| s.to_le_bytes()));
            match outbox.send_with_payload(GameMessage::AudioChunk(header), pool.take_copy(&bytes))
            {
                Ok(()) => {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(err) => warn!("audio chunk not queued: {err}"),
            }
        }
    }
}
