//! The game side: connect to the host, say hello, and get a [`LinkToHost`].

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use interprocess::local_socket::Stream;
use interprocess::local_socket::traits::Stream as _;
use livestream_protocol::{GameMessage, HandshakeReply, Hello, HostMessage, RefusalReason};
use tracing::info_span;

use crate::link::{Link, LinkConfig};
use crate::path::{SocketDirError, check_socket_dir};
use crate::payload::PayloadPool;
use crate::peer::{ForeignPeer, check_same_user};
use crate::socket_name;
use crate::wire::{
    FrameReader, FrameWriter, ReadError, SharedStream, WriteError, enlarge_socket_buffers,
};

/// The game's end of the host connection: sends [`GameMessage`], receives [`HostMessage`].
pub type LinkToHost = Link<GameMessage, HostMessage>;

/// Why connecting to the host failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No host listens on the socket (not started yet, or gone).
    #[error("no host at {path}: {source}")]
    NoHost {
        /// The socket path tried.
        path: String,
        /// What the OS said.
        source: io::Error,
    },
    /// Another user could have put the socket there: nothing is sent.
    #[error("not connecting: {0}")]
    UnsafeSocket(#[from] SocketDirError),
    /// The process at the socket runs as another user: nothing is sent.
    #[error("not connecting to {path}: {source}")]
    ForeignHost {
        /// The socket path.
        path: String,
        /// Who it runs as.
        source: ForeignPeer,
    },
    /// The host turned the game away.
    #[error("host refused the game: {0}")]
    Refused(RefusalReason),
    /// Sending the hello failed.
    #[error("could not send hello: {0}")]
    Send(#[from] WriteError),
    /// The host's answer was missing or invalid (includes a protocol version mismatch).
    #[error("bad handshake answer: {0}")]
    Handshake(#[from] ReadError),
    /// The host answered something other than a handshake.
    #[error("host answered {0} instead of a handshake")]
    Unexpected(&'static str),
}

impl ConnectError {
    /// Whether trying again later may succeed (the host is not running yet or went away).
    pub fn is_transient(&self) -> bool {
        // A busy host closes a new connection at once: the hello then
        // meets a closed socket.
        matches!(
            self,
            Self::NoHost { .. }
                | Self::Send(WriteError::Io(_))
                | Self::Handshake(ReadError::Closed | ReadError::TimedOut | ReadError::Truncated)
        )
    }
}

/// A game connected to the host.
#[derive(Debug)]
pub struct Connection {
    /// Id the host gave this connection.
    pub game_id: u64,
    /// The host's version.
    pub host_version: String,
    /// The link; dropping it disconnects.
    pub link: LinkToHost,
}

/// Connects to the host at `socket` and completes the handshake within `timeout`.
///
/// Blocking: call it from a background thread, never from the game loop.
pub fn connect(
    socket: &Path,
    hello: Hello,
    config: &LinkConfig,
    timeout: Duration,
) -> Result<Connection, ConnectError> {
    let no_host = |source| ConnectError::NoHost {
        path: socket.display().to_string(),
        source,
    };
    // A missing directory is only "no host yet"; one someone else could
    // write in, or a host of another user, gets nothing of the game's.
    if socket.parent().is_some_and(Path::exists) {
        check_socket_dir(socket)?;
    }
    let stream = Stream::connect(socket_name(socket).map_err(no_host)?).map_err(no_host)?;
    check_same_user(&stream).map_err(|source| ConnectError::ForeignHost {
        path: socket.display().to_string(),
        source,
    })?;
    stream
        .set_recv_timeout(Some(config.poll_interval))
        .and_then(|()| stream.set_send_timeout(Some(config.poll_interval)))
        .map_err(no_host)?;
    let stop = Arc::new(AtomicBool::new(false));
    enlarge_socket_buffers(&stream);
    let shared = SharedStream(Arc::new(stream));
    let mut reader = FrameReader::new(
        shared.clone(),
        PayloadPool::new(config.payload_pool),
        stop.clone(),
    );
    let mut writer = FrameWriter::new(shared, stop.clone());
    let span = info_span!("host_link", game = %hello.game_name);
    writer.write(&GameMessage::Hello(hello), &[])?;
    let (reply, _) = reader.read::<HostMessage>(Some(Instant::now() + timeout))?;
    match reply {
        HostMessage::Handshake(HandshakeReply::Accepted {
            game_id,
            host_version,
        }) => Ok(Connection {
            game_id,
            host_version,
            link: Link::spawn(reader, writer, stop, config, span),
        }),
        HostMessage::Handshake(HandshakeReply::Refused(reason)) => {
            Err(ConnectError::Refused(reason))
        }
        other => Err(ConnectError::Unexpected(
            livestream_protocol::WireMessage::label(&other),
        )),
    }
}
