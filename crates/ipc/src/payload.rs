//! Payload buffers that return to a pool when dropped, so a steady stream of
//! frames reuses a few allocations instead of making one per frame. A pool
//! keeps at most [`POOL_IDLE_BYTES`] idle, whatever its buffers' sizes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender};

/// Most bytes a pool keeps in idle buffers: a few 4K RGBA frames (33 MB
/// each); larger leftovers are freed instead.
pub const POOL_IDLE_BYTES: usize = 128 << 20;

/// Where a pooled buffer returns to.
#[derive(Debug, Clone)]
struct Home {
    free_tx: Sender<Vec<u8>>,
    idle_bytes: Arc<AtomicUsize>,
}

impl Home {
    /// Keeps `bytes` for reuse if the pool has room for it.
    fn give_back(&self, bytes: Vec<u8>) {
        let size = bytes.capacity();
        let fits = self
            .idle_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |idle| {
                (idle + size <= POOL_IDLE_BYTES).then_some(idle + size)
            })
            .is_ok();
        // A full pool just lets the buffer go.
        if fits && self.free_tx.try_send(bytes).is_err() {
            self.idle_bytes.fetch_sub(size, Ordering::AcqRel);
        }
    }
}

/// Raw bytes that follow a message header (pixels or samples).
#[derive(Debug, Default)]
pub struct Payload {
    bytes: Vec<u8>,
    home: Option<Home>,
}

impl Payload {
    /// A payload that owns its bytes (what a sender builds).
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Self { bytes, home: None }
    }

    /// Takes the bytes out; they will not return to a pool.
    pub fn into_vec(mut self) -> Vec<u8> {
        self.home = None;
        core::mem::take(&mut self.bytes)
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Bytes allocated (for tests of how much a reader allocated).
    #[cfg(test)]
    pub(crate) fn bytes_capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// The bytes as a vector, for a reader that grows it as data arrives.
    pub(crate) fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Self::from_vec(bytes)
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl core::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl core::ops::DerefMut for Payload {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            home.give_back(core::mem::take(&mut self.bytes));
        }
    }
}

/// A small pool of payload buffers for one connection's reader.
#[derive(Debug, Clone)]
pub struct PayloadPool {
    home: Home,
    free_rx: Receiver<Vec<u8>>,
}

impl PayloadPool {
    /// A pool that keeps at most `capacity` idle buffers (and at most
    /// [`POOL_IDLE_BYTES`] in them).
    pub fn new(capacity: usize) -> Self {
        let (free_tx, free_rx) = crossbeam_channel::bounded(capacity.max(1));
        Self {
            home: Home {
                free_tx,
                idle_bytes: Arc::default(),
            },
            free_rx,
        }
    }

    /// A buffer of exactly `len` bytes (contents unspecified), reused when one is idle.
    pub fn take(&self, len: usize) -> Payload {
        let mut bytes = match self.free_rx.try_recv() {
            Ok(bytes) => {
                self.home
                    .idle_bytes
                    .fetch_sub(bytes.capacity(), Ordering::AcqRel);
                bytes
            }
            Err(_) => Vec::new(),
        };
        bytes.resize(len, 0);
        Payload {
            bytes,
            home: Some(self.home.clone()),
        }
    }

    /// A pooled buffer holding a copy of `bytes` (for senders that fill payloads from
    /// memory they do not own, such as a mapped GPU buffer).
    pub fn take_copy(&self, bytes: &[u8]) -> Payload {
        let mut payload = self.take(0);
        payload.bytes.extend_from_slice(bytes);
        payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused() {
        let pool = PayloadPool::new(2);
        let first = pool.take(1000);
        let address = first.as_ptr();
        drop(first);
        let second = pool.take(800);
        assert_eq!(second.as_ptr(), address, "same allocation reused");
        assert_eq!(second.len(), 800);
    }

    #[test]
    fn copies_reuse_buffers_too() {
        let pool = PayloadPool::new(1);
        let first = pool.take_copy(&[7; 64]);
        let address = first.as_ptr();
        drop(first);
        let second = pool.take_copy(&[1, 2, 3]);
        assert_eq!((second.as_ptr(), &*second), (address, &[1, 2, 3][..]));
    }

    #[test]
    fn idle_buffers_are_kept_within_the_byte_budget() {
        let pool = PayloadPool::new(8);
        let big: Vec<_> = (0..3).map(|_| pool.take(POOL_IDLE_BYTES / 2)).collect();
        drop(big);
        assert_eq!(pool.free_rx.len(), 2, "two halves fit, the third is freed");
        assert_eq!(
            pool.home.idle_bytes.load(Ordering::Acquire),
            2 * (POOL_IDLE_BYTES / 2)
        );
        let reused = pool.take(10);
        assert_eq!(
            pool.home.idle_bytes.load(Ordering::Acquire),
            POOL_IDLE_BYTES / 2
        );
        drop(reused);
    }

    #[test]
    fn owned_payload_round_trips() {
        let payload = Payload::from_vec(vec![1, 2, 3]);
        assert_eq!(&*payload, &[1, 2, 3]);
        assert_eq!(payload.into_vec(), vec![1, 2, 3]);
    }
}
