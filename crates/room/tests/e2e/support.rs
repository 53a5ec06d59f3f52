//! The real `livestream-room` binary (started and stopped by
//! [`RoomServer`]) and small HTTP and WebSocket clients for it.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use livestream_interaction::room_api::FeedFrame;
use livestream_interaction::{AudienceEvent, AudienceEventKind};
use livestream_testkit::{Reaped, RoomServer};
use serde_json::Value;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

/// How long anything awaited may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Command-line limits generous enough for tests that are not about rate limiting.
pub const UNLIMITED: [&str; 4] = ["--rate", "1000", "--burst", "1000"];

/// Polls `probe` until it returns `Some`, failing the test after [`PATIENCE`].
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `livestream-room` ([`RoomServer`]) with HTTP and WebSocket clients.
pub struct Room {
    server: RoomServer,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// The server under test.
const BINARY: &str = env!("CARGO_BIN_EXE_livestream-room");

impl Room {
    /// Starts the server on a free port with extra command-line `args`.
    pub fn start(args: &[&str]) -> Self {
        Self::start_on("127.0.0.1:0", args)
    }

    /// Starts the server on a free port, moderated with `token` (from the
    /// environment, as `livestream-room` should be given it).
    pub fn start_moderated(token: &str, args: &[&str]) -> Self {
        Self::around(RoomServer::start_moderated(BINARY.as_ref(), token, args))
    }

    /// Starts the server listening on `listen`.
    pub fn start_on(listen: &str, args: &[&str]) -> Self {
        Self::around(RoomServer::start_on(BINARY.as_ref(), listen, args))
    }

    fn around(server: RoomServer) -> Self {
        let url = server.http("");
        Self { server, url }
    }

    /// The address it listens on.
    pub fn address(&self) -> std::net::SocketAddr {
        self.server.address.parse().unwrap()
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// The process, to signal it.
    pub fn process(&mut self) -> &mut Reaped {
        self.server.process()
    }

    /// `ws://127.0.0.1:PORT` + `path`.
    pub fn ws_url(&self, path: &str) -> String {
        self.server.ws_url(path)
    }

    /// POSTs `body` to `path`, with `Authorization: Bearer token` when given.
    pub fn post(&self, path: &str, body: impl AsRef<[u8]>, token: Option<&str>) -> Reply {
        let mut request = agent().post(self.server.http(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Reply::from(request.content_type("application/json").send(body.as_ref()))
    }

    /// POSTs `body` to `path` with exactly these `headers`, as a page of
    /// another site (or a careless client) would.
    pub fn post_with(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = agent().post(self.server.http(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::from(request.send(body))
    }

    /// Opens a feed as a browser page from `origin` would: the HTTP status
    /// the upgrade was answered with (101 when it was accepted).
    pub fn feed_from(&self, room: &str, origin: &str) -> u16 {
        self.feed_answer(room, "", Some(origin))
    }

    /// Opens the feed `/rooms/{room}/ws` + `query`: the HTTP status the
    /// upgrade was answered with (101 when it was accepted).
    pub fn feed_status(&self, room: &str, query: &str) -> u16 {
        self.feed_answer(room, query, None)
    }

    fn feed_answer(&self, room: &str, query: &str, origin: Option<&str>) -> u16 {
        use tungstenite::client::IntoClientRequest as _;
        let stream = TcpStream::connect(&self.server.address).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut request = self
            .ws_url(&format!("/rooms/{room}/ws{query}"))
            .into_client_request()
            .unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", origin.parse().unwrap());
        }
        match tungstenite::client(request, stream) {
            Ok((_, response)) => response.status().as_u16(),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                response.status().as_u16()
            }
            Err(err) => panic!("the feed handshake failed: {err}"),
        }
    }

    /// GETs `path`.
    pub fn get(&self, path: &str) -> Reply {
        Reply::from(agent().get(self.server.http(path)).call())
    }

    /// A viewer's post to `room` that must be accepted; returns the event id.
    pub fn post_ok(&self, room: &str, post: Value) -> String {
        self.post_all(room, [post]).remove(0)
    }

    /// Viewers' posts to `room`, each of which must be accepted, sent one
    /// after another over one kept-alive connection (thousands a second on
    /// a busy machine, where a connection each would take minutes); the
    /// event ids.
    pub fn post_all(&self, room: &str, posts: impl IntoIterator<Item = Value>) -> Vec<String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(PATIENCE))
            // Well within the server's keep-alive deadline.
            .max_idle_age(Duration::from_secs(2))
            .build()
            .into();
        let url = self.server.http(&format!("/rooms/{room}/post"));
        posts
            .into_iter()
            .map(|post| {
                let reply = Reply::from(
                    agent
                        .post(&url)
                        .content_type("application/json")
                        .send(post.to_string().as_bytes()),
                );
                assert_eq!(reply.status, 200, "{}", reply.body);
                reply.json()["id"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    /// `GET /rooms/{room}/events`.
    pub fn events(&self, room: &str) -> Vec<AudienceEvent> {
        let reply = self.get(&format!("/rooms/{room}/events"));
        assert_eq!(reply.status, 200, "{}", reply.body);
        serde_json::from_str(&reply.body).unwrap()
    }

    /// Opens the room's feed (`/rooms/{room}/ws` + `query`).
    pub fn feed(&self, room: &str, query: &str) -> Feed {
        let stream = TcpStream::connect(&self.server.address).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let url = self.ws_url(&format!("/rooms/{room}/ws{query}"));
        let (socket, _) = tungstenite::client(url, stream).unwrap();
        Feed(socket)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PATIENCE))
        .build()
        .into()
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `Retry-After`, when present.
    pub retry_after: Option<String>,
    /// Content type, when present.
    pub content_type: Option<String>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    fn from(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Self {
        let mut response = result.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
        };
        let (retry_after, content_type) = (header("retry-after"), header("content-type"));
        Self {
            status: response.status().as_u16(),
            retry_after,
            content_type,
            body: response.body_mut().read_to_string().unwrap(),
        }
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("{error}: {:?}", self.body))
    }
}

/// A client of a room's WebSocket feed.
pub struct Feed(pub WebSocket<TcpStream>);

impl Feed {
    /// Sends a text message.
    pub fn send(&mut self, text: impl Into<String>) {
        self.0.send(Message::text(text.into())).unwrap();
    }

    /// The next feed frame (fails after [`PATIENCE`]).
    pub fn frame(&mut self) -> FeedFrame {
        loop {
            match self.0.read().unwrap() {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a feed frame, got {other:?}"),
            }
        }
    }

    /// The next frame, which must be an event.
    pub fn event(&mut self) -> AudienceEvent {
        match self.frame() {
            FeedFrame::Event(event) => event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The next frame, which must be a refusal; returns its message.
    pub fn error(&mut self) -> String {
        match self.frame() {
            FeedFrame::Error { message } => message,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Reads every frame up to the server's close frame; returns both.
    pub fn until_close(&mut self) -> (Vec<FeedFrame>, Option<CloseFrame>) {
        let mut frames = Vec::new();
        loop {
            match self.0.read() {
                Ok(Message::Text(text)) => frames.push(serde_json::from_str(&text).unwrap()),
                Ok(Message::Close(close)) => return (frames, close),
                Ok(_) => {}
                Err(error) => panic!("no close frame: {error}"),
            }
        }
    }
}

/// The text of a chat event (panics for other kinds).
pub fn chat_text(event: &AudienceEvent) -> &str {
    match &event.kind {
        AudienceEventKind::Chat { text } => text,
        other => panic!("not a chat: {other:?}"),
    }
}
