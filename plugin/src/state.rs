//! What a game can read and write: the [`LiveStream`] resource (connection,
//! stream and display state, counters) and the Messages that carry requests
//! to the host and news from it.

use bevy::prelude::*;
use livestream_protocol::{
    AudienceEvent, DisplayReason, MediaRequest, MicChoice, StreamDestination, StreamState,
    Visibility,
};

/// State of the link to `livestream-host`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HostConnection {
    /// Not connected; retrying in the background.
    #[default]
    Disconnected,
    /// A host was started on demand and the game waits for it to listen.
    StartingHost,
    /// Connected; `game_id` is the host's id for this game.
    Connected {
        /// The host's id for this connection.
        game_id: u64,
    },
}

/// Counters of what this game sent to the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStreamStats {
    /// Frames written by the GPU (converted there, or copied for the CPU to convert).
    pub frames_captured: u64,
    /// Frames handed to the connection.
    pub frames_sent: u64,
    /// Frames not captured because the GPU was still busy with earlier ones.
    pub frames_skipped: u64,
    /// Frames read back but not sent (no connection, or the socket was behind).
    pub frames_dropped: u64,
    /// Payload bytes of video sent.
    pub video_bytes: u64,
    /// Frames converted to I420 on the CPU rather than the GPU (see [`crate::Conversion`]).
    pub frames_converted_on_cpu: u64,
    /// Audio chunks handed to the connection.
    pub audio_chunks_sent: u64,
    /// Audio frames lost because the sender fell behind the audio thread.
    pub audio_frames_dropped: u64,
    /// Frames of `bevy_audio` sound that reached kira too late and played as
    /// silence (the machine stalled the thread that runs Bevy's sounds).
    pub bevy_audio_late_frames: u64,
    /// Audience events received (backlog included).
    pub audience_events: u64,
}

/// The game's view of live streaming; read it to draw your own UI.
#[derive(Resource, Debug, Clone)]
pub struct LiveStream {
    /// The link to the host.
    pub connection: HostConnection,
    /// The stream as the host last reported it (`None` before the first report).
    pub stream: Option<StreamState>,
    /// What the host currently asks this game to send (`None`: nothing).
    pub media: Option<MediaRequest>,
    /// Whether this game is on screen, and why.
    pub display: (Visibility, DisplayReason),
    /// Counters.
    pub stats: LiveStreamStats,
    /// The last thing that went wrong on the game's side (e.g. the host could not be started).
    pub last_error: Option<String>,
}

impl Default for LiveStream {
    fn default() -> Self {
        Self {
            connection: HostConnection::default(),
            stream: None,
            media: None,
            display: (Visibility::Hidden, DisplayReason::Startup),
            stats: LiveStreamStats::default(),
            last_error: None,
        }
    }
}

impl LiveStream {
    /// Whether a stream is running (live or reconnecting).
    pub fn is_live(&self) -> bool {
        use livestream_protocol::StreamPhase;
        self.stream.as_ref().is_some_and(|s| {
            matches!(
                s.phase,
                StreamPhase::Live | StreamPhase::Starting | StreamPhase::Reconnecting { .. }
            )
        })
    }
}

/// What the player (or the game) asks of the stream: write it as a Message.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub enum LiveStreamRequest {
    /// Stream to `destination` from the next go-live (the pop-up's first-run
    /// step); `remember` keeps it in the user's `host.ron`.
    ChooseDestination {
        /// Where to.
        destination: StreamDestination,
        /// Keep it for the next sessions.
        remember: bool,
    },
    /// Start streaming; starts a host when none runs (if allowed by the settings).
    GoLive {
        /// Whether the microphone joins the stream.
        mic: MicChoice,
    },
    /// Stop streaming.
    Stop,
}

/// An audience event (chat, gift, like, follow, deletion, notice) from the host.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct AudienceMessage {
    /// The event.
    pub event: AudienceEvent,
    /// Whether it came from the backlog sent when this game connected
    /// (it happened before the game joined).
    pub from_backlog: bool,
}

/// The host reported a new stream state.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct StreamStateChanged(pub StreamState);

/// This game's display status changed (the host is told too).
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayChanged {
    /// Shown or hidden.
    pub visibility: Visibility,
    /// Why.
    pub reason: DisplayReason,
    /// When: `CLOCK_MONOTONIC` nanoseconds.
    pub timestamp_ns: u64,
}

impl DisplayChanged {
    /// The report the host gets for this change.
    pub fn report(&self) -> livestream_protocol::DisplayReport {
        livestream_protocol::DisplayReport {
            visibility: self.visibility,
            reason: self.reason,
            timestamp_ns: self.timestamp_ns,
        }
    }
}
