//! Reads finished captures back on a thread of their own. While any staging
//! buffer is being mapped, the thread polls the GPU (never waiting) every
//! millisecond, copies each mapped frame into a pooled payload (converting
//! it to I420 where the GPU only copied the view: see [`super::convert`]),
//! sends it to the host and hands the buffer's slot back to the render world.
//!
//! Polling only from the render world's cleanup (once per rendered frame)
//! saw a finished readback one frame late about half the time, so frames
//! reached the host 14 or 47 ms after capture, often two at once; the host
//! must hold every frame as long as the slowest one. Here a frame leaves as
//! soon as the GPU is done with it, and the copy is off the render thread.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use bevy::log::warn;
use bevy::render::render_resource::{Buffer, MapMode, PollType};
use bevy::render::renderer::RenderDevice;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use livestream_ipc::PayloadPool;
use livestream_protocol::{GameMessage, VideoFrameHeader};

use super::CaptureCounters;
use super::convert::{RgbaCopy, rgba_to_i420};
use crate::route::RouteReceiver;

/// How often the thread polls the GPU while a readback is pending.
const POLL_EVERY: Duration = Duration::from_millis(1);

/// What the GPU writes into a staging buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Staged {
    /// The frame as it goes on the wire (the shader converted it).
    Frame,
    /// The view's texels as they are, converted here.
    Rgba(RgbaCopy),
}

/// A staging buffer the GPU has been told to fill, to be read back and sent.
pub(crate) struct ReadbackJob {
    /// The render world's slot for the buffer, returned once it is free.
    pub slot: usize,
    /// The staging buffer.
    pub buffer: Buffer,
    /// The frame's wire header.
    pub header: VideoFrameHeader,
    /// What the buffer holds.
    pub staged: Staged,
}

/// Handle on the readback thread; dropping it ends the thread.
pub(crate) struct Readback {
    jobs: Option<Sender<ReadbackJob>>,
    mapped: Sender<(usize, bool)>,
    freed: Receiver<usize>,
    thread: Option<JoinHandle<()>>,
}

/// What the readback thread needs besides its channels.
struct Reader {
    device: RenderDevice,
    route: RouteReceiver,
    counters: Arc<CaptureCounters>,
    pool: PayloadPool,
}

impl Readback {
    /// Starts the thread. `None` (with a warning) if the OS refuses one.
    pub fn spawn(
        device: RenderDevice,
        route: RouteReceiver,
        counters: Arc<CaptureCounters>,
        pool: PayloadPool,
    ) -> Option<Self> {
        let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded();
        let (mapped_tx, mapped_rx) = crossbeam_channel::unbounded();
        let (freed_tx, freed) = crossbeam_channel::unbounded();
        let reader = Reader {
            device,
            route,
            counters,
            pool,
        };
        let thread = std::thread::Builder::new()
            .name("livestream-readback".into())
            .spawn(move || reader.run(&jobs_rx, &mapped_rx, &freed_tx))
            .inspect_err(|err| warn!("cannot start the capture readback thread: {err}"))
            .ok()?;
        Some(Self {
            jobs: Some(jobs_tx),
            mapped: mapped_tx,
            freed,
            thread: Some(thread),
        })
    }

    /// Hands a written staging buffer to the thread and asks the GPU to map
    /// it. Call after the commands that fill it were submitted.
    pub fn start(&self, job: ReadbackJob) {
        let (slot, buffer) = (job.slot, job.buffer.clone());
        let Some(jobs) = &self.jobs else {
            return;
        };
        // The job goes first, so the thread knows the slot when the map completes.
        if jobs.send(job).is_err() {
            return;
        }
        let mapped = self.mapped.clone();
        buffer.slice(..).map_async(MapMode::Read, move |result| {
            let _ = mapped.send((slot, result.is_ok()));
        });
    }

    /// Slots whose buffers the thread is done with.
    pub fn freed(&self) -> impl Iterator<Item = usize> + '_ {
        self.freed.try_iter()
    }
}

impl Drop for Readback {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Reader {
    fn run(
        mut self,
        jobs: &Receiver<ReadbackJob>,
        mapped: &Receiver<(usize, bool)>,
        freed: &Sender<usize>,
    ) {
        let mut pending: Vec<ReadbackJob> = Vec::new();
        loop {
            if pending.is_empty() {
                match jobs.recv() {
                    Ok(job) => pending.push(job),
                    Err(_) => return,
                }
            }
            if let Err(err) = self.device.poll(PollType::Poll) {
                warn!("GPU poll failed during capture readback: {err}");
            }
            // Completed maps first, then the jobs: a job is queued before its
            // map is asked for, so every completion taken here finds its job
            // below. (Jobs first lost a completion that came in between, and
            // its slot with it: capture stopped once all three were lost.)
            let completed: Vec<(usize, bool)> = mapped.try_iter().collect();
            let ending = loop {
                match jobs.try_recv() {
                    Ok(job) => pending.push(job),
                    Err(TryRecvError::Empty) => break false,
                    Err(TryRecvError::Disconnected) => break true,
                }
            };
            for (slot, ok) in completed {
                let at = pending.iter().position(|job| job.slot == slot);
                let Some(at) = at else {
                    warn!("a capture readback completed for a slot with no job (slot {slot})");
                    continue;
                };
                let job = pending.remove(at);
                self.deliver(&job, ok);
                let _ = freed.send(slot);
            }
            if ending {
                // The render world is gone: what is still mapping is dropped with it.
                return;
            }
            if !pending.is_empty() {
                std::thread::sleep(POLL_EVERY);
            }
        }
    }

    /// Copies a mapped frame out, unmaps the buffer and sends the frame.
    fn deliver(&mut self, job: &ReadbackJob, mapped: bool) {
        if !mapped {
            warn!("a captured frame could not be read back from the GPU");
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let payload = {
            let view = job.buffer.slice(..).get_mapped_range();
            match job.staged {
                Staged::Frame => self.pool.take_copy(&view),
                Staged::Rgba(copy) => {
                    let len = job.header.payload_len().expect("capture headers are valid");
                    let mut payload = self.pool.take(len);
                    rgba_to_i420(&view, copy, &job.header, &mut payload);
                    self.counters.cpu_converted.fetch_add(1, Ordering::Relaxed);
                    payload
                }
            }
        };
        job.buffer.unmap();
        let len = payload.len() as u64;
        let sent = self.route.current().is_some_and(|outbox| {
            outbox
                .send_with_payload(GameMessage::VideoFrame(job.header), payload)
                .is_ok()
        });
        let counter = if sent {
            self.counters.bytes.fetch_add(len, Ordering::Relaxed);
            &self.counters.sent
        } else {
            &self.counters.dropped
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
