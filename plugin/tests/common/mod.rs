//! Shared by the plugin's integration tests: a stand-in host built on the ipc
//! crate's server, the settings of a test game, and audience events.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_livestream::prelude::*;
use bevy_livestream::{AudioOutput, PixelFormat};
use livestream_ipc::{LinkToGame, Server, ServerConfig, ServerEvent};
use livestream_protocol::{AudienceEvent, AudienceEventKind, AudienceUser};

/// How long any wait in these tests may take (software rendering is slow).
pub const LIMIT: Duration = Duration::from_secs(90);
/// The host socket's file name inside each test's temp dir.
pub const SOCKET_FILE: &str = "host.sock";

/// Settings of a test game: virtual audio output, no host started on demand.
pub fn test_settings(socket: &Path, name: &str, format: PixelFormat) -> LiveStreamSettings {
    LiveStreamSettings {
        game_name: name.into(),
        socket: Some(socket.to_owned()),
        capture_fps: 30,
        pixel_format: format,
        audio_output: AudioOutput::Virtual,
        start_host_on_demand: false,
        // Never the real user's host.ron.
        host_config: Some(socket.with_file_name("host.ron")),
        ..default()
    }
}

/// A stand-in host listening at `socket`.
pub fn host(socket: &Path) -> Server {
    Server::bind(ServerConfig::new(socket)).expect("test host binds")
}

/// Runs the game until the host sees it connect.
pub fn wait_for_game(app: &mut App, server: &Server, name: &str) -> LinkToGame {
    let deadline = Instant::now() + LIMIT;
    while Instant::now() < deadline {
        app.update();
        if let Ok(ServerEvent::Connected(connected)) = server.events().try_recv() {
            assert_eq!(connected.hello.game_name, name);
            return connected.link;
        }
    }
    panic!("the game never connected");
}

/// A chat line from viewer Ann.
pub fn chat(id: &str, text: &str) -> AudienceEvent {
    AudienceEvent {
        id: id.into(),
        source: "test".into(),
        user: AudienceUser {
            id: "ann".into(),
            display_name: "Ann".into(),
            color: None,
            badges: vec![],
        },
        timestamp_ms: 0,
        kind: AudienceEventKind::Chat { text: text.into() },
    }
}
