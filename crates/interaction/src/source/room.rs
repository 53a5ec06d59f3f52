//! The `livestream-room` feed: a WebSocket of JSON [`FeedFrame`]s, resumed
//! after the last event seen when the connection comes back. A room served
//! by several servers (the nodes of a cluster) is read from one of them at a
//! time: when it fails, the next one takes over from the same event, since
//! every node gives an event the same id.

use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error, Message, WebSocket};

use super::transport::Transport;
use super::{CONNECT_TIMEOUT, POLL, SessionEnd, SourceContext, is_timeout, redact};
use crate::room_api::FeedFrame;

/// Largest feed message accepted.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Where a room source stands between connections.
#[derive(Debug, Default)]
pub(super) struct Resume {
    /// The feed tried first next time.
    next: usize,
    /// The id of the last event handed on.
    last_id: Option<String>,
}

/// One connection: to the first of `urls` (from the one in line) that
/// answers, replaying from the last event seen, then following the feed until
/// it ends. The feed after the one read is in line next, so a server that
/// dies is not waited for.
pub(super) fn session(
    urls: &[String],
    resume: &mut Resume,
    context: &SourceContext,
) -> Result<(), SessionEnd> {
    let mut failures = Vec::new();
    for offset in 0..urls.len() {
        let index = (resume.next + offset) % urls.len();
        let url = &urls[index];
        match connect(url, resume.last_id.as_deref(), context) {
            Ok(socket) => {
                if urls.len() > 1 {
                    tracing::info!(feed = %redact(url), "reading the room from this server");
                }
                resume.next = (index + 1) % urls.len();
                context.connected();
                return follow(socket, resume, context);
            }
            Err(end) if urls.len() == 1 => return Err(end),
            Err(end) => failures.push(format!("{}: {end}", redact(url))),
        }
    }
    Err(failures.join("; "))
}

/// Opens the feed at `url`, asking for the events after `after`.
fn connect(
    url: &str,
    after: Option<&str>,
    context: &SourceContext,
) -> Result<WebSocket<Transport>, SessionEnd> {
    let request = match after {
        Some(id) => format!(
            "{url}{}after={}",
            if url.contains('?') { '&' } else { '?' },
            encode(id)
        ),
        None => url.to_owned(),
    };
    let uri: tungstenite::http::Uri = request.parse().map_err(|err| format!("bad URL: {err}"))?;
    let host = uri.host().ok_or("URL has no host")?;
    let tls = if url.starts_with("wss://") {
        Some(
            context
                .tls
                .as_ref()
                .ok_or("no TLS set up for a wss:// feed")?,
        )
    } else {
        None
    };
    let default_port = if tls.is_some() { 443 } else { 80 };
    let stream = Transport::connect(host, uri.port_u16().unwrap_or(default_port), tls)?;
    stream.set_read_timeout(CONNECT_TIMEOUT)?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let (socket, _) = tungstenite::client::client_with_config(uri, stream, Some(config))
        .map_err(|err| format!("handshake failed: {err}"))?;
    socket.get_ref().set_read_timeout(POLL)?;
    Ok(socket)
}

/// Hands on every event of the feed until it ends.
fn follow(
    mut socket: WebSocket<Transport>,
    resume: &mut Resume,
    context: &SourceContext,
) -> Result<(), SessionEnd> {
    loop {
        if context.stopping() {
            let _ = socket.close(None);
            let _ = socket.flush();
            return Ok(());
        }
        match socket.read() {
            Ok(Message::Text(text)) => match serde_json::from_str::<FeedFrame>(&text) {
                Ok(FeedFrame::Event(event)) => {
                    resume.last_id = Some(event.id.clone());
                    context.emit(event);
                }
                Ok(FeedFrame::Error { message }) => tracing::warn!("room says: {message}"),
                Err(err) => context.bad_input(format_args!("malformed feed message: {err}")),
            },
            Ok(Message::Binary(_)) => context.bad_input("binary feed message"),
            Ok(Message::Close(frame)) => {
                return Err(frame.map_or("closed by the server".into(), |f| {
                    format!("closed by the server: {} {}", f.code, f.reason)
                }));
            }
            Ok(_) => {}
            Err(Error::Io(err)) if is_timeout(&err) => {}
            Err(err @ (Error::Capacity(_) | Error::Utf8(_))) => {
                context.bad_input(&err);
                return Err(format!("unreadable feed message: {err}"));
            }
            Err(err) => return Err(err.to_string()),
        }
    }
}

/// Percent-encodes a query value (event ids are plain, but a server may choose any).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
