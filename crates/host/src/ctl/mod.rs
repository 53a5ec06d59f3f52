//! Local control of a running host (`livestream-host ctl …`), like
//! obs-websocket but on a same-user local socket. The requests, replies and
//! the status document are the `livestream-control` crate's types.

pub mod handle;
pub mod socket;

pub use handle::{CtlListener, CtlRequests, handle_ctl};
pub use socket::{CtlError, CtlServer, MAX_REQUEST_BYTES, PendingCtl, call, ctl_socket_path};
