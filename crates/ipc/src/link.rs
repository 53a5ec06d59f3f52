//! One live connection: a reader thread and a writer thread around a socket,
//! talking to the rest of the process through two-lane queues.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::RecvTimeoutError;
use livestream_protocol::WireMessage;
use tracing::{Span, debug, warn};

use crate::lanes::{LaneReceiver, LaneSender, QueueError, lanes};
use crate::payload::Payload;
use crate::wire::{FrameReader, FrameWriter, ReadError, WriteError};

/// Queue sizes and timing of a link.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Video frames waiting to be written (or to be taken by the app) before the oldest is dropped.
    pub media_queue: usize,
    /// Control messages waiting before the peer is considered stalled and dropped.
    pub control_limit: usize,
    /// How often blocked socket calls wake up to check whether the link is closing.
    pub poll_interval: Duration,
    /// Idle payload buffers kept for reuse by the reader.
    pub payload_pool: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            media_queue: 4,
            control_limit: 8192,
            poll_interval: Duration::from_millis(100),
            payload_pool: 8,
        }
    }
}

/// A message with its payload (empty for control messages).
#[derive(Debug)]
pub struct Envelope<M> {
    /// The message.
    pub message: M,
    /// Pixels or samples for media messages; empty otherwise.
    pub payload: Payload,
}

/// Why a link closed.
#[derive(Debug, thiserror::Error)]
pub enum CloseReason {
    /// Reading failed: the peer left, sent bad bytes, or the socket broke.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing failed (usually: the peer is gone).
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// What a link delivers to its owner.
#[derive(Debug)]
pub enum LinkEvent<M> {
    /// A message from the peer.
    Message(Envelope<M>),
    /// The link is closed; nothing follows.
    Closed(CloseReason),
}

/// Counters of a link, shared with its threads.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Messages written to the socket.
    pub sent_messages: AtomicU64,
    /// Bytes written to the socket.
    pub sent_bytes: AtomicU64,
    /// Messages read from the socket.
    pub received_messages: AtomicU64,
    /// Bytes read from the socket.
    pub received_bytes: AtomicU64,
    /// Video frames read but dropped because the owner was behind.
    pub received_dropped: AtomicU64,
}

/// The sending side of a link; cheap to clone, never blocks.
#[derive(Debug)]
pub struct Outbox<M> {
    lanes: LaneSender<Envelope<M>>,
    queued: Arc<AtomicU64>,
}

impl<M> Clone for Outbox<M> {
    fn clone(&self) -> Self {
        Self {
            lanes: self.lanes.clone(),
            queued: self.queued.clone(),
        }
    }
}

impl<M: WireMessage> Outbox<M> {
    /// Queues a message without payload.
    pub fn send(&self, message: M) -> Result<(), QueueError> {
        self.send_with_payload(message, Payload::default())
    }

    /// Queues a message with its payload. Video is dropped oldest-first when the
    /// writer is behind; anything else is kept (or refused if the peer stalled).
    pub fn send_with_payload(
        &self,
        message: M,
        payload: impl Into<Payload>,
    ) -> Result<(), QueueError> {
        let envelope = Envelope {
            payload: payload.into(),
            message,
        };
        if envelope.message.is_droppable() {
            self.lanes.send_media(envelope)?;
        } else {
            self.lanes.send_control(envelope)?;
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

impl<M> Outbox<M> {
    /// Video frames dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.lanes.dropped()
    }

    /// Messages waiting to be written: (control, video).
    pub fn backlog(&self) -> (usize, usize) {
        self.lanes.backlog()
    }
}

/// A connection to one peer: send with [`Link::outbox`], receive with [`Link::try_recv`].
///
/// Dropping the link closes the connection and joins its threads.
#[derive(Debug)]
pub struct Link<Out, In> {
    outbox: Outbox<Out>,
    inbox: LaneReceiver<LinkEvent<In>>,
    stats: Arc<LinkStats>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl<Out, In> Link<Out, In>
where
    Out: WireMessage + Send + 'static,
    In: WireMessage + Send + 'static,
{
    /// Starts the reader and writer threads over an already-handshaken socket.
    pub(crate) fn spawn<R, W>(
        mut reader: FrameReader<R>,
        mut writer: FrameWriter<W>,
        stop: Arc<AtomicBool>,
        config: &LinkConfig,
        span: Span,
    ) -> Self
    where
        R: Read + Send + 'static,
        W: Write + Send + 'static,
    {
        let (out_tx, out_rx) = lanes::<Envelope<Out>>(config.media_queue, config.control_limit);
        let (in_tx, in_rx) = lanes::<LinkEvent<In>>(config.media_queue, usize::MAX);
        let stats = Arc::new(LinkStats::default());
        let reported = Arc::new(AtomicBool::new(false));
        let report_close = {
            let in_tx = in_tx.clone();
            let reported = reported.clone();
            let stop = stop.clone();
            move |reason: CloseReason| {
                stop.store(true, Ordering::Release);
                if !reported.swap(true, Ordering::AcqRel) {
                    let _ = in_tx.send_control(LinkEvent::Closed(reason));
                }
            }
        };

        let reader_thread = {
            let stats = stats.clone();
            let report_close = report_close.clone();
            let span = span.clone();
            let stop = stop.clone();
            let control_limit = config.control_limit;
            std::thread::Builder::new()
                .name("livestream-ipc-read".into())
                .spawn(move || {
                    let _entered = span.enter();
                    loop {
                        match reader.read::<In>(None) {
                            Ok((message, payload)) => {
                                stats.received_messages.fetch_add(1, Ordering::Relaxed);
                                stats
                                    .received_bytes
                                    .fetch_add(payload.len() as u64, Ordering::Relaxed);
                                let droppable = message.is_droppable();
                                let event = LinkEvent::Message(Envelope { message, payload });
                                let delivered = if droppable {
                                    let before = in_tx.dropped();
                                    let result = in_tx.send_media(event);
                                    let dropped = in_tx.dropped() - before;
                                    stats.received_dropped.fetch_add(dropped, Ordering::Relaxed);
                                    result
                                } else {
                                    // Stop reading while the owner is far behind: the
                                    // socket fills and the peer's writer slows down.
                                    in_tx.wait_for_control_room(control_limit, &stop);
                                    in_tx.send_control(event)
                                };
                                if delivered.is_err() {
                                    debug!("link owner gone; reader stops");
                                    return;
                                }
                            }
                            Err(ReadError::Stopped) => return,
                            Err(err) => {
                                match &err {
                                    ReadError::Closed => debug!("peer closed the connection"),
                                    other => warn!("dropping peer: {other}"),
                                }
                                report_close(err.into());
                                return;
                            }
                        }
                    }
                })
                .expect("spawning a thread only fails when the OS is out of resources")
        };

        let writer_thread = {
            let stats = stats.clone();
            let stop = stop.clone();
            let poll = config.poll_interval;
            std::thread::Builder::new()
                .name("livestream-ipc-write".into())
                .spawn(move || {
                    let _entered = span.enter();
                    while !stop.load(Ordering::Acquire) {
                        let envelope = match out_rx.recv_timeout(poll) {
                            Ok(envelope) => envelope,
                            Err(RecvTimeoutError::Timeout) => continue,
                            Err(RecvTimeoutError::Disconnected) => return,
                        };
                        match writer.write(&envelope.message, &envelope.payload) {
                            Ok(()) => {
                                stats.sent_messages.fetch_add(1, Ordering::Relaxed);
                                stats
                                    .sent_bytes
                                    .fetch_add(envelope.payload.len() as u64, Ordering::Relaxed);
                            }
                            Err(WriteError::Stopped) => return,
                            Err(err) => {
                                debug!("write failed: {err}");
                                report_close(err.into());
                                return;
                            }
                        }
                    }
                })
                .expect("spawning a thread only fails when the OS is out of resources")
        };

        Self {
            outbox: Outbox {
                lanes: out_tx,
                queued: Arc::default(),
            },
            inbox: in_rx,
            stats,
            stop,
            threads: vec![reader_thread, writer_thread],
        }
    }
}

impl<Out, In> Link<Out, In> {
    /// The sending side; clone it to send from other threads.
    pub fn outbox(&self) -> &Outbox<Out> {
        &self.outbox
    }

    /// Takes the next event without waiting (control messages before video).
    pub fn try_recv(&self) -> Option<LinkEvent<In>> {
        self.inbox.try_recv().ok()
    }

    /// Waits up to `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<LinkEvent<In>> {
        self.inbox.recv_timeout(timeout).ok()
    }

    /// Every event waiting now, without blocking.
    pub fn drain(&self) -> impl Iterator<Item = LinkEvent<In>> + '_ {
        self.inbox.drain()
    }

    /// Counters of this link.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Waits until everything queued so far is written (or dropped, for video),
    /// up to `timeout`; returns whether it got there. Use before closing on purpose.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let done = self.stats.sent_messages.load(Ordering::Acquire) + self.outbox.dropped();
            if done >= self.outbox.queued.load(Ordering::Acquire) {
                return true;
            }
            if self.is_closed() || std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Whether the link has closed (locally or by the peer).
    pub fn is_closed(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

impl<Out, In> Drop for Link<Out, In> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
