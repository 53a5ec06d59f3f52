//! Rooms shared by several servers (`--cluster`): every event goes through
//! one NATS JetStream stream, and every node stores what the stream holds,
//! in the stream's order, so a post on any node reaches every node's
//! readers once and in the same order.
//!
//! - The stream [`STREAM`] keeps the last `history` events of each room (one
//!   subject per room, `livestream.rooms.{room}`) and drops duplicate message
//!   ids for [`DUPLICATE_WINDOW`], so a post sent again after a lost
//!   acknowledgement is stored once.
//! - An event's id is its place in the stream, with the stream's creation
//!   time as the id's `boot` part: the same on every node and after restarts.
//! - Each node follows the stream with an ordered consumer from the first
//!   event it does not have: a node that starts replays the history before it
//!   serves, and moderators' deletions reach every node like any event.
//! - The key viewer tokens are signed with is kept in a one-message stream
//!   ([`KEY_STREAM`]), put there by the first node, so a token from one node
//!   is good on all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{DiscardPolicy, StorageType};
use async_nats::jetstream::{self, stream};
use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::rooms::{MAX_ROOMS, NewEvent, RoomName, Rooms};
use crate::viewers::{NoRandomness, ViewerTokens};

/// The stream every room's events are kept in.
pub const STREAM: &str = "LIVESTREAM_ROOMS";
/// A room's subject is this and the room's name.
const SUBJECT_PREFIX: &str = "livestream.rooms.";
/// The stream the viewer-token key is shared in (one message).
const KEY_STREAM: &str = "LIVESTREAM_ROOM_KEYS";
/// The viewer-token key's subject in [`KEY_STREAM`].
const VIEWER_KEY: &str = "livestream.viewer-key";
/// How long the stream remembers a message id to drop a repeat.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long a post waits for the stream (a NATS server failing over, a
/// stream electing a new leader) before it is refused.
const PUBLISH_PATIENCE: Duration = Duration::from_secs(15);
/// How long a starting node waits for JetStream to be ready (a NATS cluster
/// that has just started is still electing its leaders).
const JOIN_PATIENCE: Duration = Duration::from_secs(30);
/// How long a starting node may take to replay the stream before it serves
/// anyway (with what it has so far).
const REPLAY_PATIENCE: Duration = Duration::from_secs(60);
/// How long a node's reader of the stream may be quiet before the node
/// checks that the stream has nothing it has not been given.
const STALL_CHECK: Duration = Duration::from_secs(3);
/// The most bytes the stream keeps, all rooms together.
const MAX_STREAM_BYTES: i64 = 256 * 1024 * 1024;

/// Where the cluster's NATS servers are, and how to use them.
#[derive(Clone, Default)]
pub struct ClusterConfig {
    /// `nats://HOST:PORT` (or `tls://…`) of one or more servers.
    pub servers: Vec<String>,
    /// Copies JetStream keeps of the stream: 1, or 3 on a cluster of three
    /// or more NATS servers (one may then fail without losing anything).
    pub replicas: usize,
    /// The token NATS asks clients for, if it asks for one.
    pub token: Option<String>,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("servers", &self.servers)
            .field("replicas", &self.replicas)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why a node could not join the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A server URL carries a user or password, which argv would show.
    #[error(
        "the NATS address {0} carries credentials, which every user of the machine could read: give a token with --cluster-token-file"
    )]
    CredentialsInUrl(String),
    /// No server answered.
    #[error("cannot reach NATS at {servers}: {source}")]
    Connect {
        /// The servers tried.
        servers: String,
        /// What went wrong.
        #[source]
        source: async_nats::ConnectError,
    },
    /// JetStream would not make or share the stream (not enabled, fewer
    /// servers than replicas, or a stream of that name set up otherwise).
    #[error("JetStream refused the rooms' stream {STREAM}: {0}")]
    Stream(#[source] jetstream::context::CreateStreamError),
    /// The viewer-token key could not be read or made.
    #[error("cannot share the viewer-token key through JetStream: {0}")]
    ViewerKey(#[source] async_nats::Error),
    /// No random numbers for a new key.
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    /// The stream could not be read.
    #[error("cannot read the rooms' stream {STREAM}: {0}")]
    Follow(#[source] async_nats::Error),
}

/// Why a post was not stored by the cluster.
#[derive(Debug, thiserror::Error)]
pub enum NotStored {
    /// The stream did not acknowledge it in time.
    #[error("the cluster did not store the event: {0}")]
    Publish(#[from] jetstream::context::PublishError),
    /// It could not be encoded (never expected).
    #[error("cannot encode the event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// This node's link to the cluster.
#[derive(Debug)]
pub struct Cluster {
    jetstream: jetstream::Context,
    stream: stream::Stream,
    /// Tells this node's message ids apart from other nodes'.
    node: u64,
    sent: AtomicU64,
    /// The id's `boot` part every node uses.
    boot: u64,
    viewer_key: [u8; 32],
    /// Stores the stream's new events (from [`follow`](Self::follow)).
    follower: Option<JoinHandle<()>>,
}

impl Cluster {
    /// Connects to NATS and makes (or finds) the stream and the viewer-token
    /// key; each event kept per room is one of the last `history`.
    pub async fn join(config: &ClusterConfig, history: usize) -> Result<Self, ClusterError> {
        if let Some(url) = config.servers.iter().find(|url| url.contains('@')) {
            return Err(ClusterError::CredentialsInUrl(redact(url)));
        }
        let mut options = async_nats::ConnectOptions::new()
            .name("livestream-room")
            .connection_timeout(Duration::from_secs(5))
            .event_callback(|event| async move { info!(%event, "NATS") });
        if let Some(token) = &config.token {
            options = options.token(token.clone());
        }
        let client = options
            .connect(config.servers.as_slice())
            .await
            .map_err(|source| ClusterError::Connect {
                servers: config.servers.join(","),
                source,
            })?;
        let jetstream = jetstream::new(client);
        let replicas = config.replicas.max(1);
        let stream_config = stream::Config {
            name: STREAM.to_owned(),
            subjects: vec![format!("{SUBJECT_PREFIX}*")],
            max_messages_per_subject: i64::try_from(history).unwrap_or(i64::MAX),
            max_messages: i64::try_from(history.saturating_mul(MAX_ROOMS)).unwrap_or(i64::MAX),
            max_bytes: MAX_STREAM_BYTES,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            num_replicas: replicas,
            duplicate_window: DUPLICATE_WINDOW,
            ..stream::Config::default()
        };
        let stream = patiently("the rooms' stream", async || {
            jetstream
                .get_or_create_stream(stream_config.clone())
                .await
                .map_err(ClusterError::Stream)
        })
        .await?;
        let info = stream.cached_info();
        if info.config.max_messages_per_subject != i64::try_from(history).unwrap_or(i64::MAX) {
            warn!(
                kept = info.config.max_messages_per_subject,
                "the cluster's stream keeps another number of events per room than --history (the first node set it)"
            );
        }
        let boot = info.created.unix_timestamp_nanos() as u64;
        let viewer_key = patiently("the viewer-token key", async || {
            viewer_key(&jetstream, replicas).await
        })
        .await?;
        let nonce = ViewerTokens::random_key()?;
        let node = u64::from_le_bytes(std::array::from_fn(|index| nonce[index]));
        info!(
            servers = %config.servers.join(","),
            replicas,
            events = info.state.messages,
            "joined the cluster"
        );
        Ok(Self {
            jetstream,
            stream,
            node,
            sent: AtomicU64::new(0),
            boot,
            viewer_key,
            follower: None,
        })
    }

    /// The id's `boot` part every node of the cluster uses.
    pub fn boot(&self) -> u64 {
        self.boot
    }

    /// The key viewer tokens are signed with on every node.
    pub fn viewer_tokens(&self) -> ViewerTokens {
        ViewerTokens::with_key(self.viewer_key)
    }

    /// Stores `rooms` what the stream holds (returning once it has what the
    /// stream held when called, or after [`REPLAY_PATIENCE`]), then keeps
    /// storing each new event in the background.
    pub async fn follow(&mut self, rooms: Arc<Rooms>) -> Result<(), ClusterError> {
        let end = self
            .stream
            .get_info()
            .await
            .map_err(|error| ClusterError::Follow(error.into()))?
            .state
            .last_sequence;
        let mut messages = read_after(&self.stream, rooms.applied())
            .await
            .map_err(ClusterError::Follow)?;
        let started = Instant::now();
        let mut read = rooms.applied();
        let replay = async {
            while read < end {
                match messages.next().await {
                    Some(Ok(message)) => read = apply(&rooms, &message).unwrap_or(read),
                    Some(Err(error)) => return Err(ClusterError::Follow(error.into())),
                    None => return Err(ClusterError::Follow("the stream ended".into())),
                }
            }
            Ok(())
        };
        match tokio::time::timeout(REPLAY_PATIENCE, replay).await {
            Ok(result) => result?,
            Err(_) => warn!(
                stored = rooms.applied(),
                end, "the stream is slow to replay; serving with what has come so far"
            ),
        }
        info!(
            events = rooms.applied(),
            ms = started.elapsed().as_millis() as u64,
            "replayed the rooms' stream"
        );
        let stream = self.stream.clone();
        let follower = tokio::spawn(async move {
            loop {
                match tokio::time::timeout(STALL_CHECK, messages.next()).await {
                    Ok(Some(Ok(message))) => {
                        apply(&rooms, &message);
                        continue;
                    }
                    Ok(Some(Err(error))) => {
                        warn!(%error, "reading the rooms' stream failed; reading it again");
                    }
                    Ok(None) => warn!("the rooms' stream reader ended; reading it again"),
                    // Quiet: fine, unless the stream has events this node has
                    // not been given (its reader was on a NATS server that died).
                    Err(_) => match stream.get_info().await {
                        Ok(info) if info.state.last_sequence > rooms.applied() => warn!(
                            stored = rooms.applied(),
                            last = info.state.last_sequence,
                            "the rooms' stream reader is stuck; reading it again"
                        ),
                        _ => continue,
                    },
                }
                match read_after(&stream, rooms.applied()).await {
                    Ok(again) => messages = again,
                    Err(error) => {
                        warn!(%error, "cannot read the rooms' stream yet");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        self.follower = Some(follower);
        Ok(())
    }

    /// Sends `event` to `room`'s subject and waits until the stream has it
    /// (retrying, under one message id, through a NATS server's failure);
    /// its sequence number. Every node stores it, this one included, from
    /// the stream.
    pub async fn publish(&self, room: &RoomName, event: &NewEvent) -> Result<u64, NotStored> {
        let payload = serde_json::to_vec(event)?;
        let id = format!(
            "{:x}-{}",
            self.node,
            self.sent.fetch_add(1, Ordering::Relaxed)
        );
        let subject = format!("{SUBJECT_PREFIX}{room}");
        let deadline = Instant::now() + PUBLISH_PATIENCE;
        loop {
            let message = PublishMessage::build()
                .payload(payload.clone().into())
                .message_id(&id);
            let stored = async {
                self.jetstream
                    .send_publish(subject.clone(), message)
                    .await?
                    .await
            };
            match stored.await {
                Ok(ack) => return Ok(ack.sequence),
                Err(error) if Instant::now() < deadline => {
                    debug!(%error, %id, "the stream has not taken the event yet; sending it again");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(follower) = self.follower.take() {
            follower.abort();
        }
    }
}

/// The result of `attempt`, tried again for [`JOIN_PATIENCE`] while it fails.
async fn patiently<T>(
    what: &str,
    mut attempt: impl AsyncFnMut() -> Result<T, ClusterError>,
) -> Result<T, ClusterError> {
    let deadline = Instant::now() + JOIN_PATIENCE;
    loop {
        match attempt().await {
            Ok(done) => return Ok(done),
            Err(error) if Instant::now() < deadline => {
                info!(%error, "JetStream is not ready for {what}; trying again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// An ordered reader of the stream from the event after `applied`.
async fn read_after(
    stream: &stream::Stream,
    applied: u64,
) -> Result<pull::Ordered, async_nats::Error> {
    let deliver_policy = if applied == 0 {
        DeliverPolicy::All
    } else {
        DeliverPolicy::ByStartSequence {
            start_sequence: applied + 1,
        }
    };
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy,
            ..pull::OrderedConfig::default()
        })
        .await?;
    Ok(consumer.messages().await?)
}

/// Stores one event read from the stream; its place in the stream.
fn apply(rooms: &Rooms, message: &jetstream::Message) -> Option<u64> {
    let seq = match message.info() {
        Ok(info) => info.stream_sequence,
        Err(error) => {
            warn!(%error, "a stream message without its place in the stream");
            return None;
        }
    };
    let Some(room) = message
        .subject
        .as_str()
        .strip_prefix(SUBJECT_PREFIX)
        .and_then(RoomName::parse)
    else {
        warn!(subject = %message.subject, seq, "a stream message for no room");
        return Some(seq);
    };
    match serde_json::from_slice::<NewEvent>(&message.payload) {
        Ok(event) => {
            if let Err(error) = rooms.apply(&room, seq, event) {
                warn!(%room, seq, %error, "an event of the stream is not kept here");
            }
        }
        Err(error) => warn!(%room, seq, %error, "a malformed event in the stream"),
    }
    Some(seq)
}

/// The key viewer tokens are signed with: the one in [`KEY_STREAM`], or a
/// new one this node puts there first (a publish that only succeeds while
/// the subject is empty, so two nodes starting at once agree on one key).
async fn viewer_key(
    jetstream: &jetstream::Context,
    replicas: usize,
) -> Result<[u8; 32], ClusterError> {
    let keys = jetstream
        .get_or_create_stream(stream::Config {
            name: KEY_STREAM.to_owned(),
            subjects: vec![VIEWER_KEY.to_owned()],
            max_messages_per_subject: 1,
            storage: StorageType::File,
            num_replicas: replicas,
            ..stream::Config::default()
        })
        .await
        .map_err(|error| ClusterError::ViewerKey(error.into()))?;
    let fresh = ViewerTokens::random_key()?;
    let first = PublishMessage::build()
        .payload(fresh.to_vec().into())
        .expected_last_subject_sequence(0);
    let put = async { jetstream.send_publish(VIEWER_KEY, first).await?.await };
    if put.await.is_ok() {
        return Ok(fresh);
    }
    // Another node was first (or the answer was lost): the key is the stored one.
    let stored = keys
        .get_last_raw_message_by_subject(VIEWER_KEY)
        .await
        .map_err(|error| ClusterError::ViewerKey(error.into()))?;
    <[u8; 32]>::try_from(stored.payload.as_ref())
        .map_err(|_| ClusterError::ViewerKey("the stored key is not 32 bytes".into()))
}

/// A server URL as it may be shown: what comes before an `@` removed.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_a_message() {
        assert_eq!(redact("nats://user:pw@h:4222"), "nats://***@h:4222");
        assert_eq!(redact("nats://h:4222"), "nats://h:4222");
        let config = ClusterConfig {
            servers: vec!["nats://h:1".into()],
            replicas: 1,
            token: Some("s3cret".into()),
        };
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn an_address_with_credentials_is_refused_before_connecting() {
        let config = ClusterConfig {
            servers: vec!["nats://127.0.0.1:1".into(), "nats://u:pw@h:2".into()],
            ..ClusterConfig::default()
        };
        let error = Cluster::join(&config, 10).await.unwrap_err();
        assert!(matches!(error, ClusterError::CredentialsInUrl(_)));
        assert!(!error.to_string().contains("pw"), "{error}");
    }
}
