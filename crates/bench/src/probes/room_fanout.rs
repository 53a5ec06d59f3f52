//! Fan-out of one audience room: thousands of WebSocket viewers of
//! `livestream-room`'s room `bench`, chat posted to it over HTTP at a steady
//! rate. The room lives either in one node's memory or in two nodes sharing
//! it through one NATS server (half of the viewers on each, every
//! post to the first). Measured over the posting window: the events
//! delivered per second (all viewers together), per post the time from
//! sending it to the last viewer having it (p50 / p99), and the CPU (cores)
//! of each room node, of NATS and of this process, which shares the machine.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use livestream_e2e::binary;
use livestream_interaction::room_api::FeedFrame;
use livestream_protocol::AudienceEventKind;
use livestream_testkit::{NatsServer, RoomServer};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::cpu_seconds;
use super::latency::percentile;
use crate::report::Measured;

/// What the probe measures, for the report.
pub const WHAT: &str = "WebSocket viewers of one livestream-room room, chat posted over HTTP at --room-posts per second (to the first node): events delivered per second, post → last viewer p50/p99, CPU (cores) per room node; one node in memory, or two sharing the room through one NATS JetStream server with half the viewers each";

/// The room every viewer follows (listed, so it always exists).
const ROOM: &str = "bench";
/// How a post's text starts; its sequence number follows (0: the warm-up).
const MARKER: &str = "fanout ";
/// Viewers whose handshakes are in flight at once.
const CONNECT_BATCH: usize = 100;
/// Time for one viewer's connection and handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for the warm-up post to reach every viewer.
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(30);
/// After the window, waiting for late deliveries stops once none has come
/// for this long, or after [`DRAIN_LIMIT`].
const DRAIN_QUIET: Duration = Duration::from_secs(2);
/// The longest wait for late deliveries.
const DRAIN_LIMIT: Duration = Duration::from_secs(15);
/// Each viewer's read buffer (allocated up front; tungstenite's 128 KiB
/// default would be 640 MiB for 5,000 viewers, for frames of a few hundred bytes).
const READ_BUFFER: usize = 4096;
/// Files this process keeps open besides its viewers' sockets.
const OWN_FILES: u64 = 256;

/// Where the room lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// One node, the room in its memory.
    InMemory,
    /// Two nodes sharing the room through one NATS server.
    TwoNodesOnNats,
}

impl Setup {
    /// Its part of the probe's name.
    pub fn label(self) -> &'static str {
        match self {
            Self::InMemory => "1 node in-memory",
            Self::TwoNodesOnNats => "2 nodes nats",
        }
    }

    fn nodes(self) -> usize {
        match self {
            Self::InMemory => 1,
            Self::TwoNodesOnNats => 2,
        }
    }
}

/// A viewer's feed.
type Feed = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One run: `viewers` feeds on the nodes of `setup`, `posts_per_second`
/// chat posts for `seconds`.
pub fn run(
    dir: &Path,
    viewers: usize,
    setup: Setup,
    posts_per_second: u32,
    seconds: u64,
) -> Measured {
    assert!(posts_per_second > 0, "posts per second must be at least 1");
    allow_open_files(viewers);
    let nats = (setup == Setup::TwoNodesOnNats).then(|| NatsServer::start(&dir.join("nats")));
    let cluster = nats.as_ref().map(NatsServer::url);
    let limit = (viewers + 100).to_string();
    let mut args = vec![
        "--room",
        ROOM,
        "--rate",
        "10000",
        "--burst",
        "10000",
        "--history",
        "100",
        "--max-connections",
        limit.as_str(),
        "--max-connections-per-client",
        limit.as_str(),
    ];
    if let Some(cluster) = &cluster {
        args.extend(["--cluster", cluster.as_str()]);
    }
    let room = binary("livestream-room");
    let nodes: Vec<RoomServer> = (0..setup.nodes())
        .map(|_| RoomServer::start(&room, &args))
        .collect();
    let feed_urls: Vec<String> = nodes
        .iter()
        .map(|node| node.ws_url(&format!("/rooms/{ROOM}/ws")))
        .collect();
    let poster = Poster::new(nodes[0].http(&format!("/rooms/{ROOM}/post")));

    let posts = posts_per_second.saturating_mul(u32::try_from(seconds).unwrap_or(u32::MAX));
    let tally = Arc::new(Tally::new(posts as usize + 1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-viewer")
        .enable_all()
        .build()
        .expect("tokio runtime");
    let connecting = Instant::now();
    let feeds = runtime.block_on(connect_all(&feed_urls, viewers));
    let connect_seconds = connecting.elapsed().as_secs_f64();
    for feed in feeds {
        runtime.spawn(watch(feed, Arc::clone(&tally)));
    }

    // A warm-up post every viewer must get: every feed (and, clustered,
    // both nodes' subscriptions) is live before the window opens.
    tally.sent(0);
    poster.post(0);
    let deadline = Instant::now() + WARM_UP_TIMEOUT;
    while tally.received(0) < viewers as u64 {
        assert!(
            Instant::now() < deadline,
            "the warm-up post reached {} of {viewers} viewers in {WARM_UP_TIMEOUT:?}",
            tally.received(0)
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let pids: Vec<u32> = nodes.iter().map(RoomServer::pid).collect();
    let nats_pid = nats.as_ref().map(NatsServer::pid);
    let before = Snapshot::take(&pids, nats_pid, &tally);
    let interval = Duration::from_secs(1) / posts_per_second;
    for seq in 1..=posts {
        let due = before.at + interval * (seq - 1);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        tally.sent(seq as usize);
        poster.post(seq);
    }
    std::thread::sleep((before.at + interval * posts).saturating_duration_since(Instant::now()));
    let after = Snapshot::take(&pids, nats_pid, &tally);

    let expected = viewers as u64 * u64::from(posts);
    tally.drain(expected);
    let feeds_ended = tally.feeds_ended.load(Ordering::Relaxed);
    // Closes every viewer's socket; the nodes, then NATS, stop on drop.
    runtime.shutdown_timeout(Duration::from_secs(2));

    let span = (after.at - before.at).as_secs_f64();
    let node_cores: Vec<f64> = after
        .nodes
        .iter()
        .zip(&before.nodes)
        .map(|(after, before)| (after - before) / span)
        .collect();
    let room_cores: f64 = node_cores.iter().sum();
    let delivered_per_s = (after.deliveries - before.deliveries) as f64 / span;
    let (mut latencies, incomplete) = tally.fanout_ms(posts as usize, viewers as u64);
    latencies.sort_by(f64::total_cmp);
    let received: u64 = (1..=posts as usize).map(|seq| tally.received(seq)).sum();

    let mut measured = Measured::default();
    measured.note("setup", setup.label());
    measured.set("viewers", viewers as f64);
    measured.set("connect_s", connect_seconds);
    measured.set("posts", f64::from(posts));
    measured.set("posts_per_s", f64::from(posts) / span);
    measured.set("delivered_per_s", delivered_per_s);
    measured.set(
        "delivered_per_s_per_node",
        delivered_per_s / nodes.len() as f64,
    );
    measured.set(
        "delivered_per_s_per_room_core",
        delivered_per_s / room_cores,
    );
    measured.set("deliveries_lost", expected.saturating_sub(received) as f64);
    measured.set("posts_not_delivered_to_all", incomplete as f64);
    measured.set("feeds_ended_by_server", feeds_ended as f64);
    if latencies.is_empty() {
        // No post reached every viewer: the losses above say why.
        measured.set("fanout_last_viewer_p50_ms", f64::NAN);
        measured.set("fanout_last_viewer_p99_ms", f64::NAN);
        measured.set("fanout_last_viewer_max_ms", f64::NAN);
    } else {
        measured.set("fanout_last_viewer_p50_ms", percentile(&latencies, 0.5));
        measured.set("fanout_last_viewer_p99_ms", percentile(&latencies, 0.99));
        measured.set("fanout_last_viewer_max_ms", latencies[latencies.len() - 1]);
    }
    for (n, cores) in node_cores.iter().enumerate() {
        measured.set(&format!("node{}_cores", n + 1), *cores);
    }
    measured.set("room_cores", room_cores);
    if nats.is_some() {
        measured.set("nats_cores", (after.nats - before.nats) / span);
    }
    measured.set("bench_cores", (after.own - before.own) / span);
    measured
}

/// Raises this process's open-file limit to fit `viewers` sockets, as
/// `livestream-room` does for its connections; panics when the hard limit
/// is too low.
fn allow_open_files(viewers: usize) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let wanted = viewers as u64 + OWN_FILES;
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("reading the open-file limit");
    if soft >= wanted {
        return;
    }
    assert!(
        hard >= wanted,
        "{viewers} viewers need {wanted} open files; the hard limit is {hard} (ulimit -Hn)"
    );
    setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).expect("raising the open-file limit");
}

/// Connects `viewers` feeds, spread evenly over `urls`, [`CONNECT_BATCH`]
/// handshakes at a time; panics when one fails.
async fn connect_all(urls: &[String], viewers: usize) -> Vec<Feed> {
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let mut feeds = Vec::with_capacity(viewers);
    let mut next = 0;
    while next < viewers {
        let end = (next + CONNECT_BATCH).min(viewers);
        let mut batch = tokio::task::JoinSet::new();
        for index in next..end {
            let url = urls[index % urls.len()].clone();
            batch.spawn(async move {
                let connecting =
                    tokio_tungstenite::connect_async_with_config(url, Some(config), false);
                match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
                    Ok(Ok((feed, _response))) => Ok(feed),
                    Ok(Err(error)) => Err(format!("viewer {index}: {error}")),
                    Err(_) => Err(format!(
                        "viewer {index}: no handshake within {CONNECT_TIMEOUT:?}"
                    )),
                }
            });
        }
        while let Some(joined) = batch.join_next().await {
            let connected = joined.expect("a viewer's connecting task");
            feeds.push(connected.unwrap_or_else(|error| panic!("{error}")));
        }
        next = end;
    }
    feeds
}

/// Reads one viewer's feed until the server ends it (or the runtime stops),
/// noting each post's arrival. tungstenite answers the server's pings while
/// it reads.
async fn watch(mut feed: Feed, tally: Arc<Tally>) {
    while let Some(message) = feed.next().await {
        match message {
            Ok(Message::Text(text)) => tally.record(&text, Instant::now()),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    tally.feeds_ended.fetch_add(1, Ordering::Relaxed);
}

/// What the viewers received, per post (by sequence number), shared by
/// every viewer task without locks.
struct Tally {
    /// The instant times are counted from.
    base: Instant,
    /// When each post was sent (ns since `base`).
    sent_ns: Vec<AtomicU64>,
    /// When the last viewer so far received each post (ns since `base`).
    last_ns: Vec<AtomicU64>,
    /// How many viewers received each post.
    received: Vec<AtomicU64>,
    /// Deliveries of measured posts (all but the warm-up), all viewers.
    deliveries: AtomicU64,
    /// Feeds the server closed or broke.
    feeds_ended: AtomicU64,
}

impl Tally {
    /// Room for posts 0 (the warm-up) to `slots - 1`.
    fn new(slots: usize) -> Self {
        let zeros = || -> Vec<AtomicU64> { (0..slots).map(|_| AtomicU64::new(0)).collect() };
        Self {
            base: Instant::now(),
            sent_ns: zeros(),
            last_ns: zeros(),
            received: zeros(),
            deliveries: AtomicU64::new(0),
            feeds_ended: AtomicU64::new(0),
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.base).as_nanos() as u64
    }

    fn sent(&self, seq: usize) {
        self.sent_ns[seq].store(self.nanos(Instant::now()), Ordering::Relaxed);
    }

    fn received(&self, seq: usize) -> u64 {
        self.received[seq].load(Ordering::Relaxed)
    }

    /// Notes a feed frame that arrived at `arrived`, if it is one of our posts.
    fn record(&self, frame: &str, arrived: Instant) {
        let Ok(FeedFrame::Event(event)) = serde_json::from_str::<FeedFrame>(frame) else {
            return;
        };
        let AudienceEventKind::Chat { text } = event.kind else {
            return;
        };
        let Some(seq) = text
            .strip_prefix(MARKER)
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&seq| seq < self.received.len())
        else {
            return;
        };
        self.received[seq].fetch_add(1, Ordering::Relaxed);
        self.last_ns[seq].fetch_max(self.nanos(arrived), Ordering::Relaxed);
        if seq > 0 {
            self.deliveries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits for late deliveries until all `expected` are in, none has come
    /// for [`DRAIN_QUIET`], or [`DRAIN_LIMIT`] has passed.
    fn drain(&self, expected: u64) {
        let started = Instant::now();
        let mut seen = self.deliveries.load(Ordering::Relaxed);
        let mut last_change = started;
        while seen < expected
            && last_change.elapsed() < DRAIN_QUIET
            && started.elapsed() < DRAIN_LIMIT
        {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.deliveries.load(Ordering::Relaxed);
            if now != seen {
                seen = now;
                last_change = Instant::now();
            }
        }
    }

    /// For posts 1..=`posts` that reached all `viewers`: the time from
    /// sending to the last viewer's receipt (ms); and how many did not.
    fn fanout_ms(&self, posts: usize, viewers: u64) -> (Vec<f64>, usize) {
        let mut latencies = Vec::with_capacity(posts);
        for seq in 1..=posts {
            if self.received(seq) == viewers {
                let sent = self.sent_ns[seq].load(Ordering::Relaxed);
                let last = self.last_ns[seq].load(Ordering::Relaxed);
                latencies.push(last.saturating_sub(sent) as f64 / 1e6);
            }
        }
        let incomplete = posts - latencies.len();
        (latencies, incomplete)
    }
}

/// CPU times (seconds) and deliveries at one instant.
struct Snapshot {
    at: Instant,
    nodes: Vec<f64>,
    nats: f64,
    own: f64,
    deliveries: u64,
}

impl Snapshot {
    fn take(nodes: &[u32], nats: Option<u32>, tally: &Tally) -> Self {
        Self {
            at: Instant::now(),
            nodes: nodes.iter().map(|&pid| cpu_seconds(pid)).collect(),
            nats: nats.map_or(0.0, cpu_seconds),
            own: cpu_seconds(std::process::id()),
            deliveries: tally.deliveries.load(Ordering::Relaxed),
        }
    }
}

/// Posts chat to the room over one kept-alive HTTP connection.
struct Poster {
    agent: ureq::Agent,
    url: String,
}

impl Poster {
    fn new(url: String) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Self { agent, url }
    }

    /// Posts chat line `seq`; panics unless the room accepts it.
    fn post(&self, seq: u32) {
        let body = serde_json::json!({
            "type": "chat",
            "user": "bench",
            "text": format!("{MARKER}{seq}"),
        })
        .to_string();
        let mut response = self
            .agent
            .post(self.url.as_str())
            .content_type("application/json")
            .send(body.as_str())
            .unwrap_or_else(|error| panic!("post {seq}: {error}"));
        // Read to the end, so the connection goes back to the agent's pool.
        let answer = response.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(
            response.status().as_u16(),
            200,
            "post {seq} refused: {answer}"
        );
    }
}
