//! The messages each side sends: handshake, game → host, host → game.

use serde::{Deserialize, Serialize};

use crate::audience::{AudienceEvent, MAX_NAME_BYTES, MAX_TEXT_BYTES};
use crate::media::{AudioChunkHeader, AudioFormat, PixelFormat, VideoFrameHeader};
use crate::{DecodeError, OutputProblem, PROTOCOL_VERSION, StreamDestination};

/// Most audience events in one backlog message; a longer backlog is sent in several.
pub const MAX_BACKLOG_EVENTS: usize = 256;
/// Longest game name, in bytes.
pub const MAX_GAME_NAME_BYTES: usize = 64;
/// Most outputs listed in a stream-state message.
pub const MAX_OUTPUTS: usize = 16;

/// What a message carries after its header, so codecs can check the declared length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// No payload: the declared length must be zero.
    None,
    /// Raw bytes of exactly this length follow the header.
    Exact(usize),
}

/// Behaviour every wire message type shares; implemented by [`GameMessage`] and [`HostMessage`].
pub trait WireMessage: Serialize + for<'de> Deserialize<'de> + core::fmt::Debug {
    /// Checks semantic limits and returns the payload this message must be followed by.
    fn validate(&self) -> Result<PayloadKind, DecodeError>;
    /// Whether a queue that is behind may drop this message (only video frames).
    fn is_droppable(&self) -> bool;
    /// Short name for logs and counters.
    fn label(&self) -> &'static str;
}

/// Capabilities a game announces in its [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Pixel formats the game can send, preferred first.
    pub video_formats: Vec<PixelFormat>,
    /// Format of the game audio, if it sends any.
    pub audio: Option<AudioFormat>,
}

/// The first message of a game: who it is and what it can send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the game's build.
    pub protocol_version: u16,
    /// Name shown by the host (`ctl status`, dashboard, `ctl show NAME`).
    pub game_name: String,
    /// OS process id of the game.
    pub pid: u32,
    /// What the game can send.
    pub capabilities: Capabilities,
}

/// Why a host refused a game.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum RefusalReason {
    /// The two builds speak different protocol versions.
    #[error("protocol version mismatch: host speaks v{host}, game speaks v{game}")]
    VersionMismatch {
        /// The host's version.
        host: u16,
        /// The game's version.
        game: u16,
    },
    /// The hello was malformed (empty name, unknown format, …).
    #[error("invalid hello: {0}")]
    InvalidHello(String),
    /// The host is full.
    #[error("too many games connected (limit {0})")]
    TooManyGames(u32),
    /// The host is stopping.
    #[error("host is shutting down")]
    ShuttingDown,
}

/// The host's answer to a [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandshakeReply {
    /// The game is connected.
    Accepted {
        /// Id the host gives this connection (in logs and `ctl status`).
        game_id: u64,
        /// Host build version, for logs.
        host_version: String,
    },
    /// The game is not connected; the host closes the socket after this.
    Refused(RefusalReason),
}

/// Whether a game's picture is what the player currently sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// The game is on screen (focused, or commanded shown).
    Shown,
    /// The game is not on screen.
    Hidden,
}

/// What caused a display-status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisplayReason {
    /// Initial state at connection time.
    Startup,
    /// The window gained or lost keyboard focus.
    Focus,
    /// The window was made visible or invisible.
    Visibility,
    /// The window was covered or uncovered by another window.
    Occlusion,
    /// The window was minimised or restored.
    Minimize,
    /// The host told the game to show or hide.
    HostCommand,
}

/// A game's report of its display status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayReport {
    /// Shown or hidden.
    pub visibility: Visibility,
    /// Why it changed.
    pub reason: DisplayReason,
    /// When it changed: `CLOCK_MONOTONIC` nanoseconds.
    pub timestamp_ns: u64,
}

/// The player's microphone choice when going live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MicChoice {
    /// Stream game audio only.
    Off,
    /// Mix the host's configured microphone in.
    On,
}

/// Messages a game sends to the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GameMessage {
    /// First message: identifies the game.
    Hello(Hello),
    /// The game went shown or hidden.
    Display(DisplayReport),
    /// A captured frame; the pixels follow as payload.
    VideoFrame(VideoFrameHeader),
    /// Captured game audio; the samples follow as payload.
    AudioChunk(AudioChunkHeader),
    /// The player asked to go live.
    GoLive {
        /// Whether the microphone joins the stream.
        mic: MicChoice,
    },
    /// The player asked to stop the stream.
    StopStream,
    /// The player picked where to stream (the Go-live pop-up's first-run
    /// step); sent before the [`GameMessage::GoLive`] it belongs to.
    ChooseDestination {
        /// Where to.
        destination: StreamDestination,
        /// Keep it in the user's `host.ron` for the next sessions.
        remember: bool,
    },
    /// Answer to [`HostMessage::Ping`].
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
    /// The game is closing the connection on purpose.
    Goodbye {
        /// Free text for the host's log.
        reason: String,
    },
}

/// Phase of the stream, as the host reports it to every game.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamPhase {
    /// Not streaming.
    Idle,
    /// The pipeline is starting.
    Starting,
    /// Frames are being pushed.
    Live,
    /// An output lost its connection and is being rebuilt.
    Reconnecting {
        /// Which attempt this is, from 1.
        attempt: u32,
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
    },
    /// The stream was stopped and is being finished: end of stream through
    /// every output, files finalised, sessions closed.
    Stopping,
    /// Streaming failed and stopped.
    Error {
        /// What went wrong, with stream keys redacted.
        message: String,
    },
}

/// One output of the stream as shown to games (the URL is redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputStatus {
    /// Destination with any stream key replaced by `***`.
    pub url: String,
    /// Whether the output is currently connected and receiving.
    pub connected: bool,
    /// Why it is not, when it is not.
    pub problem: Option<OutputProblem>,
}

/// Counters of the running stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamStats {
    /// Milliseconds since the stream went live.
    pub uptime_ms: u64,
    /// Frames pushed to the encoder.
    pub frames_pushed: u64,
    /// Frames pushed again because no game was shown or no new frame arrived.
    pub frames_repeated: u64,
    /// Frames received from the shown game but never pushed: a newer frame
    /// took their output slot, or they arrived before the pipeline ran.
    pub frames_superseded: u64,
    /// Measured output bitrate.
    pub bitrate_kbps: u32,
    /// Name of the game whose picture is on the stream, if any.
    pub shown_game: Option<String>,
    /// The outputs.
    pub outputs: Vec<OutputStatus>,
}

/// Stream phase plus counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    /// The phase.
    pub phase: StreamPhase,
    /// Whether the microphone is mixed in.
    pub mic: MicChoice,
    /// The counters.
    pub stats: StreamStats,
    /// Whether the host knows where to stream (an output or a destination
    /// configured); without one a game asks the player first.
    pub has_destination: bool,
    /// Why the microphone is not heard while the player chose it (it was
    /// lost and is being rebuilt; the stream goes on without it).
    pub mic_error: Option<String>,
    /// Why the destination the player chose was not remembered (the
    /// user's `host.ron` could not be written); it is used until the host stops.
    pub config_error: Option<String>,
}

/// Which media the host wants from a game right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRequest {
    /// Send video frames.
    pub video: bool,
    /// Send audio chunks.
    pub audio: bool,
    /// Frames per second wanted (the game may send fewer).
    pub fps: u32,
}

/// Messages the host sends to a game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HostMessage {
    /// Answer to the game's hello.
    Handshake(HandshakeReply),
    /// The stream's phase or counters changed.
    StreamState(StreamState),
    /// Which media to send (nothing is sent until the host asks).
    Media(MediaRequest),
    /// A new audience event.
    Audience(AudienceEvent),
    /// Stored audience events, oldest first, sent before newer events to a game that joins late.
    Backlog {
        /// The events of this part.
        events: Vec<AudienceEvent>,
        /// Whether more parts follow.
        more: bool,
    },
    /// Show or hide the game (host-side switching, `ctl show` / `ctl hide-all`).
    SetVisibility(Visibility),
    /// Liveness check; the game answers with [`GameMessage::Pong`].
    Ping {
        /// Echoed back.
        nonce: u64,
    },
}

fn check_name(name: &str, what: &'static str, max: usize) -> Result<(), DecodeError> {
    if name.len() > max {
        return Err(DecodeError::Invalid(what));
    }
    Ok(())
}

impl Hello {
    /// A hello for this build's protocol version.
    pub fn new(game_name: impl Into<String>, pid: u32, capabilities: Capabilities) -> Self {
        Self {
            protocol_version: PROTOCOL_VERSION,
            game_name: game_name.into(),
            pid,
            capabilities,
        }
    }

    /// The refusal a host should give this hello, if any.
    pub fn refusal(&self) -> Option<RefusalReason> {
        if self.protocol_version != PROTOCOL_VERSION {
            return Some(RefusalReason::VersionMismatch {
                host: PROTOCOL_VERSION,
                game: self.protocol_version,
            });
        }
        let name = self.game_name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Some(RefusalReason::InvalidHello(
                "game name is empty or has control characters".into(),
            ));
        }
        if self.capabilities.video_formats.is_empty() {
            return Some(RefusalReason::InvalidHello(
                "no video format offered".into(),
            ));
        }
        None
    }
}

impl WireMessage for GameMessage {
    fn validate(&self) -> Result<PayloadKind, DecodeError> {
        match self {
            Self::Hello(hello) => {
                check_name(&hello.game_name, "game name too long", MAX_GAME_NAME_BYTES)?;
                if hello.capabilities.video_formats.len() > 4 {
                    return Err(DecodeError::Invalid("too many video formats"));
                }
                Ok(PayloadKind::None)
            }
            Self::VideoFrame(header) => Ok(PayloadKind::Exact(header.payload_len()?)),
            Self::AudioChunk(header) => Ok(PayloadKind::Exact(header.payload_len()?)),
            Self::Goodbye { reason } => {
                check_name(reason, "goodbye reason too long", MAX_TEXT_BYTES)?;
                Ok(PayloadKind::None)
            }
            Self::ChooseDestination { destination, .. } => {
                destination.validate().map_err(DecodeError::Invalid)?;
                Ok(PayloadKind::None)
            }
            Self::Display(_) | Self::GoLive { .. } | Self::StopStream | Self::Pong { .. } => {
                Ok(PayloadKind::None)
            }
        }
    }

    fn is_droppable(&self) -> bool {
        matches!(self, Self::VideoFrame(_))
    }

    fn label(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Display(_) => "display",
            Self::VideoFrame(_) => "video",
            Self::AudioChunk(_) => "audio",
            Self::GoLive { .. } => "go-live",
            Self::StopStream => "stop",
            Self::ChooseDestination { .. } => "destination",
            Self::Pong { .. } => "pong",
            Self::Goodbye { .. } => "goodbye",
        }
    }
}

impl WireMessage for HostMessage {
    fn validate(&self) -> Result<PayloadKind, DecodeError> {
        let audience = |event: &AudienceEvent| event.validate().map_err(DecodeError::Invalid);
        match self {
            Self::Handshake(HandshakeReply::Accepted { host_version, .. }) => {
                check_name(host_version, "host version too long", MAX_NAME_BYTES)?;
            }
            Self::Handshake(HandshakeReply::Refused(RefusalReason::InvalidHello(text)))
            | Self::StreamState(StreamState {
                phase: StreamPhase::Error { message: text },
                ..
            }) => check_name(text, "message too long", MAX_TEXT_BYTES)?,
            Self::Audience(event) => audience(event)?,
            Self::Backlog { events, .. } => {
                if events.len() > MAX_BACKLOG_EVENTS {
                    return Err(DecodeError::Invalid("backlog part too long"));
                }
                events.iter().try_for_each(audience)?;
            }
            _ => {}
        }
        if let Self::StreamState(state) = self {
            if state.stats.outputs.len() > MAX_OUTPUTS {
                return Err(DecodeError::Invalid("too many outputs"));
            }
            for output in &state.stats.outputs {
                check_name(&output.url, "output url too long", MAX_TEXT_BYTES)?;
                if let Some(OutputProblem::Other { message }) = &output.problem {
                    check_name(message, "output problem too long", MAX_TEXT_BYTES)?;
                }
            }
        }
        Ok(PayloadKind::None)
    }

    fn is_droppable(&self) -> bool {
        false
    }

    fn label(&self) -> &'static str {
        match self {
            Self::Handshake(_) => "handshake",
            Self::StreamState(_) => "stream-state",
            Self::Media(_) => "media",
            Self::Audience(_) => "audience",
            Self::Backlog { .. } => "backlog",
            Self::SetVisibility(_) => "set-visibility",
            Self::Ping { .. } => "ping",
        }
    }
}
