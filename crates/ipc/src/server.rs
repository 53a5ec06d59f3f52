//! The host side: a listening socket that admits same-user games after a
//! versioned handshake and hands each one to the host as a [`LinkToGame`].

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use interprocess::local_socket::traits::{ListenerExt as _, Stream as _};
use interprocess::local_socket::{ListenerOptions, Stream};
use livestream_protocol::{
    Backoff, GameMessage, HandshakeReply, Hello, HostMessage, RefusalReason,
};
use tracing::{debug, info, info_span, warn};

use crate::link::{Link, LinkConfig};
use crate::path::{SocketDirError, prepare_socket_dir};
use crate::payload::PayloadPool;
use crate::peer::check_same_user;
use crate::socket_name;
use crate::wire::{FrameReader, FrameWriter, ReadError, SharedStream, enlarge_socket_buffers};

/// The host's end of a game connection: sends [`HostMessage`], receives [`GameMessage`].
pub type LinkToGame = Link<HostMessage, GameMessage>;

/// How the server listens and admits games.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Socket path (its directory is created 0700).
    pub socket: PathBuf,
    /// Queue sizes and timing of every link.
    pub link: LinkConfig,
    /// Time a new connection has to send its hello.
    pub handshake_timeout: Duration,
    /// Most games connected at once.
    pub max_games: u32,
    /// Most connections saying hello at once (each has a thread for at
    /// most [`Self::handshake_timeout`]); more are closed at once.
    pub max_handshakes: u32,
    /// Host version sent to games in the handshake.
    pub host_version: String,
}

impl ServerConfig {
    /// Defaults for a socket path.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
            link: LinkConfig::default(),
            handshake_timeout: Duration::from_secs(5),
            max_games: 32,
            max_handshakes: 64,
            host_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The socket directory is missing, foreign or unsafe.
    #[error(transparent)]
    SocketDir(#[from] SocketDirError),
    /// A host already answers on this socket.
    #[error("a host is already listening on {0}")]
    AlreadyRunning(PathBuf),
    /// Binding the socket failed.
    #[error("cannot listen on {path}: {source}")]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

/// A game that completed the handshake.
#[derive(Debug)]
pub struct Connected {
    /// Id the host gave this connection.
    pub game_id: u64,
    /// What the game announced.
    pub hello: Hello,
    /// The connection; dropping it disconnects the game.
    pub link: LinkToGame,
    /// Frees the game's slot in [`ServerConfig::max_games`] when dropped with the link.
    pub slot: GameSlot,
}

/// Holds one of the server's game slots until dropped.
#[derive(Debug)]
pub struct GameSlot(Arc<AtomicU32>);

impl Drop for GameSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the server tells the host.
#[derive(Debug)]
pub enum ServerEvent {
    /// A game joined.
    Connected(Box<Connected>),
    /// A connection was turned away (already logged).
    Refused {
        /// Who, as far as known (`pid 123`, `uid 1001`, …).
        peer: String,
        /// Why.
        reason: String,
    },
}

/// A listening host socket. Dropping it stops accepting and removes the socket file;
/// links already handed out stay up.
#[derive(Debug)]
pub struct Server {
    events: Receiver<ServerEvent>,
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds the socket (private directory, mode 0600) and starts accepting.
    pub fn bind(config: ServerConfig) -> Result<Self, ServerError> {
        prepare_socket_dir(&config.socket)?;
        let path = config.socket.clone();
        if path.exists() {
            if Stream::connect(socket_name(&path).map_err(|source| bind_err(&path, source))?)
                .is_ok()
            {
                return Err(ServerError::AlreadyRunning(path));
            }
            // Left behind by a host that died: nobody answers, so take it over.
            std::fs::remove_file(&path).map_err(|source| bind_err(&path, source))?;
        }
        let name = socket_name(&path).map_err(|source| bind_err(&path, source))?;
        let options = ListenerOptions::new().name(name).reclaim_name(true);
        #[cfg(unix)]
        let options =
            interprocess::os::unix::local_socket::ListenerOptionsExt::mode(options, 0o600);
        let listener = options
            .create_sync()
            .map_err(|source| bind_err(&path, source))?;
        info!(socket = %path.display(), "host socket listening");

        let (events_tx, events) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("livestream-ipc-accept".into())
                .spawn(move || {
                    let admission = Admission {
                        config: Arc::new(config),
                        events: events_tx,
                        next_id: Arc::new(AtomicU64::new(1)),
                        active: Arc::new(AtomicU32::new(0)),
                        handshaking: Arc::new(AtomicU32::new(0)),
                    };
                    let mut retry = Backoff::new(ACCEPT_RETRY, ACCEPT_RETRY_MAX);
                    for stream in listener.incoming() {
                        if stop.load(Ordering::Acquire) {
                            return;
                        }
                        match stream {
                            Ok(stream) => {
                                retry.reset();
                                admission.admit(stream);
                            }
                            Err(err) => {
                                // Out of file descriptors, say: wait rather than spin.
                                warn!("accept failed: {err}");
                                std::thread::sleep(retry.next_delay());
                            }
                        }
                    }
                })
                .map_err(|source| bind_err(&path, source))?
        };
        Ok(Self {
            events,
            socket: path,
            stop,
            accept_thread: Some(accept_thread),
        })
    }

    /// The socket path games connect to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// New connections and refusals; poll with `try_recv` from the host loop.
    pub fn events(&self) -> &Receiver<ServerEvent> {
        &self.events
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the blocking accept with a throwaway connection. If that fails
        // (someone removed the socket file) the thread cannot be woken: leave
        // it parked in accept rather than hang here; it ends with the process.
        let woken = socket_name(&self.socket)
            .ok()
            .and_then(|name| Stream::connect(name).ok())
            .is_some();
        if let Some(thread) = self.accept_thread.take()
            && woken
        {
            let _ = thread.join();
        }
    }
}

fn bind_err(path: &Path, source: io::Error) -> ServerError {
    ServerError::Bind {
        path: path.to_owned(),
        source,
    }
}

/// First wait after a failed accept; doubles up to [`ACCEPT_RETRY_MAX`].
const ACCEPT_RETRY: Duration = Duration::from_millis(10);
/// Longest wait after failed accepts.
const ACCEPT_RETRY_MAX: Duration = Duration::from_secs(1);

/// Admits new connections; each handshake runs on its own short-lived thread
/// so a silent client cannot hold up others.
struct Admission {
    config: Arc<ServerConfig>,
    events: Sender<ServerEvent>,
    next_id: Arc<AtomicU64>,
    active: Arc<AtomicU32>,
    /// Connections saying hello now.
    handshaking: Arc<AtomicU32>,
}

impl Admission {
    fn admit(&self, stream: Stream) {
        if self.handshaking.fetch_add(1, Ordering::AcqRel) >= self.config.max_handshakes {
            self.handshaking.fetch_sub(1, Ordering::AcqRel);
            debug!(
                "connection closed: {} are saying hello already",
                self.config.max_handshakes
            );
            return;
        }
        let handshaking = self.handshaking.clone();
        let config = self.config.clone();
        let events = self.events.clone();
        let game_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let active = self.active.clone();
        let spawned = std::thread::Builder::new()
            .name("livestream-ipc-handshake".into())
            .spawn(move || {
                let span = info_span!("game", id = game_id);
                let entered = span.enter();
                let event = match handshake(stream, game_id, &config, &active, span.clone()) {
                    Ok(connected) => {
                        info!(
                            name = %connected.hello.game_name,
                            pid = connected.hello.pid,
                            "game connected"
                        );
                        ServerEvent::Connected(Box::new(connected))
                    }
                    Err((peer, reason)) => {
                        warn!(%peer, "connection refused: {reason}");
                        ServerEvent::Refused { peer, reason }
                    }
                };
                drop(entered);
                handshaking.fetch_sub(1, Ordering::AcqRel);
                let _ = events.send(event);
            });
        if let Err(err) = spawned {
            warn!("cannot start a handshake thread: {err}");
            self.handshaking.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Checks the peer's user, reads its hello and answers it.
fn handshake(
    stream: Stream,
    game_id: u64,
    config: &ServerConfig,
    active: &Arc<AtomicU32>,
    span: tracing::Span,
) -> Result<Connected, (String, String)> {
    let mut peer = format!("connection {game_id}");
    let poll = config.link.poll_interval;
    let setup = stream
        .set_recv_timeout(Some(poll))
        .and_then(|()| stream.set_send_timeout(Some(poll)));
    if let Err(err) = setup {
        return Err((peer, format!("socket setup failed: {err}")));
    }
    match check_same_user(&stream) {
        Ok(pid) => {
            if let Some(pid) = pid {
                peer = format!("pid {pid}");
            }
        }
        Err(foreign) => {
            return Err((format!("{peer}, uid {}", foreign.peer), foreign.to_string()));
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    enlarge_socket_buffers(&stream);
    let shared = SharedStream(Arc::new(stream));
    let mut reader = FrameReader::new(
        shared.clone(),
        PayloadPool::new(config.link.payload_pool),
        stop.clone(),
    );
    let mut writer = FrameWriter::new(shared, stop.clone());
    let mut refuse = |reason: RefusalReason| {
        let reply = HostMessage::Handshake(HandshakeReply::Refused(reason.clone()));
        let _ = writer.write(&reply, &[]);
        reason.to_string()
    };

    let deadline = Instant::now() + config.handshake_timeout;
    let hello = match reader.read::<GameMessage>(Some(deadline)) {
        Ok((GameMessage::Hello(hello), _)) => hello,
        Ok((other, _)) => {
            let reason = format!("expected hello, got {}", other_label(&other));
            return Err((peer, refuse(RefusalReason::InvalidHello(reason))));
        }
        Err(ReadError::Decode(livestream_protocol::DecodeError::UnsupportedVersion {
            ours,
            theirs,
        })) => {
            let reason = RefusalReason::VersionMismatch {
                host: ours,
                game: theirs,
            };
            return Err((peer, refuse(reason)));
        }
        Err(err) => return Err((peer, format!("no valid hello: {err}"))),
    };
    peer = format!("{} (pid {})", hello.game_name, hello.pid);
    if let Some(reason) = hello.refusal() {
        return Err((peer, refuse(reason)));
    }
    if active.fetch_add(1, Ordering::AcqRel) >= config.max_games {
        active.fetch_sub(1, Ordering::AcqRel);
        return Err((peer, refuse(RefusalReason::TooManyGames(config.max_games))));
    }
    let slot = GameSlot(active.clone());
    let accepted = HostMessage::Handshake(HandshakeReply::Accepted {
        game_id,
        host_version: config.host_version.clone(),
    });
    if let Err(err) = writer.write(&accepted, &[]) {
        return Err((peer, format!("could not answer hello: {err}")));
    }
    let link = Link::spawn(reader, writer, stop, &config.link, span);
    Ok(Connected {
        game_id,
        hello,
        link,
        slot,
    })
}

fn other_label(message: &GameMessage) -> &'static str {
    livestream_protocol::WireMessage::label(message)
}
