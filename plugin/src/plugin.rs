//! Wiring of the plugin: resources, Messages, and the systems of every part
//! in their [`LiveStreamSystems`] sets.

use bevy::prelude::*;
use bevy::window::{WindowFocused, WindowOccluded};
use livestream_protocol::{Capabilities, Hello};

use crate::audio::GameAudio;
use crate::capture::{self, CaptureStats};
use crate::config::{LiveStreamPlugin, LiveStreamSettings, SOCKET_ENV};
use crate::connection::{
    HostSession, accept_connection, receive_from_host, report_display, say_goodbye, send_requests,
};
use crate::display::{DisplayTracker, publish_display, track_window};
use crate::route::MediaRoute;
use crate::state::{
    AudienceMessage, DisplayChanged, LiveStream, LiveStreamRequest, LiveStreamStats,
    StreamStateChanged,
};
use crate::{LiveStreamSystems, Streamable};

impl Plugin for LiveStreamPlugin {
    fn build(&self, app: &mut App) {
        let settings = match self.resolve_settings() {
            Ok(settings) => settings,
            Err(err) => {
                error!("{err}; streaming uses the built-in defaults");
                LiveStreamSettings::default().with_socket_override(std::env::var_os(SOCKET_ENV))
            }
        };
        app.register_type::<Streamable>()
            .insert_resource(settings.clone())
            .init_resource::<LiveStream>()
            .init_resource::<DisplayTracker>()
            .init_resource::<MediaRoute>()
            .add_message::<LiveStreamRequest>()
            .add_message::<AudienceMessage>()
            .add_message::<StreamStateChanged>()
            .add_message::<DisplayChanged>()
            // Read by the display tracker; registered here too so the plugin also
            // runs without bevy's window plugin (MinimalPlugins, tests).
            .add_message::<WindowFocused>()
            .add_message::<WindowOccluded>()
            .configure_sets(
                PreUpdate,
                (LiveStreamSystems::Receive, LiveStreamSystems::Display).chain(),
            )
            .configure_sets(
                PostUpdate,
                (LiveStreamSystems::Send, LiveStreamSystems::Capture).chain(),
            );

        let audio_route = app.world_mut().resource_mut::<MediaRoute>().subscribe();
        let audio_format = match GameAudio::open(settings.audio_output, audio_route) {
            Ok(audio) => {
                let format = audio.format();
                crate::audio::play_bevy_audio(app, &audio);
                app.insert_resource(audio);
                Some(format)
            }
            Err(err) => {
                error!("game audio is unavailable: {err}");
                None
            }
        };
        let hello = Hello::new(
            settings.game_name.clone(),
            std::process::id(),
            Capabilities {
                video_formats: vec![settings.pixel_format],
                audio: audio_format,
            },
        );
        app.insert_resource(HostSession::start(&settings, hello))
            .add_systems(
                PreUpdate,
                (
                    (accept_connection, receive_from_host)
                        .chain()
                        .in_set(LiveStreamSystems::Receive),
                    (track_window, publish_display)
                        .chain()
                        .in_set(LiveStreamSystems::Display),
                ),
            )
            .add_systems(
                PostUpdate,
                (send_requests, report_display, sync_media)
                    .chain()
                    .in_set(LiveStreamSystems::Send),
            )
            .add_systems(Last, say_goodbye);
        capture::build(app);
    }

    fn finish(&self, app: &mut App) {
        capture::finish(app);
        crate::audio::finish(app);
    }
}

/// Records audio only while the host wants it, and copies the counters of
/// the capture and audio threads into [`LiveStream`].
fn sync_media(
    mut live: ResMut<LiveStream>,
    audio: Option<Res<GameAudio>>,
    capture: Res<CaptureStats>,
) {
    let [captured, sent, skipped, dropped, bytes, cpu_converted] = capture.snapshot();
    let mut stats = LiveStreamStats {
        frames_captured: captured,
        frames_sent: sent,
        frames_skipped: skipped,
        frames_dropped: dropped,
        video_bytes: bytes,
        frames_converted_on_cpu: cpu_converted,
        ..live.stats
    };
    if let Some(audio) = audio {
        audio.set_recording(live.media.is_some_and(|m| m.audio));
        (
            stats.audio_chunks_sent,
            stats.audio_frames_dropped,
            stats.bevy_audio_late_frames,
        ) = audio.counters();
    }
    if live.stats != stats {
        live.stats = stats;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AudioOutput;

    #[test]
    fn plugin_adds_its_resources_without_a_host_or_renderer() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::new();
        app.add_plugins((
            MinimalPlugins,
            LiveStreamPlugin {
                settings: LiveStreamSettings {
                    socket: Some(dir.path().join("host.sock")),
                    audio_output: AudioOutput::Virtual,
                    ..default()
                },
                ..default()
            },
        ));
        app.finish();
        app.update();
        let world = app.world();
        assert!(world.contains_resource::<LiveStreamSettings>());
        assert!(world.contains_resource::<GameAudio>());
        let live = world.resource::<LiveStream>();
        assert_eq!(live.connection, crate::HostConnection::Disconnected);
        assert_eq!(live.media, None);
    }
}
