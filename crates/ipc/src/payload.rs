//! Payload buffers that return to a pool when dropped, so a steady stream of
//! frames reuses a few allocations instead of making one per frame.

use crossbeam_channel::{Receiver, Sender};

/// Raw bytes that follow a message header (pixels or samples).
#[derive(Debug, Default)]
pub struct Payload {
    bytes: Vec<u8>,
    home: Option<Sender<Vec<u8>>>,
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
            // A full pool just lets the buffer go.
            let _ = home.try_send(core::mem::take(&mut self.bytes));
        }
    }
}

/// A small pool of payload buffers for one connection's reader.
#[derive(Debug, Clone)]
pub struct PayloadPool {
    free_tx: Sender<Vec<u8>>,
    free_rx: Receiver<Vec<u8>>,
}

impl PayloadPool {
    /// A pool that keeps at most `capacity` idle buffers.
    pub fn new(capacity: usize) -> Self {
        let (free_tx, free_rx) = crossbeam_channel::bounded(capacity.max(1));
        Self { free_tx, free_rx }
    }

    /// A buffer of exactly `len` bytes (contents unspecified), reused when one is idle.
    pub fn take(&self, len: usize) -> Payload {
        let mut bytes = self.free_rx.try_recv().unwrap_or_default();
        bytes.resize(len, 0);
        Payload {
            bytes,
            home: Some(self.free_tx.clone()),
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
    fn owned_payload_round_trips() {
        let payload = Payload::from_vec(vec![1, 2, 3]);
        assert_eq!(&*payload, &[1, 2, 3]);
        assert_eq!(payload.into_vec(), vec![1, 2, 3]);
    }
}
