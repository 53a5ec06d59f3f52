//! Hands the current host connection to the threads that send media (the
//! render world's readback and the audio sender) without a lock: each holds a
//! [`RouteReceiver`] that picks up connection changes from a channel.

use bevy::prelude::Resource;
use crossbeam_channel::{Receiver, Sender};
use livestream_ipc::Outbox;
use livestream_protocol::GameMessage;

/// The game's outgoing queue to the host.
pub(crate) type HostOutbox = Outbox<GameMessage>;

/// Publishes the current outbox (or none) to every subscriber.
#[derive(Resource)]
pub(crate) struct MediaRoute<T: Clone + Send + Sync + 'static = HostOutbox> {
    subscribers: Vec<Sender<Option<T>>>,
}

impl<T: Clone + Send + Sync + 'static> Default for MediaRoute<T> {
    fn default() -> Self {
        Self {
            subscribers: Vec::new(),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> MediaRoute<T> {
    /// A new subscriber; it sees the next published outbox.
    pub fn subscribe(&mut self) -> RouteReceiver<T> {
        let (tx, rx) = crossbeam_channel::unbounded();
        self.subscribers.push(tx);
        RouteReceiver {
            updates: rx,
            current: None,
        }
    }

    /// Tells every subscriber where media goes now (`None`: nowhere, drop it).
    pub fn publish(&self, outbox: Option<&T>) {
        for subscriber in &self.subscribers {
            // A subscriber that has gone (its thread ended) needs nothing.
            let _ = subscriber.send(outbox.cloned());
        }
    }
}

/// One sender's view of where media goes.
#[derive(Debug)]
pub(crate) struct RouteReceiver<T = HostOutbox> {
    updates: Receiver<Option<T>>,
    current: Option<T>,
}

impl<T> RouteReceiver<T> {
    /// The latest published outbox, if connected.
    pub fn current(&mut self) -> Option<&T> {
        while let Ok(update) = self.updates.try_recv() {
            self.current = update;
        }
        self.current.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_follow_the_latest_publication() {
        let mut route = MediaRoute::<u32>::default();
        let mut a = route.subscribe();
        let mut b = route.subscribe();
        assert_eq!(a.current(), None);
        route.publish(Some(&1));
        route.publish(Some(&2));
        assert_eq!((a.current(), b.current()), (Some(&2), Some(&2)));
        route.publish(None);
        assert_eq!(a.current(), None);
        assert_eq!(b.current(), None);
    }
}
