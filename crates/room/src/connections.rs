//! Accepting connections so that half-sent requests cannot starve the
//! server: at most [`ConnectionLimits::max_connections`] at once and
//! [`ConnectionLimits::per_client`] from one client (an IPv4 address or an
//! IPv6 /64), a request's headers within `header_timeout`, and its whole
//! handling, body included, within `request_timeout`. A connection over a
//! limit is closed at once, before anything is read. A WebSocket feed keeps
//! its connection's place until it closes (see `ws` for its pings). A
//! trusted reverse proxy is one client of many: it has no per-client share,
//! and each of its requests is told the client it forwards (`forwarded`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;
use tracing::{debug, warn};

use crate::forwarded::client_address;
use crate::limits::ClientKey;

/// How long open requests get to finish once the server stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (out of file descriptors, …), so the loop
/// waits for a connection to close instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Bounds on connections; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once, feeds included.
    pub max_connections: usize,
    /// Connections open at once from one client.
    pub per_client: usize,
    /// Time for a request's headers to arrive in full.
    pub header_timeout: Duration,
    /// Time for a request to be read and answered (a feed: until upgraded).
    pub request_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            per_client: 64,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Connections open now, in all and per client.
#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_client: HashMap<ClientKey, usize>,
}

/// Keeps count of open connections against the limits.
#[derive(Debug)]
struct Admission {
    limits: ConnectionLimits,
    open: Mutex<Open>,
    refused: AtomicU64,
}

impl Admission {
    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a connection from `client`, or `None` over a limit
    /// (`shared`: a trusted proxy, which has no per-client share).
    fn admit(self: &Arc<Self>, client: ClientKey, shared: bool) -> Option<ConnectionSlot> {
        let mut open = self.open();
        let from_client = open.per_client.get(&client).copied().unwrap_or(0);
        if open.total >= self.limits.max_connections
            || (!shared && from_client >= self.limits.per_client)
        {
            return None;
        }
        open.total += 1;
        open.per_client.insert(client, from_client + 1);
        Some(ConnectionSlot(Arc::new(Slot {
            admission: self.clone(),
            client,
        })))
    }
}

/// One admitted connection's place; freed when the last clone is dropped
/// (the connection's task, or the feed it was upgraded to).
#[derive(Debug, Clone)]
pub struct ConnectionSlot(#[expect(dead_code, reason = "held for its Drop")] Arc<Slot>);

#[derive(Debug)]
struct Slot {
    admission: Arc<Admission>,
    client: ClientKey,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.admission.open();
        open.total -= 1;
        if let Some(count) = open.per_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.per_client.remove(&self.client);
            }
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes,
/// then stops accepting and gives open requests [`SHUTDOWN_GRACE`] to finish.
/// Requests from `trusted_proxies` are taken to come from the client they forward.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    trusted_proxies: Arc<[IpAddr]>,
    shutdown: impl Future<Output = ()>,
) {
    let admission = Arc::new(Admission {
        limits,
        open: Mutex::default(),
        refused: AtomicU64::new(0),
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // Each connection's task holds a receiver: `stop` tells them to finish,
    // and `stop.closed()` says when they all have.
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let shared = trusted_proxies.contains(&peer.ip());
        let Some(slot) = admission.admit(ClientKey::from(peer.ip()), shared) else {
            let refused = admission.refused.fetch_add(1, Ordering::Relaxed) + 1;
            // One line per 100 refusals: an attack must not flood the log.
            if refused % 100 == 1 {
                warn!(%peer, refused, "connection over the limits, closed");
            }
            continue;
        };
        let service = {
            let (slot, router, trusted) = (slot.clone(), router.clone(), trusted_proxies.clone());
            hyper::service::service_fn(move |request: Request<Incoming>| {
                let client = client_address(peer.ip(), request.headers(), &trusted);
                let from = SocketAddr::new(client, peer.port());
                handle(
                    router.clone(),
                    request,
                    from,
                    slot.clone(),
                    limits.request_timeout,
                )
            })
        };
        let connection = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            let finished = tokio::select! {
                finished = connection.as_mut() => finished,
                // Only ever changes to `true`; sent after the last task is spawned.
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = finished {
                debug!(%peer, %error, "connection ended");
            }
        });
    }
    drop(listener);
    stop.send_replace(true);
    drop(stopping);
    if tokio::time::timeout(SHUTDOWN_GRACE, stop.closed())
        .await
        .is_err()
    {
        warn!("some requests did not finish in time");
    }
}

/// One request: told who sent it (`peer`: the client, through any trusted
/// proxy) and which connection slot it holds, and given `timeout` to be answered.
async fn handle(
    router: Router,
    mut request: Request<Incoming>,
    peer: SocketAddr,
    slot: ConnectionSlot,
    timeout: Duration,
) -> Result<Response<Body>, Infallible> {
    request.extensions_mut().insert(ConnectInfo(peer));
    request.extensions_mut().insert(slot);
    let answer = router.oneshot(request.map(Body::new));
    Ok(match tokio::time::timeout(timeout, answer).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => {
            debug!(%peer, "request not received in time");
            (StatusCode::REQUEST_TIMEOUT, "request not received in time").into_response()
        }
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn admission(max_connections: usize, per_client: usize) -> Arc<Admission> {
        Arc::new(Admission {
            limits: ConnectionLimits {
                max_connections,
                per_client,
                ..ConnectionLimits::default()
            },
            open: Mutex::default(),
            refused: AtomicU64::new(0),
        })
    }

    fn client(last: u8) -> ClientKey {
        ClientKey::from(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)))
    }

    #[test]
    fn places_per_client_and_in_all_come_back_when_dropped() {
        let admission = admission(3, 2);
        let a1 = admission.admit(client(1), false).unwrap();
        let a2 = admission.admit(client(1), false).unwrap();
        assert!(
            admission.admit(client(1), false).is_none(),
            "two per client"
        );
        let b1 = admission.admit(client(2), false).unwrap();
        assert!(admission.admit(client(3), false).is_none(), "three in all");
        // A clone (a feed upgraded from the connection) keeps the place.
        let feed = a1.clone();
        drop(a1);
        assert!(admission.admit(client(3), false).is_none());
        drop(feed);
        let c1 = admission.admit(client(3), false).unwrap();
        drop((c1, a2, b1));
        // A trusted proxy has no share of its own, only the total.
        let proxied: Vec<_> = (0..3)
            .map(|_| admission.admit(client(9), true).unwrap())
            .collect();
        assert!(admission.admit(client(9), true).is_none(), "three in all");
        drop(proxied);
        assert_eq!(admission.open().total, 0);
        assert!(admission.open().per_client.is_empty());
    }
}
