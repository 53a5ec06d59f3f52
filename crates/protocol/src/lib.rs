//! The wire protocol between `bevy_livestream` games and `livestream-host`.
//!
//! Pure: message types, size rules and a framing codec, with no I/O, threads
//! or Bevy, so every rule is unit-tested and the decoder can be fuzzed. The
//! `livestream-ipc` crate moves these frames over local sockets.
//!
//! Every byte from a peer is untrusted: decoding never panics, every size is
//! bounded before anything is allocated, and each failure is a typed
//! [`DecodeError`] that tells the receiver to drop that peer.

mod audience;
mod backoff;
mod codec;
mod destination;
pub mod frame_code;
mod media;
mod messages;
mod output_problem;

pub use audience::{
    AudienceEvent, AudienceEventKind, AudienceUser, MAX_BADGES, MAX_NAME_BYTES, MAX_TEXT_BYTES,
};
pub use backoff::Backoff;
pub use codec::{
    DecodeError, DecodedFrame, EncodeError, FramePrefix, MAGIC, MAX_HEADER_LEN, MAX_PAYLOAD_LEN,
    PREFIX_LEN, PROTOCOL_VERSION, decode_frame, decode_header, encode_frame, encode_header,
};
pub use destination::StreamDestination;
pub use media::{
    AudioChunkHeader, AudioFormat, MAX_AUDIO_FRAMES, MAX_CHANNELS, MAX_DIMENSION, MAX_ROW_PADDING,
    MAX_SAMPLE_RATE, PixelFormat, VideoFrameHeader, parse_frame_size,
};
pub use messages::{
    Capabilities, DisplayReason, DisplayReport, GameMessage, HandshakeReply, Hello, HostMessage,
    MAX_BACKLOG_EVENTS, MAX_GAME_NAME_BYTES, MAX_OUTPUTS, MediaRequest, MicChoice, OutputStatus,
    PayloadKind, RefusalReason, StreamPhase, StreamState, StreamStats, Visibility, WireMessage,
};
pub use output_problem::OutputProblem;

#[cfg(test)]
mod tests;
