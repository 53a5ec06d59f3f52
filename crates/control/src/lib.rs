//! The contract of `livestream-host`'s control socket, like obs-websocket's
//! request and response types: what `ctl` may ask ([`CtlRequest`], which is
//! also the `ctl` command line), what the host answers ([`CtlReply`]), and
//! the status document ([`HostStatus`]) that `ctl status`, the dashboard and
//! the tests all read through these types. Pure data: no I/O.

mod request;
mod status;

/// The protocol's types the status is made of, for readers of the status.
pub use livestream_protocol::{DisplayReason, OutputProblem, StreamPhase, Visibility};
pub use request::{CtlReply, CtlRequest};
pub use status::{
    AudienceStatus, GameAudienceStatus, GameStatus, HostStatus, OutputHealth, OutputState,
};
