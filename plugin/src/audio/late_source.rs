//! A rodio source for a sound whose asset has not loaded yet: silence until
//! the decoder arrives, then the decoder. It lets a `bevy_audio` sink exist
//! (and Bevy's own playback system leave the entity alone) from the moment
//! the game spawns the [`AudioPlayer`](bevy::audio::AudioPlayer).

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use rodio::source::SeekError;
use rodio::{ChannelCount, Sample, SampleRate, Source};

/// A sound ready to play: the asset's decoder with the entity's
/// start position, duration and looping applied.
pub(crate) type Playable = Box<dyn Source + Send>;

/// Frames of silence between two looks for the decoder (1.3 ms at 48 kHz):
/// rodio reads a source's format again only where a span ends.
const WAIT_SPAN_FRAMES: usize = 64;

/// Plays silence until a [`Playable`] comes through its channel.
pub(crate) struct LateSource {
    arrival: Receiver<Playable>,
    playing: Option<Playable>,
    /// Samples left in the current span of silence.
    silent_left: usize,
    channels: ChannelCount,
    sample_rate: SampleRate,
}

/// A late source and the sender the decoder goes through (dropping the
/// sender unplayed ends the source).
pub(crate) fn late_source(
    channels: ChannelCount,
    sample_rate: SampleRate,
) -> (Sender<Playable>, LateSource) {
    let (sender, arrival) = crossbeam_channel::bounded(1);
    (
        sender,
        LateSource {
            arrival,
            playing: None,
            silent_left: 0,
            channels,
            sample_rate,
        },
    )
}

impl Iterator for LateSource {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        if let Some(playing) = &mut self.playing {
            return playing.next();
        }
        if self.silent_left == 0 {
            match self.arrival.try_recv() {
                Ok(playable) => return self.playing.insert(playable).next(),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {
                    self.silent_left = WAIT_SPAN_FRAMES * usize::from(self.channels.get());
                }
            }
        }
        self.silent_left -= 1;
        Some(0.0)
    }
}

impl Source for LateSource {
    fn current_span_len(&self) -> Option<usize> {
        match &self.playing {
            Some(playing) => playing.current_span_len(),
            None => Some(self.silent_left),
        }
    }

    fn channels(&self) -> ChannelCount {
        self.playing
            .as_ref()
            .map_or(self.channels, |p| p.channels())
    }

    fn sample_rate(&self) -> SampleRate {
        self.playing
            .as_ref()
            .map_or(self.sample_rate, |p| p.sample_rate())
    }

    fn total_duration(&self) -> Option<Duration> {
        self.playing.as_ref().and_then(|p| p.total_duration())
    }

    fn try_seek(&mut self, pos: Duration) -> Result<(), SeekError> {
        match &mut self.playing {
            Some(playing) => playing.try_seek(pos),
            None => Err(SeekError::NotSupported {
                underlying_source: "a sound whose asset has not loaded yet",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rodio::buffer::SamplesBuffer;
    use std::num::NonZero;

    fn mono() -> (ChannelCount, SampleRate) {
        (NonZero::new(1).unwrap(), NonZero::new(48_000).unwrap())
    }

    #[test]
    fn silence_until_the_decoder_arrives_then_the_decoder() {
        let (channels, rate) = mono();
        let (sender, mut source) = late_source(channels, rate);
        let waiting: Vec<_> = (&mut source).take(100).collect();
        assert!(waiting.iter().all(|&s| s == 0.0));
        assert_eq!(source.current_span_len(), Some(2 * WAIT_SPAN_FRAMES - 100));
        sender
            .send(Box::new(SamplesBuffer::new(channels, rate, vec![0.5; 10])))
            .unwrap();
        // The rest of the span is silence, then the sound, then the end.
        let rest: Vec<_> = source.collect();
        assert_eq!(rest.len(), 2 * WAIT_SPAN_FRAMES - 100 + 10);
        assert!(rest[..rest.len() - 10].iter().all(|&s| s == 0.0));
        assert!(rest[rest.len() - 10..].iter().all(|&s| s == 0.5));
    }

    #[test]
    fn a_sender_dropped_unplayed_ends_the_source() {
        let (channels, rate) = mono();
        let (sender, source) = late_source(channels, rate);
        drop(sender);
        assert_eq!(source.count(), 0);
    }
}
