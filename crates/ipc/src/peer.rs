//! Who is at the other end of a local socket: both ends refuse a peer that
//! runs as another user (the host a game, a game or `ctl` the host), where
//! the platform says who it is.

use interprocess::local_socket::Stream;
#[cfg(unix)]
use interprocess::local_socket::traits::StreamCommon as _;

/// The peer runs as another user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the process at the other end runs as uid {peer}, this one as uid {ours}")]
pub struct ForeignPeer {
    /// The peer's effective uid.
    pub peer: u32,
    /// Ours.
    pub ours: u32,
}

/// Checks that the peer of `stream` runs as this user; returns its pid when known.
pub fn check_same_user(stream: &Stream) -> Result<Option<i32>, ForeignPeer> {
    #[cfg(unix)]
    if let Ok(creds) = stream.peer_creds() {
        let ours = crate::path::current_uid();
        return match creds.euid() {
            Some(peer) if peer != ours => Err(ForeignPeer { peer, ours }),
            _ => Ok(creds.pid()),
        };
    }
    #[cfg(not(unix))]
    let _ = stream;
    Ok(None)
}
