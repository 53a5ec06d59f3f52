//! The `livestream-room` feed: a WebSocket of JSON [`FeedFrame`]s, resumed
//! after the last event seen when the connection comes back.

use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error, Message};

use super::transport::Transport;
use super::{CONNECT_TIMEOUT, POLL, SessionEnd, SourceContext, is_timeout};
use crate::room_api::FeedFrame;

/// Largest feed message accepted.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// One connection: replays from `resume`, then follows the feed until it ends.
pub(super) fn session(
    url: &str,
    resume: &mut Option<String>,
    context: &SourceContext,
) -> Result<(), SessionEnd> {
    let request = match resume {
        Some(id) => format!(
            "{url}{}after={}",
            if url.contains('?') { '&' } else { '?' },
            encode(id)
        ),
        None => url.to_owned(),
    };
    let uri: tungstenite::http::Uri = request.parse().map_err(|err| format!("bad URL: {err}"))?;
    let host = uri.host().ok_or("URL has no host")?;
    let default_port = if context.tls.is_some() { 443 } else { 80 };
    let stream = Transport::connect(
        host,
        uri.port_u16().unwrap_or(default_port),
        context.tls.as_ref(),
    )?;
    stream.set_read_timeout(CONNECT_TIMEOUT)?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let (mut socket, _) = tungstenite::client::client_with_config(uri, stream, Some(config))
        .map_err(|err| format!("handshake failed: {err}"))?;
    socket.get_ref().set_read_timeout(POLL)?;
    context.connected();
    loop {
        if context.stopping() {
            let _ = socket.close(None);
            let _ = socket.flush();
            return Ok(());
        }
        match socket.read() {
            Ok(Message::Text(text)) => match serde_json::from_str::<FeedFrame>(&text) {
                Ok(FeedFrame::Event(event)) => {
                    *resume = Some(event.id.clone());
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
