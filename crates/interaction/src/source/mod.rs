//! Audience sources: a thread per source that connects, reads, normalises and
//! hands events to the host through a bounded channel, reconnecting with
//! back-off. The host reads each source's [`SourceStatus`] for `ctl status`.

mod irc;
mod room;
mod tls;
mod transport;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Sender, TrySendError};
use livestream_protocol::{AudienceEvent, Backoff};
use tracing::{info, info_span, warn};

pub use tls::{SourceTls, TlsSetupError};

/// How long a blocking read may wait before the thread checks whether to stop.
const POLL: Duration = Duration::from_millis(200);
/// How long connecting (TCP, then TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where audience events come from (`--interaction SPEC`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A `livestream-room` feed: `ws://host:port/rooms/NAME/ws`, or
    /// `wss://…` through TLS; the same room on several servers (the nodes
    /// of a cluster) comma-separated, read from one at a time.
    Room {
        /// The feed's WebSocket URL on each server, in the order tried.
        urls: Vec<String>,
    },
    /// An IRC channel: `irc://host[:port]/#channel`, or `ircs://…` through
    /// TLS (Twitch-compatible tags understood).
    Irc {
        /// Server host.
        host: String,
        /// Server port (6667, or 6697 with TLS, when absent).
        port: u16,
        /// Channel, with its `#`.
        channel: String,
        /// Whether it speaks TLS (`ircs://`).
        tls: bool,
    },
}

/// Why a source spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not a scheme we read.
    #[error(
        "unknown interaction source {0:?}: use ws[s]://HOST:PORT/rooms/NAME/ws (comma-separated for one room on several servers) or irc[s]://HOST:PORT/#CHANNEL"
    )]
    UnknownScheme(String),
    /// The address part is malformed.
    #[error("malformed interaction source {spec:?}: {reason}")]
    Malformed {
        /// The spec, redacted.
        spec: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl FromStr for SourceSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let malformed = |reason| SpecError::Malformed {
            spec: redact(spec),
            reason,
        };
        if spec.starts_with("ws://") || spec.starts_with("wss://") {
            let urls: Vec<String> = spec.split(',').map(str::to_owned).collect();
            let mut paths = Vec::new();
            for url in &urls {
                let rest = url
                    .strip_prefix("ws://")
                    .or_else(|| url.strip_prefix("wss://"))
                    .ok_or_else(|| malformed("each feed is a ws:// or wss:// URL"))?;
                let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
                if authority.is_empty() {
                    return Err(malformed("no host"));
                }
                paths.push(path.split(['?', '#']).next().unwrap_or_default());
            }
            if paths.iter().any(|path| *path != paths[0]) {
                return Err(malformed("the feeds name different rooms"));
            }
            return Ok(Self::Room { urls });
        }
        let (rest, tls) = match (spec.strip_prefix("irc://"), spec.strip_prefix("ircs://")) {
            (Some(rest), _) => (rest, false),
            (_, Some(rest)) => (rest, true),
            _ => return Err(SpecError::UnknownScheme(redact(spec))),
        };
        let (address, channel) = rest
            .split_once('/')
            .ok_or_else(|| malformed("no /#channel"))?;
        let channel = if channel.starts_with('#') {
            channel.to_owned()
        } else {
            format!("#{channel}")
        };
        // CR or LF would end the JOIN line and start a command of the spec's choosing.
        if channel.len() < 2 || channel.contains([' ', ',', '\u{7}', '\r', '\n', '\0']) {
            return Err(malformed("bad channel name"));
        }
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| malformed("bad port"))?),
            None => (address, if tls { 6697 } else { 6667 }),
        };
        if host.is_empty() {
            return Err(malformed("no host"));
        }
        Ok(Self::Irc {
            host: host.to_owned(),
            port,
            channel,
            tls,
        })
    }
}

impl SourceSpec {
    /// Whether the source speaks TLS (`wss://`, `ircs://`).
    pub fn uses_tls(&self) -> bool {
        match self {
            Self::Room { urls } => urls.iter().any(|url| url.starts_with("wss://")),
            Self::Irc { tls, .. } => *tls,
        }
    }

    /// A warning when the source speaks plain text (`ws://`, `irc://`) to
    /// another machine: anyone on the path can read the chat and forge events.
    pub fn plain_text_warning(&self) -> Option<String> {
        let host = match self {
            Self::Room { urls } => urls
                .iter()
                .filter_map(|url| url.strip_prefix("ws://"))
                .filter_map(|rest| {
                    let authority = rest.split('/').next()?;
                    let address = authority.rsplit('@').next()?;
                    match address.strip_prefix('[') {
                        Some(bracketed) => bracketed.split(']').next(),
                        None => address.split(':').next(),
                    }
                })
                .find(|host| !is_loopback(host))?,
            Self::Irc { tls: true, .. } => return None,
            Self::Irc { host, .. } => Some(host.trim_start_matches('[').trim_end_matches(']'))
                .filter(|host| !is_loopback(host))?,
        };
        Some(format!(
            "audience source {self} is plain text to {host}: anyone on the network path can read the chat and forge events, gifts included (use wss:// or ircs://)"
        ))
    }
}

/// Whether `host` names this machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Room { urls } => {
                let redacted: Vec<String> = urls.iter().map(|url| redact(url)).collect();
                f.write_str(&redacted.join(","))
            }
            Self::Irc {
                host,
                port,
                channel,
                tls,
            } => {
                let scheme = if *tls { "ircs" } else { "irc" };
                write!(f, "{scheme}://{host}:{port}/{channel}")
            }
        }
    }
}

/// A URL as it may be logged: credentials and query (tokens) removed.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let rest = match rest.split_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => rest.to_owned(),
    };
    if scheme.is_empty() {
        rest
    } else {
        format!("{scheme}://{rest}")
    }
}

/// Where a source stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// First connection under way.
    Connecting,
    /// Receiving.
    Connected,
    /// Lost; trying again.
    Reconnecting {
        /// Attempt number, from 1.
        attempt: u32,
        /// Delay before the attempt.
        retry_in_ms: u64,
        /// Why the last connection ended.
        reason: String,
    },
    /// Stopped for good.
    Stopped,
}

/// What `ctl status` shows of one source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceStatus {
    /// The source, redacted.
    pub label: String,
    /// Where it stands.
    pub state: SourceState,
    /// Events handed to the host.
    pub events: u64,
    /// Inputs refused (malformed, oversize, not UTF-8, over the limits).
    pub bad_input: u64,
    /// Events dropped because the host's queue was full.
    pub dropped: u64,
    /// Connections lost.
    pub disconnects: u64,
    /// Said when the source is not private (plain text to another machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A running source; dropping it stops its thread.
#[derive(Debug)]
pub struct AudienceSource {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl AudienceSource {
    /// Starts a thread reading `spec` into `events`; a TLS source trusts
    /// the servers `tls` does.
    pub fn start(spec: SourceSpec, tls: &SourceTls, events: Sender<AudienceEvent>) -> Self {
        let warning = spec.plain_text_warning();
        if let Some(warning) = &warning {
            warn!("{warning}");
        }
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            status: Mutex::new(SourceStatus {
                label: spec.to_string(),
                state: SourceState::Connecting,
                events: 0,
                bad_input: 0,
                dropped: 0,
                disconnects: 0,
                warning,
            }),
        });
        let context = SourceContext {
            shared: shared.clone(),
            events,
            tls: spec.uses_tls().then(|| tls.clone()),
        };
        let thread = std::thread::Builder::new()
            .name("audience-source".into())
            .spawn(move || run(&spec, &context))
            .ok();
        if thread.is_none() {
            shared.update(|s| s.state = SourceState::Stopped);
        }
        Self { shared, thread }
    }

    /// A snapshot of the source's state and counters.
    pub fn status(&self) -> SourceStatus {
        self.shared.status()
    }
}

impl Drop for AudienceSource {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    status: Mutex<SourceStatus>,
}

impl Shared {
    fn update(&self, change: impl FnOnce(&mut SourceStatus)) {
        change(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn status(&self) -> SourceStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// What a connection needs from its source: where to put events, counters, stop.
#[derive(Debug)]
struct SourceContext {
    shared: Arc<Shared>,
    events: Sender<AudienceEvent>,
    /// Set for a TLS source.
    tls: Option<SourceTls>,
}

impl SourceContext {
    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    fn connected(&self) {
        info!("connected");
        self.shared.update(|s| s.state = SourceState::Connected);
    }

    /// Hands an event to the host; refuses one over the limits.
    fn emit(&self, event: AudienceEvent) {
        if let Err(reason) = event.validate() {
            self.bad_input(reason);
            return;
        }
        match self.events.try_send(event) {
            Ok(()) => self.shared.update(|s| s.events += 1),
            Err(TrySendError::Full(_)) => self.shared.update(|s| s.dropped += 1),
            Err(TrySendError::Disconnected(_)) => self.shared.stop.store(true, Ordering::Release),
        }
    }

    fn bad_input(&self, reason: impl fmt::Display) {
        warn!("refused input: {reason}");
        self.shared.update(|s| s.bad_input += 1);
    }
}

/// Why a connection ended.
type SessionEnd = String;

fn run(spec: &SourceSpec, context: &SourceContext) {
    let span = info_span!("audience_source", source = %spec);
    let _entered = span.enter();
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));
    let mut room_resume = room::Resume::default();
    let mut attempt = 0;
    while !context.stopping() {
        let started = Instant::now();
        let end = match spec {
            SourceSpec::Room { urls } => room::session(urls, &mut room_resume, context),
            SourceSpec::Irc {
                host,
                port,
                channel,
                ..
            } => irc::session(host, *port, channel, context),
        };
        if context.stopping() {
            break;
        }
        let end = end.err().unwrap_or_else(|| "closed".into());
        // A connection that lasted counts as a success: start the back-off again.
        if started.elapsed() > Duration::from_secs(10) {
            backoff.reset();
            attempt = 0;
        }
        attempt += 1;
        let delay = backoff.next_delay();
        warn!(
            attempt,
            retry_in_ms = delay.as_millis() as u64,
            "connection lost: {end}"
        );
        context.shared.update(|s| {
            s.disconnects += 1;
            s.state = SourceState::Reconnecting {
                attempt,
                retry_in_ms: delay.as_millis() as u64,
                reason: end,
            };
        });
        let until = Instant::now() + delay;
        while Instant::now() < until && !context.stopping() {
            std::thread::sleep(POLL.min(until - Instant::now()));
        }
    }
    context.shared.update(|s| s.state = SourceState::Stopped);
}

/// Unix time in milliseconds, for events whose source gives no time.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Whether an I/O error is only a read timeout (check `stopping`, read again).
fn is_timeout(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_to_another_machine_is_warned_about() {
        let warning = |spec: &str| spec.parse::<SourceSpec>().unwrap().plain_text_warning();
        for private in [
            "ws://127.0.0.1:8090/rooms/a/ws",
            "ws://localhost/rooms/a/ws",
            "ws://[::1]:8090/rooms/a/ws",
            "irc://127.0.0.1:6667/#test",
        ] {
            assert_eq!(warning(private), None, "{private}");
        }
        let remote = warning("ws://user:pw@chat.example:80/rooms/a/ws?token=t").unwrap();
        assert!(remote.contains("plain text to chat.example"), "{remote}");
        assert!(
            !remote.contains("pw") && !remote.contains("token"),
            "{remote}"
        );
        assert!(warning("irc://irc.chat.twitch.tv/#streamer").is_some());
        assert_eq!(warning("ircs://irc.chat.twitch.tv/#streamer"), None);
        assert_eq!(warning("wss://chat.example/rooms/a/ws"), None);
        // One plain feed to another machine among a room's servers is enough.
        let mixed = warning("wss://a.example/rooms/a/ws,ws://b.example/rooms/a/ws").unwrap();
        assert!(mixed.contains("plain text to b.example"), "{mixed}");
        assert_eq!(
            warning("ws://127.0.0.1:1/rooms/a/ws,ws://127.0.0.1:2/rooms/a/ws"),
            None
        );
    }

    #[test]
    fn reads_specs() {
        assert_eq!(
            "irc://127.0.0.1:6697/#game".parse(),
            Ok(SourceSpec::Irc {
                host: "127.0.0.1".into(),
                port: 6697,
                channel: "#game".into(),
                tls: false,
            })
        );
        assert_eq!(
            "irc://irc.example/game"
                .parse::<SourceSpec>()
                .unwrap()
                .to_string(),
            "irc://irc.example:6667/#game"
        );
        assert_eq!(
            "ws://h:1/rooms/a/ws".parse(),
            Ok(SourceSpec::Room {
                urls: vec!["ws://h:1/rooms/a/ws".into()]
            })
        );
        let cluster: SourceSpec = "ws://a:1/rooms/x/ws,wss://b/rooms/x/ws?token=t"
            .parse()
            .unwrap();
        assert_eq!(
            cluster,
            SourceSpec::Room {
                urls: vec![
                    "ws://a:1/rooms/x/ws".into(),
                    "wss://b/rooms/x/ws?token=t".into()
                ]
            }
        );
        assert!(cluster.uses_tls());
        assert_eq!(
            cluster.to_string(),
            "ws://a:1/rooms/x/ws,wss://b/rooms/x/ws"
        );
        for mixed in [
            "ws://a/rooms/x/ws,ws://b/rooms/y/ws",
            "ws://a/rooms/x/ws,irc://b/#x",
            "ws://a/rooms/x/ws,",
        ] {
            assert!(
                matches!(
                    mixed.parse::<SourceSpec>(),
                    Err(SpecError::Malformed { .. })
                ),
                "{mixed}"
            );
        }
        assert!(matches!(
            "http://x".parse::<SourceSpec>(),
            Err(SpecError::UnknownScheme(_))
        ));
        assert!(matches!(
            "irc://h:x/#a".parse::<SourceSpec>(),
            Err(SpecError::Malformed { .. })
        ));
        assert!(matches!(
            "irc://h".parse::<SourceSpec>(),
            Err(SpecError::Malformed { .. })
        ));
        for injected in [
            "irc://h/#a\r\nPRIVMSG #b :x",
            "irc://h/#a\nQUIT",
            "irc://h/#a\0",
        ] {
            assert!(
                matches!(
                    injected.parse::<SourceSpec>(),
                    Err(SpecError::Malformed { .. })
                ),
                "{injected:?}"
            );
        }
        let ircs: SourceSpec = "ircs://h/#a".parse().unwrap();
        assert!(ircs.uses_tls());
        assert_eq!(ircs.to_string(), "ircs://h:6697/#a");
        let wss: SourceSpec = "wss://h/rooms/a/ws".parse().unwrap();
        assert!(
            wss.uses_tls()
                && !"ws://h/rooms/a/ws"
                    .parse::<SourceSpec>()
                    .unwrap()
                    .uses_tls()
        );
    }

    #[test]
    fn never_shows_tokens() {
        let spec: SourceSpec = "ws://user:secret@h:1/rooms/a/ws?token=secret"
            .parse()
            .unwrap();
        assert_eq!(spec.to_string(), "ws://***@h:1/rooms/a/ws");
    }
}
