//! Answers `livestream-host ctl` requests inside the host loop.

use bevy::prelude::*;
use livestream_protocol::MicChoice;

use livestream_interaction::AudienceEventKind;

use crate::audience::{Audience, AudienceDelivery};
use crate::ctl::{CtlReply, CtlRequest, PendingCtl};
use crate::games::{DisplayCommand, DisplayStatus, GameConnection, GameStats, SubGame};
use crate::stream::{StreamCommand, Streaming, game_status};

/// Requests from the control socket's thread.
#[derive(Resource, Debug)]
pub struct CtlRequests(pub crossbeam_channel::Receiver<PendingCtl>);

/// Keeps the control socket listening for the app's lifetime.
#[derive(Resource, Debug)]
pub struct CtlListener(pub crate::ctl::CtlServer);

/// Handles every waiting control request.
pub fn handle_ctl(
    requests: Res<CtlRequests>,
    mut games: Query<(
        &SubGame,
        &mut DisplayStatus,
        &GameStats,
        &GameConnection,
        Option<&AudienceDelivery>,
    )>,
    streaming: Res<Streaming>,
    mut audience: ResMut<Audience>,
    mut stream_commands: MessageWriter<StreamCommand>,
) {
    while let Ok(PendingCtl { request, reply }) = requests.0.try_recv() {
        let answer = match request {
            CtlRequest::Status => CtlReply::Ok {
                status: status_document(
                    games.iter().map(|(g, s, st, _, d)| (g, s, st, d)),
                    &streaming,
                    &audience,
                ),
            },
            CtlRequest::GoLive { mic } => {
                let mic = if mic { MicChoice::On } else { MicChoice::Off };
                stream_commands.write(StreamCommand::GoLive { mic });
                ok()
            }
            CtlRequest::Stop => {
                stream_commands.write(StreamCommand::Stop);
                ok()
            }
            CtlRequest::Show { game } => {
                let target = games
                    .iter()
                    .find(|(g, ..)| g.name == game || g.game_id.to_string() == game)
                    .map(|(g, ..)| g.game_id);
                match target {
                    Some(game_id) => {
                        DisplayCommand::Show { game_id }.apply(
                            games
                                .iter_mut()
                                .map(|(game, status, _, link, _)| (game, status, link)),
                        );
                        ok()
                    }
                    None => CtlReply::Error {
                        message: format!("no connected game named {game:?}"),
                    },
                }
            }
            CtlRequest::HideAll => {
                DisplayCommand::HideAll.apply(
                    games
                        .iter_mut()
                        .map(|(game, status, _, link, _)| (game, status, link)),
                );
                ok()
            }
            CtlRequest::Say { user, text } => {
                posted(audience.post_local(&user, AudienceEventKind::Chat { text }))
            }
            CtlRequest::Gift {
                user,
                gift,
                count,
                value,
            } => posted(audience.post_local(
                &user,
                AudienceEventKind::Gift {
                    gift_id: gift.to_lowercase(),
                    name: gift,
                    count: count.max(1),
                    value,
                },
            )),
        };
        let _ = reply.send(answer);
    }
}

fn ok() -> CtlReply {
    CtlReply::Ok {
        status: serde_json::Value::Null,
    }
}

/// The reply to `say`/`gift`: the new event's id, or why it was refused.
fn posted(result: Result<String, String>) -> CtlReply {
    match result {
        Ok(id) => CtlReply::Ok {
            status: serde_json::json!({ "id": id }),
        },
        Err(message) => CtlReply::Error { message },
    }
}

fn status_document<'a>(
    games: impl Iterator<
        Item = (
            &'a SubGame,
            &'a DisplayStatus,
            &'a GameStats,
            Option<&'a AudienceDelivery>,
        ),
    >,
    streaming: &Streaming,
    audience: &Audience,
) -> serde_json::Value {
    let state = streaming.state_message();
    let phase = match &state.phase {
        livestream_protocol::StreamPhase::Idle => serde_json::json!("idle"),
        livestream_protocol::StreamPhase::Starting => serde_json::json!("starting"),
        livestream_protocol::StreamPhase::Live => serde_json::json!("live"),
        livestream_protocol::StreamPhase::Reconnecting {
            attempt,
            retry_in_ms,
        } => serde_json::json!({"reconnecting": {"attempt": attempt, "retry_in_ms": retry_in_ms}}),
        livestream_protocol::StreamPhase::Error { message } => {
            serde_json::json!({"error": message})
        }
    };
    let mut list: Vec<_> = games
        .map(|(game, status, stats, delivery)| {
            let mut entry = game_status(game, status, stats);
            if let Some(delivery) = delivery {
                let live = delivery.stats();
                entry["audience"] = serde_json::json!({
                    "backlog": delivery.backlog,
                    "delivered": live.delivered,
                    "coalesced": live.coalesced,
                    "dropped": live.dropped,
                });
            }
            entry
        })
        .collect();
    list.sort_by_key(|g| g["id"].as_u64());
    serde_json::json!({
        "phase": phase,
        "mic": state.mic == MicChoice::On,
        "shown": state.stats.shown_game,
        "switches": streaming.switches,
        "switch_to_picture_ms": streaming.switch_times_ms,
        "reconnects": streaming.reconnects,
        "uptime_ms": state.stats.uptime_ms,
        "frames_pushed": state.stats.frames_pushed,
        "bitrate_kbps": state.stats.bitrate_kbps,
        "frames_repeated": state.stats.frames_repeated,
        "frames_superseded": state.stats.frames_dropped,
        "video_delay_ms": streaming.streamer.as_ref().map(|streamer| {
            streamer.stats().playout_delay_ns.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6
        }),
        "outputs": state.stats.outputs.iter().map(|o| serde_json::json!({
            "url": o.url, "connected": o.connected,
        })).collect::<Vec<_>>(),
        "games": list,
        "audience": audience.status(),
    })
}
