//! Game audio placed on the pipeline's timeline: chunks keep their capture
//! timestamps (mapped to running time) but never lie after their arrival,
//! never overlap, and fade in when the shown game changes so a switch does
//! not click. Any rate and channel count passes: the pipeline converts
//! (`audioconvert ! audioresample`), told of each change of format.

/// Length of the fade-in at a switch.
pub const SWITCH_FADE_NS: u64 = 10_000_000;

/// A chunk ready to push: running-time PTS and interleaved little-endian f32 bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedChunk {
    /// Presentation time (running time) of the first sample, in ns.
    pub pts_ns: u64,
    /// Duration in ns.
    pub duration_ns: u64,
    /// Samples, interleaved f32 LE.
    pub bytes: Vec<u8>,
    /// The chunk's (rate, channels) when they differ from the chunk placed
    /// before: the source's caps must change first.
    pub new_format: Option<(u32, u16)>,
}

/// Places successive chunks of the shown game's audio.
#[derive(Debug, Default, Clone)]
pub struct AudioTimeline {
    end_ns: Option<u64>,
    source: Option<u64>,
    format: Option<(u32, u16)>,
    /// Chunks dropped because they were entirely in the past.
    pub dropped: u64,
}

impl AudioTimeline {
    /// Places one chunk: `pts_ns` is its capture's running time and
    /// `arrival_ns` the running time it arrived at (a chunk stamped later,
    /// by a wrong clock or a hostile game, counts from its arrival, so it
    /// cannot push every later chunk of every game into the past); returns
    /// `None` when it lies entirely before audio already pushed.
    pub fn place(
        &mut self,
        source: u64,
        (pts_ns, arrival_ns): (u64, u64),
        (sample_rate, channels): (u32, u16),
        bytes: &[u8],
    ) -> Option<PlacedChunk> {
        let pts_ns = pts_ns.min(arrival_ns);
        let frame_bytes = usize::from(channels) * 4;
        let frames = bytes.len() / frame_bytes;
        let ns_per_frame = 1_000_000_000f64 / f64::from(sample_rate);
        let mut skip = 0usize;
        if let Some(end) = self.end_ns
            && pts_ns < end
        {
            skip = (((end - pts_ns) as f64) / ns_per_frame).ceil() as usize;
            if skip >= frames {
                self.dropped += 1;
                return None;
            }
        }
        let start_ns = pts_ns + (skip as f64 * ns_per_frame).round() as u64;
        let kept = frames - skip;
        let duration_ns = (kept as f64 * ns_per_frame).round() as u64;
        let mut out = bytes[skip * frame_bytes..frames * frame_bytes].to_vec();
        if self.source != Some(source) {
            if self.source.is_some() {
                fade_in(&mut out, channels, sample_rate);
            }
            self.source = Some(source);
        }
        self.end_ns = Some(start_ns + duration_ns);
        let format = (sample_rate, channels);
        let new_format = (self.format != Some(format)).then_some(format);
        self.format = Some(format);
        Some(PlacedChunk {
            pts_ns: start_ns,
            duration_ns,
            bytes: out,
            new_format,
        })
    }
}

fn fade_in(bytes: &mut [u8], channels: u16, sample_rate: u32) {
    let fade_frames = (u64::from(sample_rate) * SWITCH_FADE_NS / 1_000_000_000) as usize;
    let frame_bytes = usize::from(channels) * 4;
    for (i, frame) in bytes
        .chunks_exact_mut(frame_bytes)
        .take(fade_frames)
        .enumerate()
    {
        let gain = i as f32 / fade_frames as f32;
        for sample in frame.chunks_exact_mut(4) {
            let value = f32::from_le_bytes([sample[0], sample[1], sample[2], sample[3]]) * gain;
            sample.copy_from_slice(&value.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Far later than any test chunk: arrival does not limit it.
    const LATE: u64 = u64::MAX;
    const STEREO_48K: (u32, u16) = (48_000, 2);

    fn ones(frames: usize) -> Vec<u8> {
        (0..frames * 2).flat_map(|_| 1.0f32.to_le_bytes()).collect()
    }

    fn sample(bytes: &[u8], frame: usize) -> f32 {
        f32::from_le_bytes(bytes[frame * 8..frame * 8 + 4].try_into().unwrap())
    }

    #[test]
    fn consecutive_chunks_pass_unchanged() {
        let mut timeline = AudioTimeline::default();
        let a = timeline
            .place(1, (0, LATE), STEREO_48K, &ones(480))
            .unwrap();
        assert_eq!((a.pts_ns, a.duration_ns), (0, 10_000_000));
        let b = timeline
            .place(1, (10_000_000, LATE), STEREO_48K, &ones(480))
            .unwrap();
        assert_eq!(b.pts_ns, 10_000_000);
        assert_eq!(b.bytes, ones(480));
    }

    #[test]
    fn overlap_is_trimmed_and_the_past_dropped() {
        let mut timeline = AudioTimeline::default();
        timeline
            .place(1, (0, LATE), STEREO_48K, &ones(480))
            .unwrap();
        // Starts 5 ms early: the first 240 frames are cut.
        let b = timeline
            .place(1, (5_000_000, LATE), STEREO_48K, &ones(480))
            .unwrap();
        assert_eq!(b.pts_ns, 10_000_000);
        assert_eq!(b.bytes.len(), 240 * 8);
        assert!(
            timeline
                .place(1, (0, LATE), STEREO_48K, &ones(480))
                .is_none()
        );
        assert_eq!(timeline.dropped, 1);
    }

    #[test]
    fn switch_fades_in() {
        let mut timeline = AudioTimeline::default();
        let first = timeline
            .place(1, (0, LATE), STEREO_48K, &ones(960))
            .unwrap();
        assert_eq!(
            sample(&first.bytes, 0),
            1.0,
            "the very first game does not fade"
        );
        let switched = timeline
            .place(2, (20_000_000, LATE), STEREO_48K, &ones(960))
            .unwrap();
        assert_eq!(sample(&switched.bytes, 0), 0.0);
        assert!(sample(&switched.bytes, 240) > 0.4 && sample(&switched.bytes, 240) < 0.6);
        assert_eq!(sample(&switched.bytes, 480), 1.0);
    }

    #[test]
    fn a_chunk_stamped_in_the_future_counts_from_its_arrival() {
        let mut timeline = AudioTimeline::default();
        // Stamped an hour ahead, arrived at 1 s.
        let future = timeline
            .place(
                1,
                (3_600_000_000_000, 1_000_000_000),
                STEREO_48K,
                &ones(480),
            )
            .unwrap();
        assert_eq!(future.pts_ns, 1_000_000_000);
        // The next game's chunk, honestly stamped, is not pushed into the past.
        let next = timeline
            .place(2, (1_010_000_000, 1_020_000_000), STEREO_48K, &ones(480))
            .unwrap();
        assert_eq!(next.pts_ns, 1_010_000_000);
        assert_eq!(timeline.dropped, 0);
    }

    #[test]
    fn a_change_of_format_is_announced_once() {
        let mut timeline = AudioTimeline::default();
        let mono = (44_100, 1);
        let mono_chunk: Vec<u8> = (0..441).flat_map(|_| 0.5f32.to_le_bytes()).collect();
        let first = timeline.place(1, (0, LATE), mono, &mono_chunk).unwrap();
        assert_eq!(first.new_format, Some(mono));
        assert_eq!(first.duration_ns, 10_000_000, "441 frames at 44.1 kHz");
        let second = timeline
            .place(1, (10_000_000, LATE), mono, &mono_chunk)
            .unwrap();
        assert_eq!(second.new_format, None);
        let stereo = timeline
            .place(2, (20_000_000, LATE), STEREO_48K, &ones(480))
            .unwrap();
        assert_eq!(stereo.new_format, Some(STEREO_48K));
    }

    proptest::proptest! {
        /// Whatever a game sends (any source, format, stamp; arrival in
        /// running time), placing never panics, never overlaps, and never
        /// puts a chunk after its arrival.
        #[test]
        fn any_chunks_are_placed_in_order_and_never_after_their_arrival(
            chunks in proptest::collection::vec(
                (0u64..4, proptest::num::u64::ANY, 0u64..1 << 50, 8_000u32..=192_000, 1u16..=8, 1usize..2_000),
                1..40,
            )
        ) {
            let mut timeline = AudioTimeline::default();
            let mut end = 0u64;
            let mut arrival = 0u64;
            for (source, pts, later, rate, channels, frames) in chunks {
                arrival = arrival.saturating_add(later % 1_000_000_000);
                let bytes = vec![0u8; frames * usize::from(channels) * 4];
                if let Some(placed) = timeline.place(source, (pts, arrival), (rate, channels), &bytes) {
                    proptest::prop_assert!(placed.pts_ns >= end, "overlap: {} < {end}", placed.pts_ns);
                    // A trimmed chunk starts at the end before, rounded up to its next sample.
                    let one_sample = 1_000_000_000 / u64::from(rate) + 1;
                    proptest::prop_assert!(placed.pts_ns <= arrival.max(end) + one_sample);
                    proptest::prop_assert!(!placed.bytes.is_empty());
                    end = placed.pts_ns + placed.duration_ns;
                }
            }
        }
    }
}
