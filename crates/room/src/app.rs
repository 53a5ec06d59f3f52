//! The server's shared state and the two things that change it, whatever the
//! transport: a viewer's post (HTTP or WebSocket) and a moderator's action.
//! On its own the server stores events itself; in a cluster it sends them to
//! the cluster's stream, and stores them as the stream gives them back.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use livestream_interaction::AudienceEvent;
use livestream_interaction::room_api::{ModeratorAction, PostAccepted, ViewerPost};
use tokio::sync::watch;
use tracing::{debug, info};

use crate::Config;
use crate::auth::{self, AuthError, ModToken};
use crate::cluster::{Cluster, ClusterConfig, ClusterError, NotStored};
use crate::events::{self, Refusal};
use crate::limits::{
    ClientKey, MODERATION_RATE, ROOM_CREATION_RATE, RateLimiter, VIEWER_TOKEN_RATE,
};
use crate::rooms::{EventIds, Feed, NewEvent, PublishError, RoomName, Rooms};
use crate::viewers::{NoRandomness, ViewerId, ViewerTokens};

/// Largest post or moderator action accepted, in bytes of JSON.
pub const MAX_BODY_BYTES: usize = 4 * 1024;
/// Most rate-limit buckets kept (viewers and addresses together).
const MAX_BUCKETS: usize = 65_536;

/// Who a post is charged to: the viewer in the room (by the token the
/// server gave them, never by the name they type), and the client it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Poster {
    Viewer { room: RoomName, viewer: ViewerId },
    Client(ClientKey),
}

/// Why a post or action was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Larger than [`MAX_BODY_BYTES`].
    #[error("larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// Not the JSON of a post or action.
    #[error("malformed JSON: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Well-formed but not acceptable.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A viewer token this run did not issue (a made-up one, or one from
    /// before a restart).
    #[error("unknown viewer token: get a new one with POST /viewers")]
    UnknownViewer,
    /// The viewer or their address posted too much; try again after this long.
    #[error("too many posts; try again in {} s", retry_after_secs(*.0))]
    RateLimited(Duration),
    /// The room could not take it.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Moderator only.
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// The OS gave no random numbers for a viewer token.
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    /// The cluster's stream did not take the event.
    #[error(transparent)]
    NotStored(#[from] NotStored),
}

/// Whole seconds to wait, rounded up and at least 1 (for `Retry-After`).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

/// State shared by every request and feed.
#[derive(Debug)]
pub struct App {
    /// The rooms, their histories and feeds.
    pub rooms: Arc<Rooms>,
    /// Where events are stored first, when the server is one of a cluster.
    cluster: Option<Cluster>,
    limiter: Mutex<RateLimiter<Poster>>,
    viewers: ViewerTokens,
    /// Viewer tokens issued per client.
    viewer_limiter: Mutex<RateLimiter<ClientKey>>,
    /// Moderation attempts per client: guessing the token is slow.
    mod_limiter: Mutex<RateLimiter<ClientKey>>,
    /// Rooms made per client: made-up names by the thousand are refused.
    creation_limiter: Mutex<RateLimiter<ClientKey>>,
    mod_token: Option<ModToken>,
    /// Where viewers' pages come from, when not this server's own address.
    pub public_origin: Option<String>,
    /// Becomes `true` when the server shuts down; feeds then close.
    pub shutdown: watch::Receiver<bool>,
    lagged_feeds: AtomicU64,
}

impl App {
    /// Fresh state for a server on its own.
    pub fn new(config: Config, shutdown: watch::Receiver<bool>) -> Result<Self, NoRandomness> {
        let rooms = Arc::new(Rooms::new(
            EventIds::for_this_run(),
            config.history,
            config.rooms.clone(),
        ));
        Ok(Self::with(
            config,
            rooms,
            ViewerTokens::for_this_run()?,
            None,
            shutdown,
        ))
    }

    /// State for a node of the cluster `cluster` names: joins it and stores
    /// the rooms' history from its stream before returning.
    pub async fn clustered(
        config: Config,
        cluster: &ClusterConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, ClusterError> {
        let mut cluster = Cluster::join(cluster, config.history).await?;
        let rooms = Arc::new(Rooms::new(
            EventIds::new(cluster.boot()),
            config.history,
            config.rooms.clone(),
        ));
        cluster.follow(rooms.clone()).await?;
        let viewers = cluster.viewer_tokens();
        Ok(Self::with(config, rooms, viewers, Some(cluster), shutdown))
    }

    fn with(
        config: Config,
        rooms: Arc<Rooms>,
        viewers: ViewerTokens,
        cluster: Option<Cluster>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            rooms,
            cluster,
            limiter: Mutex::new(RateLimiter::new(config.rate, MAX_BUCKETS)),
            viewers,
            viewer_limiter: Mutex::new(RateLimiter::new(VIEWER_TOKEN_RATE, MAX_BUCKETS)),
            mod_limiter: Mutex::new(RateLimiter::new(MODERATION_RATE, MAX_BUCKETS)),
            creation_limiter: Mutex::new(RateLimiter::new(ROOM_CREATION_RATE, MAX_BUCKETS)),
            mod_token: config.mod_token,
            public_origin: config.public_origin,
            shutdown,
            lagged_feeds: AtomicU64::new(0),
        }
    }

    /// A new viewer token for a client at `from` (a few per client, then
    /// rate-limited).
    pub fn new_viewer(&self, from: IpAddr) -> Result<String, SubmitError> {
        self.viewer_limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(&[from.into()], Instant::now())
            .map_err(SubmitError::RateLimited)?;
        Ok(self.viewers.issue()?)
    }

    /// The viewer a token names; a token this run did not issue is refused.
    pub fn viewer(&self, token: &str) -> Result<ViewerId, SubmitError> {
        self.viewers.verify(token).ok_or(SubmitError::UnknownViewer)
    }

    /// Accepts a viewer's post (JSON [`ViewerPost`]) sent from `from`, by
    /// the `viewer` its token names, if any: it is charged to that viewer
    /// and to the client. Without a token, only the client's allowance
    /// applies and the name typed is all there is to the poster.
    pub async fn post(
        &self,
        room: &RoomName,
        from: IpAddr,
        viewer: Option<ViewerId>,
        body: &[u8],
    ) -> Result<PostAccepted, SubmitError> {
        let post: ViewerPost = parse(body)?;
        let mut event = events::from_post(&post, now_ms())?;
        let client = Poster::Client(from.into());
        let charged = match viewer {
            Some(viewer) => {
                // Games and moderators tell viewers apart by this id, so
                // two people typing the same name stay two viewers; no
                // typed name makes an id with this prefix (`room:NAME`).
                event.user.id = format!("room-viewer:{viewer}");
                vec![
                    Poster::Viewer {
                        room: room.clone(),
                        viewer,
                    },
                    client,
                ]
            }
            None => vec![client],
        };
        self.limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(&charged, Instant::now())
            .map_err(SubmitError::RateLimited)?;
        self.may_make(room, from)?;
        let event = self.store(room, event).await?;
        debug!(%room, id = %event.id, user = %event.user.id, "post accepted");
        Ok(PostAccepted { id: event.id })
    }

    /// Carries out a moderator's action (JSON [`ModeratorAction`]) after
    /// checking the `Authorization` header.
    pub async fn moderate(
        &self,
        room: &RoomName,
        from: IpAddr,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<PostAccepted, SubmitError> {
        self.mod_limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(&[from.into()], Instant::now())
            .map_err(SubmitError::RateLimited)?;
        auth::check(self.mod_token.as_ref(), authorization)?;
        let action: ModeratorAction = parse(body)?;
        let event = self
            .store(room, events::from_action(&action, now_ms())?)
            .await?;
        info!(%room, id = %event.id, kind = ?event.kind, "moderator action");
        Ok(PostAccepted { id: event.id })
    }

    /// Opens a feed of `room` for a client at `from` that has the events up
    /// to id `after`.
    pub fn open_feed(
        &self,
        room: &RoomName,
        from: IpAddr,
        after: Option<&str>,
    ) -> Result<Feed, SubmitError> {
        self.may_make(room, from)?;
        Ok(self.rooms.subscribe(room, after)?)
    }

    /// Stores `event` in `room`: here, or in the cluster's stream (every
    /// node, this one included, then stores it from there).
    async fn store(&self, room: &RoomName, event: NewEvent) -> Result<AudienceEvent, SubmitError> {
        match &self.cluster {
            None => Ok(self.rooms.publish(room, event)?),
            Some(cluster) => {
                self.rooms.check(room, &event)?;
                let seq = cluster.publish(room, &event).await?;
                Ok(self.rooms.stamp(seq, event))
            }
        }
    }

    /// Charges the client at `from` for making `room` if it does not exist yet.
    fn may_make(&self, room: &RoomName, from: IpAddr) -> Result<(), SubmitError> {
        if self.rooms.exists(room) {
            return Ok(());
        }
        self.creation_limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(&[from.into()], Instant::now())
            .map_err(SubmitError::RateLimited)
    }

    /// Counts a feed dropped for falling behind; returns the total so far.
    pub fn count_lagged_feed(&self) -> u64 {
        self.lagged_feeds.fetch_add(1, Ordering::Relaxed) + 1
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SubmitError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(SubmitError::TooLarge);
    }
    Ok(serde_json::from_slice(body)?)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::limits::Rate;

    fn app(burst: u32, token: Option<&str>) -> App {
        let config = Config {
            rate: Rate::new(0.001, burst).unwrap(),
            mod_token: token.and_then(|token| ModToken::new(token.into())),
            ..Config::default()
        };
        App::new(config, watch::channel(false).1).unwrap()
    }

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const AWAY: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }

    #[tokio::test]
    async fn posts_are_parsed_checked_and_stored() {
        let app = app(5, None);
        let lobby = RoomName::parse("lobby").unwrap();
        let chat = br#"{"type":"chat","user":"ann","text":"hi"}"#;
        let accepted = app.post(&lobby, HOME, None, chat).await.unwrap();
        assert_eq!(app.rooms.events_after(&lobby, None)[0].id, accepted.id);
        assert!(matches!(
            app.post(&lobby, HOME, None, b"{").await,
            Err(SubmitError::Malformed(_))
        ));
        let big = format!(
            r#"{{"type":"chat","user":"ann","text":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES)
        );
        assert!(matches!(
            app.post(&lobby, HOME, None, big.as_bytes()).await,
            Err(SubmitError::TooLarge)
        ));
        let gift = br#"{"type":"gift","user":"ann","gift":"yacht"}"#;
        assert!(matches!(
            app.post(&lobby, HOME, None, gift).await,
            Err(SubmitError::Refused(_))
        ));
    }

    #[tokio::test]
    async fn viewers_and_addresses_are_limited_separately() {
        let app = app(2, None);
        let lobby = RoomName::parse("lobby").unwrap();
        let like = |user: &str| format!(r#"{{"type":"like","user":"{user}","count":50}}"#);
        let ann = app.viewer(&app.new_viewer(HOME).unwrap()).unwrap();
        let mallory = app.viewer(&app.new_viewer(AWAY).unwrap()).unwrap();
        let a1 = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1));
        let a2 = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 2));
        assert!(
            app.post(&lobby, a1, Some(ann), like("ann").as_bytes())
                .await
                .is_ok()
        );
        assert!(
            app.post(&lobby, a2, Some(ann), like("ann").as_bytes())
                .await
                .is_ok()
        );
        // Ann is out of posts, from any address.
        assert!(matches!(
            app.post(&lobby, AWAY, Some(ann), like("ann").as_bytes())
                .await,
            Err(SubmitError::RateLimited(_))
        ));
        // Posting under her name spends the poster's allowance, not hers:
        // mallory is limited as mallory, and the events are told apart.
        let mut ids = Vec::new();
        for _ in 0..2 {
            let accepted = app
                .post(&lobby, AWAY, Some(mallory), like("ann").as_bytes())
                .await;
            ids.push(accepted.unwrap().id);
        }
        assert!(matches!(
            app.post(&lobby, HOME, Some(mallory), like("ann").as_bytes())
                .await,
            Err(SubmitError::RateLimited(_))
        ));
        let events = app.rooms.events_after(&lobby, None);
        let user_of = |id: &str| events.iter().find(|e| e.id == id).unwrap().user.id.clone();
        assert_ne!(
            user_of(&ids[0]),
            events[0].user.id,
            "same name, other viewer"
        );
        assert_eq!(events[0].user.display_name, "ann");
        // An address that is out of posts is out for everyone posting from it.
        assert!(matches!(
            app.post(&lobby, AWAY, None, like("bob").as_bytes()).await,
            Err(SubmitError::RateLimited(_))
        ));
        assert!(
            app.post(&lobby, HOME, None, like("bob").as_bytes())
                .await
                .is_ok()
        );
        // No typed name gives a token viewer's id.
        let posing = format!("viewer:{}", &user_of(&ids[0])["room-viewer:".len()..]);
        assert!(
            app.post(&lobby, HOME, None, like(&posing).as_bytes())
                .await
                .is_ok()
        );
        let last = app.rooms.events_after(&lobby, None).pop().unwrap();
        assert_ne!(last.user.id, user_of(&ids[0]));
    }

    #[test]
    fn made_up_viewer_tokens_are_refused_and_tokens_are_limited_per_client() {
        let app = app(5, None);
        assert!(matches!(
            app.viewer("0123.4567"),
            Err(SubmitError::UnknownViewer)
        ));
        let issued = (0..100).filter(|_| app.new_viewer(AWAY).is_ok()).count();
        assert_eq!(issued, 20, "the burst of tokens per client");
        assert!(
            app.new_viewer(HOME).is_ok(),
            "another client is not limited"
        );
    }

    #[tokio::test]
    async fn making_rooms_is_limited_per_client_and_posting_in_them_is_not() {
        let app = app(1000, None);
        let chat = br#"{"type":"chat","user":"ann","text":"hi"}"#;
        let mut made = 0;
        for n in 0..100 {
            let room = RoomName::parse(&format!("r{n}")).unwrap();
            made += usize::from(app.post(&room, AWAY, None, chat).await.is_ok());
        }
        assert_eq!(made, 10, "the burst of room creation");
        let r0 = RoomName::parse("r0").unwrap();
        for _ in 0..20 {
            assert!(
                app.post(&r0, AWAY, None, chat).await.is_ok(),
                "an existing room"
            );
        }
        // Another client makes its own; a feed counts as making one too.
        let fresh = RoomName::parse("fresh").unwrap();
        assert!(app.open_feed(&fresh, HOME, None).is_ok());
        let r99 = RoomName::parse("r99").unwrap();
        assert!(matches!(
            app.open_feed(&r99, AWAY, None),
            Err(SubmitError::RateLimited(_))
        ));
    }

    #[tokio::test]
    async fn moderation_needs_the_token() {
        let lobby = RoomName::parse("lobby").unwrap();
        let notice = br#"{"type":"notice","text":"hello"}"#;
        let closed = app(5, None);
        assert!(matches!(
            closed
                .moderate(&lobby, HOME, Some("Bearer x"), notice)
                .await,
            Err(SubmitError::Unauthorized(AuthError::Disabled))
        ));
        let open = app(5, Some("tok"));
        assert!(matches!(
            open.moderate(&lobby, HOME, None, notice).await,
            Err(SubmitError::Unauthorized(AuthError::Missing))
        ));
        let accepted = open
            .moderate(&lobby, HOME, Some("Bearer tok"), notice)
            .await
            .unwrap();
        assert_eq!(open.rooms.events_after(&lobby, None)[0].id, accepted.id);
    }

    #[tokio::test]
    async fn guessing_the_token_is_throttled_per_address() {
        let lobby = RoomName::parse("lobby").unwrap();
        let notice = br#"{"type":"notice","text":"hello"}"#;
        let app = app(5, Some("tok"));
        let mut guesses = Vec::new();
        for n in 0..40 {
            let token = format!("Bearer guess{n}");
            guesses.push(app.moderate(&lobby, AWAY, Some(&token), notice).await);
        }
        let wrong = guesses
            .iter()
            .filter(|guess| matches!(guess, Err(SubmitError::Unauthorized(AuthError::Wrong))))
            .count();
        let throttled = guesses
            .iter()
            .filter(|guess| matches!(guess, Err(SubmitError::RateLimited(_))))
            .count();
        assert!(
            wrong <= 21 && throttled >= 19,
            "{wrong} tried, {throttled} throttled"
        );
        // Even the right token waits its turn there; another address does not.
        assert!(matches!(
            app.moderate(&lobby, AWAY, Some("Bearer tok"), notice).await,
            Err(SubmitError::RateLimited(_))
        ));
        assert!(
            app.moderate(&lobby, HOME, Some("Bearer tok"), notice)
                .await
                .is_ok()
        );
    }
}
