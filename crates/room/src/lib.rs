//! `livestream-room`: a small self-hostable audience room server.
//!
//! Viewers open `/rooms/{room}` in a browser (or post JSON over HTTP) to
//! chat, send gifts and likes; `livestream-host` follows a room through its
//! WebSocket feed. The JSON spoken is [`livestream_interaction::room_api`].
//!
//! Several servers may share their rooms through NATS JetStream
//! (`--cluster`, [`ClusterConfig`]): a post on any of them reaches the readers
//! of all, once and in the same order.
//!
//! Modules, one concern each: `rooms` (histories and feeds), `events`
//! (posts and actions into events), `limits` (rate limiting), `auth` (the
//! moderator token), `viewers` (viewer tokens), `cluster` (rooms shared
//! through JetStream), `app` (the shared state and its operations),
//! `connections` (accepting within limits and deadlines), and the
//! transports `http`, `ws` and `page`.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

mod app;
mod auth;
mod cluster;
mod connections;
mod cross_site;
mod events;
mod forwarded;
mod http;
mod limits;
mod page;
mod rooms;
mod viewers;
mod ws;

pub use app::App;
pub use auth::{ModToken, read_secret_file, read_token_file};
pub use cluster::{ClusterConfig, ClusterError};
pub use connections::ConnectionLimits;
pub use limits::Rate;
pub use rooms::{RoomName, RoomPolicy};
pub use viewers::NoRandomness;

use app::MAX_BODY_BYTES;

/// How long feeds get to say goodbye once the server stops.
const FEED_GOODBYE: Duration = Duration::from_secs(2);

/// How a server run behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Events kept per room for replay.
    pub history: usize,
    /// Posting allowance per viewer and per client address.
    pub rate: Rate,
    /// Moderators' secret; without one, moderation is refused.
    pub mod_token: Option<ModToken>,
    /// The origin viewers' pages come from (`https://chat.example`), when
    /// it is not the address the server is reached at (behind a proxy).
    pub public_origin: Option<String>,
    /// Which rooms exist.
    pub rooms: RoomPolicy,
    /// How many connections, and how long a request may take to arrive.
    pub connections: ConnectionLimits,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` say who the
    /// client is (everyone else's are ignored).
    pub trusted_proxies: Vec<IpAddr>,
    /// The cluster whose rooms this server shares; on its own when `None`.
    pub cluster: Option<ClusterConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            history: 500,
            rate: limits::POSTING_RATE,
            mod_token: None,
            public_origin: None,
            rooms: RoomPolicy::default(),
            connections: ConnectionLimits::default(),
            trusted_proxies: Vec::new(),
            cluster: None,
        }
    }
}

/// Every route of the server, over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/healthz", get(http::healthz))
        .route("/gifts", get(http::gifts))
        .route("/viewers", post(http::new_viewer))
        .route("/assets/viewer.js", get(page::viewer_js))
        .route("/assets/viewer.css", get(page::viewer_css))
        .route("/rooms/{room}", get(page::viewer))
        .route("/rooms/{room}/post", post(http::post))
        .route("/rooms/{room}/moderate", post(http::moderate))
        .route("/rooms/{room}/events", get(http::events))
        .route("/rooms/{room}/ws", get(ws::feed))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The OS gave no random numbers for the viewer-token key.
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    /// The cluster could not be joined.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// A server whose state is ready (in a cluster: joined, and the rooms'
/// history read from its stream), waiting for [`Server::serve`].
#[derive(Debug)]
pub struct Server {
    app: Arc<App>,
    stop: watch::Sender<bool>,
    limits: ConnectionLimits,
    trusted_proxies: Vec<IpAddr>,
}

impl Server {
    /// Makes the server's state for `config`.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        info!(
            history = config.history,
            rate = ?config.rate,
            moderation = config.mod_token.is_some(),
            cluster = ?config.cluster,
            "starting"
        );
        let (stop, stopped) = watch::channel(false);
        let limits = config.connections;
        let trusted_proxies = config.trusted_proxies.clone();
        let app = match config.cluster.clone() {
            None => App::new(config, stopped)?,
            Some(cluster) => App::clustered(config, &cluster, stopped).await?,
        };
        Ok(Self {
            app: Arc::new(app),
            stop,
            limits,
            trusted_proxies,
        })
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting,
    /// finishes open requests and closes every feed (code 1001, "going away").
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        info!("serving rooms");
        let stop = self.stop;
        let stop_on_shutdown = {
            let stop = stop.clone();
            async move {
                shutdown.await;
                info!("shutting down");
                stop.send_replace(true);
            }
        };
        connections::serve(
            listener,
            router(self.app),
            self.limits,
            self.trusted_proxies.into(),
            stop_on_shutdown,
        )
        .await;
        // Feeds run outside the HTTP connections' bookkeeping: wait for them to close.
        if tokio::time::timeout(FEED_GOODBYE, stop.closed())
            .await
            .is_err()
        {
            warn!("some feeds did not close in time");
        }
    }
}
