//! A room's feed over WebSocket (`GET /rooms/{room}/ws?after=ID&viewer=TOKEN`):
//! the stored events after `ID`, then every new one, each a [`FeedFrame`]
//! text message; the client may post [`ViewerPost`]s on the same socket (as
//! the viewer `TOKEN` names, when given) and gets a [`FeedFrame::Error`] for
//! each one refused.
//!
//! [`ViewerPost`]: livestream_interaction::room_api::ViewerPost

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use livestream_interaction::room_api::FeedFrame;
use tokio::sync::broadcast::error::RecvError;
use tracing::{debug, warn};

use crate::app::App;
use crate::connections::ConnectionSlot;
use crate::cross_site::check_origin;
use crate::http::{ApiError, room_name};
use crate::rooms::{Feed, RoomName};
use crate::viewers::ViewerId;

/// Largest WebSocket message read at all; larger ones break the connection.
/// Posts are limited further (to `MAX_BODY_BYTES`) with a refusal instead,
/// so a client that oversteps a little keeps its connection.
const MAX_WS_MESSAGE: usize = 64 * 1024;

/// A client that takes nothing for this long is dropped rather than holding
/// its task and socket buffers forever.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a feed is pinged; clients answer (browsers and tungstenite do
/// it by themselves).
const PING_EVERY: Duration = Duration::from_secs(20);
/// A feed that has sent nothing, not even a pong, for this long is closed:
/// its client is gone or never meant to read.
const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// How long a feed the server closes waits for its client's close reply,
/// reading (and dropping) what the client still sends: closing the TCP
/// connection with unread bytes in it (a pong) would reset it, and the
/// client would lose the last events and the close frame it has not read yet.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Where a feed resumes, and who posts on it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct FeedQuery {
    /// The last event id the reader has; absent for everything stored.
    pub after: Option<String>,
    /// The viewer token (`POST /viewers`) posts on this socket are charged to.
    pub viewer: Option<String>,
}

/// `GET /rooms/{room}/ws?after=ID&viewer=TOKEN`: checks the viewer token,
/// subscribes (before the upgrade, so no event can slip between the replay
/// and the live feed) and upgrades.
pub async fn feed(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    Query(query): Query<FeedQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let room = room_name(&room)?;
    check_origin(&headers, app.public_origin.as_deref())?;
    let viewer = query
        .viewer
        .as_deref()
        .map(|token| app.viewer(token))
        .transpose()?;
    let feed = app.open_feed(&room, peer.ip(), query.after.as_deref())?;
    debug!(%room, %peer, replayed = feed.backlog.len(), "feed opened");
    let session = Session {
        app,
        room,
        peer,
        viewer,
        _slot: slot.map(|Extension(slot)| slot),
    };
    Ok(upgrade
        .max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        .on_upgrade(move |socket| session.run(socket, feed)))
}

/// What a session does after handling one message or event.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Keep going.
    Continue,
    /// Send a close frame and end.
    Close(u16, &'static str),
    /// End now (the peer is gone).
    End,
}

/// One client's connection to one room's feed.
struct Session {
    app: Arc<App>,
    room: RoomName,
    peer: SocketAddr,
    /// Who posts on this socket, when the client gave a token.
    viewer: Option<ViewerId>,
    /// The connection's place among the server's (freed when the feed ends).
    _slot: Option<ConnectionSlot>,
}

impl Session {
    async fn run(self, mut socket: WebSocket, mut feed: Feed) {
        for event in std::mem::take(&mut feed.backlog) {
            if send(&mut socket, &FeedFrame::Event(event)).await != Next::Continue {
                return;
            }
        }
        let mut shutdown = self.app.shutdown.clone();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut reader_failed = false;
        let next = loop {
            let next = tokio::select! {
                incoming = socket.recv() => match incoming {
                    Some(Ok(message)) => {
                        last_heard = Instant::now();
                        self.on_message(&mut socket, message).await
                    }
                    Some(Err(error)) => {
                        // Invalid UTF-8 or an oversized frame: the stream cannot be read on.
                        let refusal = FeedFrame::Error { message: format!("unreadable message: {error}") };
                        let _ = send(&mut socket, &refusal).await;
                        reader_failed = true;
                        Next::Close(close_code::PROTOCOL, "unreadable message")
                    }
                    None => Next::End,
                },
                event = feed.recv() => match event {
                    Ok(event) => send(&mut socket, &FeedFrame::Event(event)).await,
                    Err(RecvError::Lagged(missed)) => self.fell_behind(missed),
                    Err(RecvError::Closed) => Next::End,
                },
                _ = shutdown.changed() => Next::Close(close_code::AWAY, "server shutting down"),
                _ = ping.tick() => {
                    if last_heard.elapsed() > SILENCE_LIMIT {
                        Next::Close(close_code::POLICY, "no answer to pings")
                    } else {
                        send_message(&mut socket, Message::Ping(Default::default())).await
                    }
                }
            };
            if next != Next::Continue {
                break next;
            }
        };
        if let Next::Close(code, reason) = next {
            let close = Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }));
            let sent = send_message(&mut socket, close).await == Next::Continue;
            if sent && reader_failed {
                // The stream ends at its first read error, so the client's
                // close reply cannot be read: hold the connection instead,
                // so the client reads the refusal and the close frame
                // before it goes (closing it on the unread reply resets
                // it, and a reset can lose them).
                let _ = tokio::time::timeout(CLOSE_GRACE, shutdown.changed()).await;
            } else if sent {
                await_close_reply(&mut socket).await;
            }
        }
        debug!(room = %self.room, peer = %self.peer, ?next, "feed closed");
    }

    async fn on_message(&self, socket: &mut WebSocket, message: Message) -> Next {
        let refusal = match message {
            Message::Text(text) => {
                match self
                    .app
                    .post(&self.room, self.peer.ip(), self.viewer, text.as_bytes())
                    .await
                {
                    // The event itself comes back on the feed.
                    Ok(_) => return Next::Continue,
                    Err(error) => error.to_string(),
                }
            }
            Message::Binary(_) => {
                "binary messages are not accepted: send a ViewerPost as JSON text".to_owned()
            }
            // Pongs are automatic; a close is answered on the next read, which then ends.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return Next::Continue,
        };
        send(socket, &FeedFrame::Error { message: refusal }).await
    }

    fn fell_behind(&self, missed: u64) -> Next {
        let total = self.app.count_lagged_feed();
        warn!(room = %self.room, peer = %self.peer, missed, total, "feed fell behind; closing it so the client resumes");
        Next::Close(
            close_code::AGAIN,
            "fell behind; reconnect with ?after=LAST_ID",
        )
    }
}

/// Reads until the client answers a close frame (or goes), for at most
/// [`CLOSE_GRACE`]: the closing handshake the server started.
async fn await_close_reply(socket: &mut WebSocket) {
    let replied = async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, replied).await;
}

/// Sends one frame; [`Next::End`] when the peer is gone.
async fn send(socket: &mut WebSocket, frame: &FeedFrame) -> Next {
    match serde_json::to_string(frame) {
        Ok(text) => send_message(socket, Message::Text(text.into())).await,
        Err(error) => {
            warn!(%error, "cannot encode a feed frame");
            Next::Close(close_code::ERROR, "internal error")
        }
    }
}

/// Sends one message, giving up on a peer that has stopped reading.
async fn send_message(socket: &mut WebSocket, message: Message) -> Next {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Next::Continue,
        Ok(Err(_)) => Next::End,
        Err(_) => {
            warn!("feed client stopped reading; dropping it");
            Next::End
        }
    }
}
