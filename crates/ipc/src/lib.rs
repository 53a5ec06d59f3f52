//! Local-socket link between `bevy_livestream` games and `livestream-host`.
//!
//! Blocking socket I/O runs on dedicated threads; everything else talks to it
//! through non-blocking crossbeam queues ([`Outbox`], [`Link::try_recv`]), so a
//! game loop or host loop never waits on a socket. Video is dropped
//! oldest-first when a side falls behind (and counted); control messages and
//! audience events are never dropped.
//!
//! Only the same user may connect: the socket sits in a private directory
//! (0700), is itself 0600, and the server checks the peer's uid where the
//! platform reports it.

mod client;
mod clock;
mod lanes;
mod link;
mod path;
mod payload;
mod peer;
mod server;
mod wire;

pub use client::{ConnectError, Connection, LinkToHost, connect};
pub use clock::monotonic_ns;
pub use lanes::QueueError;
pub use link::{CloseReason, Envelope, Link, LinkConfig, LinkEvent, LinkStats, Outbox};
pub use path::{
    SOCKET_ENV, SOCKET_FILE, SocketDirError, check_socket_dir, current_uid, default_socket_path,
    prepare_socket_dir, resolve_socket_path, user_host_config_path,
};
pub use payload::{POOL_IDLE_BYTES, Payload, PayloadPool};
pub use peer::{ForeignPeer, check_same_user};
pub use server::{Connected, GameSlot, LinkToGame, Server, ServerConfig, ServerError, ServerEvent};
pub use wire::{ReadError, WriteError};

use interprocess::local_socket::Name;

/// The interprocess name of a socket path (a file path on Unix, a named pipe elsewhere).
fn socket_name(path: &std::path::Path) -> std::io::Result<Name<'static>> {
    #[cfg(unix)]
    {
        use interprocess::local_socket::{GenericFilePath, ToFsName as _};
        path.to_path_buf().to_fs_name::<GenericFilePath>()
    }
    #[cfg(not(unix))]
    {
        use interprocess::local_socket::{GenericNamespaced, ToNsName as _};
        let file = path.to_string_lossy().replace(['\\', '/', ':'], "_");
        file.to_ns_name::<GenericNamespaced>()
    }
}
