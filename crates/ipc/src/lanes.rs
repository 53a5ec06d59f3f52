//! Two-lane queues between threads: a control lane that never drops and a
//! media lane that drops its oldest item when the consumer falls behind.
//!
//! Senders never block: a slow socket or a slow host app costs video frames
//! (counted), never a stall of the game loop, and never a control message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};

/// Why an item could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The consumer is gone (the connection closed).
    #[error("connection closed")]
    Closed,
    /// The control lane holds more than its limit: the consumer has stalled.
    #[error("peer stalled: {0} control messages waiting")]
    Stalled(usize),
}

/// Producer half; cheap to clone.
#[derive(Debug)]
pub struct LaneSender<T> {
    control: Sender<T>,
    media: Sender<T>,
    /// Kept to evict the oldest media item when the lane is full.
    media_evict: Receiver<T>,
    dropped: Arc<AtomicU64>,
    receiver_gone: Arc<AtomicBool>,
    control_limit: usize,
}

impl<T> Clone for LaneSender<T> {
    fn clone(&self) -> Self {
        Self {
            control: self.control.clone(),
            media: self.media.clone(),
            media_evict: self.media_evict.clone(),
            dropped: self.dropped.clone(),
            receiver_gone: self.receiver_gone.clone(),
            control_limit: self.control_limit,
        }
    }
}

/// Consumer half.
#[derive(Debug)]
pub struct LaneReceiver<T> {
    control: Receiver<T>,
    media: Receiver<T>,
    gone: Arc<AtomicBool>,
}

impl<T> Drop for LaneReceiver<T> {
    fn drop(&mut self) {
        self.gone.store(true, Ordering::Release);
    }
}

/// Creates a pair: the media lane holds `media_capacity` items, the control lane
/// refuses more than `control_limit` waiting items.
pub fn lanes<T>(media_capacity: usize, control_limit: usize) -> (LaneSender<T>, LaneReceiver<T>) {
    let (control_tx, control_rx) = crossbeam_channel::unbounded();
    let (media_tx, media_rx) = crossbeam_channel::bounded(media_capacity.max(1));
    let gone = Arc::new(AtomicBool::new(false));
    (
        LaneSender {
            control: control_tx,
            media: media_tx,
            media_evict: media_rx.clone(),
            dropped: Arc::default(),
            receiver_gone: gone.clone(),
            control_limit,
        },
        LaneReceiver {
            control: control_rx,
            media: media_rx,
            gone,
        },
    )
}

impl<T> LaneSender<T> {
    /// Queues a control item; never dropped, refused only when the consumer is gone or stalled.
    pub fn send_control(&self, item: T) -> Result<(), QueueError> {
        let waiting = self.control.len();
        if waiting >= self.control_limit {
            return Err(QueueError::Stalled(waiting));
        }
        self.control.send(item).map_err(|_| QueueError::Closed)
    }

    /// Waits while `limit` or more control items are waiting, until the consumer
    /// catches up, goes away, or `stop` is set. This is how a reader thread
    /// pushes back on its peer instead of queueing without bound.
    pub fn wait_for_control_room(&self, limit: usize, stop: &AtomicBool) {
        while self.control.len() >= limit
            && !self.receiver_gone.load(Ordering::Acquire)
            && !stop.load(Ordering::Acquire)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Queues a media item, evicting the oldest waiting one when the lane is full.
    pub fn send_media(&self, mut item: T) -> Result<(), QueueError> {
        if self.receiver_gone.load(Ordering::Acquire) {
            return Err(QueueError::Closed);
        }
        loop {
            match self.media.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(QueueError::Closed),
                Err(TrySendError::Full(back)) => {
                    item = back;
                    if self.media_evict.try_recv().is_ok() {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// Media items evicted so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Items waiting in the control lane and the media lane.
    pub fn backlog(&self) -> (usize, usize) {
        (self.control.len(), self.media.len())
    }
}

impl<T> LaneReceiver<T> {
    /// Takes the next item without waiting, control first.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.control.try_recv() {
            Ok(item) => Ok(item),
            Err(TryRecvError::Empty) => match self.media.try_recv() {
                Err(TryRecvError::Disconnected) => Err(TryRecvError::Empty),
                other => other,
            },
            Err(TryRecvError::Disconnected) => self.media.try_recv(),
        }
    }

    /// Waits up to `timeout` for the next item, control first.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        match self.try_recv() {
            Ok(item) => return Ok(item),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => {}
        }
        crossbeam_channel::select! {
            recv(self.control) -> item => item.map_err(|_| RecvTimeoutError::Disconnected)
                .or_else(|_| self.media.try_recv().map_err(|_| RecvTimeoutError::Disconnected)),
            recv(self.media) -> item => item.map_err(|_| RecvTimeoutError::Disconnected)
                .or_else(|_| self.control.try_recv().map_err(|_| RecvTimeoutError::Disconnected)),
            default(timeout) => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Iterates over every item waiting now, control first, without blocking.
    pub fn drain(&self) -> impl Iterator<Item = T> + '_ {
        core::iter::from_fn(|| self.try_recv().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_drops_oldest_and_counts() {
        let (tx, rx) = lanes::<u32>(2, 10);
        for frame in 0..5 {
            tx.send_media(frame).unwrap();
        }
        assert_eq!(tx.dropped(), 3);
        assert_eq!(rx.drain().collect::<Vec<_>>(), vec![3, 4]);
    }

    #[test]
    fn control_is_never_dropped_and_comes_first() {
        let (tx, rx) = lanes::<u32>(1, 100);
        tx.send_media(100).unwrap();
        for n in 0..50 {
            tx.send_control(n).unwrap();
        }
        let got: Vec<_> = rx.drain().collect();
        assert_eq!(got.len(), 51);
        assert_eq!(&got[..50], &(0..50).collect::<Vec<_>>()[..]);
        assert_eq!(got[50], 100);
    }

    #[test]
    fn waiting_for_room_ends_when_the_consumer_catches_up_or_leaves() {
        let (tx, rx) = lanes::<u32>(1, usize::MAX);
        let stop = AtomicBool::new(false);
        tx.send_control(1).unwrap();
        tx.send_control(2).unwrap();
        let consumer = std::thread::spawn(move || {
            while rx.try_recv().is_err() {}
            rx
        });
        tx.wait_for_control_room(2, &stop);
        assert!(tx.backlog().0 < 2);
        drop(consumer.join().unwrap());
        tx.send_control(3).ok();
        tx.wait_for_control_room(0, &stop); // consumer gone: returns at once
    }

    #[test]
    fn stalled_consumer_is_reported() {
        let (tx, _rx) = lanes::<u32>(1, 3);
        for n in 0..3 {
            tx.send_control(n).unwrap();
        }
        assert_eq!(tx.send_control(3), Err(QueueError::Stalled(3)));
    }

    #[test]
    fn closed_consumer_is_reported() {
        let (tx, rx) = lanes::<u32>(1, 3);
        drop(rx);
        assert_eq!(tx.send_control(1), Err(QueueError::Closed));
        let (tx, rx) = lanes::<u32>(1, 3);
        tx.send_media(1).unwrap();
        drop(rx);
        assert_eq!(tx.send_media(2), Err(QueueError::Closed));
    }

    #[test]
    fn recv_timeout_waits_then_times_out() {
        let (tx, rx) = lanes::<u32>(4, 4);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send_media(7).unwrap();
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(7));
        sender.join().unwrap();
        assert!(rx.recv_timeout(Duration::from_millis(10)).is_err());
    }
}
