//! Answers `livestream-host ctl` requests inside the host loop: status from
//! [`host_status`], everything else turned into the same messages the
//! games and the dashboard produce.

use bevy::prelude::*;
use livestream_control::{CtlReply, CtlRequest};
use livestream_interaction::AudienceEventKind;
use livestream_protocol::MicChoice;

use super::socket::{CtlServer, PendingCtl};
use crate::audience::Audience;
use crate::messages::{DisplayCommand, StreamCommand};
use crate::status::{StatusGames, host_status};
use crate::stream::Streaming;

/// Requests from the control socket's thread.
#[derive(Resource, Debug)]
pub struct CtlRequests(pub crossbeam_channel::Receiver<PendingCtl>);

/// Keeps the control socket listening for the app's lifetime.
#[derive(Resource, Debug)]
pub struct CtlListener(pub CtlServer);

/// Handles every waiting control request.
pub fn handle_ctl(
    requests: Res<CtlRequests>,
    games: StatusGames,
    streaming: Res<Streaming>,
    mut audience: ResMut<Audience>,
    mut stream_commands: MessageWriter<StreamCommand>,
    mut display_commands: MessageWriter<DisplayCommand>,
) {
    while let Ok(PendingCtl { request, reply }) = requests.0.try_recv() {
        let answer = match request {
            CtlRequest::Status => {
                CtlReply::Status(Box::new(host_status(games.iter(), &streaming, &audience)))
            }
            CtlRequest::GoLive { mic } => {
                let mic = if mic { MicChoice::On } else { MicChoice::Off };
                stream_commands.write(StreamCommand::GoLive { mic });
                CtlReply::Done
            }
            CtlRequest::Stop => {
                stream_commands.write(StreamCommand::Stop);
                CtlReply::Done
            }
            CtlRequest::Show { game } => {
                let target = games
                    .iter()
                    .find(|(g, ..)| g.name == game || g.game_id.to_string() == game);
                match target {
                    Some((target, ..)) => {
                        display_commands.write(DisplayCommand::Show {
                            game_id: target.game_id,
                        });
                        CtlReply::Done
                    }
                    None => CtlReply::Error {
                        message: format!("no connected game named {game:?}"),
                    },
                }
            }
            CtlRequest::HideAll => {
                display_commands.write(DisplayCommand::HideAll);
                CtlReply::Done
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

/// The reply to `say`/`gift`: the new event's id, or why it was refused.
fn posted(result: Result<String, String>) -> CtlReply {
    match result {
        Ok(id) => CtlReply::Posted { id },
        Err(message) => CtlReply::Error { message },
    }
}
