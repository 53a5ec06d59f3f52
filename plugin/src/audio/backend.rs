//! The kira backend of a streaming game: the sound device when there is one,
//! or a virtual output that renders in real time and discards the samples
//! (the main-track tap has already copied them for the stream).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kira::backend::cpal::{CpalBackend, CpalBackendSettings};
use kira::backend::{Backend, Renderer};
use thiserror::Error;

use crate::config::AudioOutput;

/// Sample rate of the virtual output.
pub(crate) const VIRTUAL_SAMPLE_RATE: u32 = 48_000;
/// Frames the virtual output renders per tick (2.7 ms, a small device
/// period: what `bevy_audio` sounds wait for, see `rodio_mix`).
const VIRTUAL_TICK_FRAMES: usize = 128;

/// Why game audio could not start.
#[derive(Debug, Error)]
pub enum GameAudioError {
    /// The sound device could not be opened.
    #[error("sound device: {0}")]
    Device(#[from] kira::backend::cpal::Error),
    /// A thread could not be started.
    #[error("cannot start an audio thread: {0}")]
    Thread(std::io::Error),
    /// The device reported a sample rate no mixer can run at.
    #[error("the sound device reports an unusable sample rate ({0} Hz)")]
    SampleRate(u32),
    /// kira refused the sound that plays `bevy_audio`'s mix.
    #[error("cannot play Bevy's sounds through kira: {0}")]
    BevyMix(kira::PlaySoundError<()>),
}

/// Where kira renders: a sound device or the real-time virtual output.
pub enum GameAudioBackend {
    /// The system's default output device.
    Device {
        /// kira's cpal backend.
        backend: CpalBackend,
        /// The device's sample rate.
        sample_rate: u32,
    },
    /// No device: rendered in real time for the stream only.
    Virtual(VirtualOutput),
}

impl GameAudioBackend {
    /// Samples per second the mixer runs at.
    pub fn sample_rate(&self) -> u32 {
        match self {
            Self::Device { sample_rate, .. } => *sample_rate,
            Self::Virtual(_) => VIRTUAL_SAMPLE_RATE,
        }
    }

    /// Whether this is the virtual output.
    pub fn is_virtual(&self) -> bool {
        matches!(self, Self::Virtual(_))
    }
}

impl Backend for GameAudioBackend {
    type Settings = AudioOutput;
    type Error = GameAudioError;

    fn setup(
        output: AudioOutput,
        internal_buffer_size: usize,
    ) -> Result<(Self, u32), GameAudioError> {
        match output {
            AudioOutput::Auto => {
                let (backend, sample_rate) =
                    CpalBackend::setup(CpalBackendSettings::default(), internal_buffer_size)?;
                Ok((
                    Self::Device {
                        backend,
                        sample_rate,
                    },
                    sample_rate,
                ))
            }
            AudioOutput::Virtual => {
                Ok((Self::Virtual(VirtualOutput::default()), VIRTUAL_SAMPLE_RATE))
            }
        }
    }

    fn start(&mut self, renderer: Renderer) -> Result<(), GameAudioError> {
        match self {
            Self::Device { backend, .. } => Ok(backend.start(renderer)?),
            Self::Virtual(output) => output.start(renderer),
        }
    }
}

/// Renders kira's mix a tick at a time on its own thread, paced by the clock.
#[derive(Default)]
pub struct VirtualOutput {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VirtualOutput {
    fn start(&mut self, mut renderer: Renderer) -> Result<(), GameAudioError> {
        let stop = self.stop.clone();
        let thread = std::thread::Builder::new()
            .name("livestream-virtual-audio".into())
            .spawn(move || {
                let tick = Duration::from_secs_f64(
                    VIRTUAL_TICK_FRAMES as f64 / f64::from(VIRTUAL_SAMPLE_RATE),
                );
                let mut out = vec![0f32; VIRTUAL_TICK_FRAMES * 2];
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    renderer.on_start_processing();
                    renderer.process(&mut out, 2);
                    next += tick;
                    let now = Instant::now();
                    match next.checked_duration_since(now) {
                        Some(wait) => std::thread::sleep(wait),
                        // Far behind (the machine stalled): restart the grid
                        // rather than rendering a burst.
                        None if now - next > tick * 10 => next = now,
                        None => {}
                    }
                }
            })
            .map_err(GameAudioError::Thread)?;
        self.thread = Some(thread);
        Ok(())
    }
}

impl Drop for VirtualOutput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
