//! Each game's [`DisplayStatus`]: what the game reports, or what the host
//! commands (`ctl show`/`hide-all`, the dashboard's Show).

use bevy::prelude::*;
use livestream_protocol::{DisplayReason, HostMessage, Visibility};
use tracing::warn;

use crate::games::{DisplayStatus, GameConnection, SubGame};
use crate::messages::{DisplayCommand, DisplayReported};

/// Takes the games' own reports (focus, visibility, occlusion, minimise).
pub fn apply_display_reports(
    mut reports: MessageReader<DisplayReported>,
    mut games: Query<&mut DisplayStatus>,
) {
    for reported in reports.read() {
        if let Ok(mut status) = games.get_mut(reported.game) {
            *status = DisplayStatus::now(reported.report.visibility, reported.report.reason);
        }
    }
}

/// Applies [`DisplayCommand`]s: each game is told its visibility and its
/// [`DisplayStatus`] changes at once (reason `HostCommand`). Showing a game
/// that has left meanwhile changes nothing.
pub fn apply_display_commands(
    mut commands: MessageReader<DisplayCommand>,
    mut games: Query<(&SubGame, &mut DisplayStatus, &GameConnection)>,
) {
    for &command in commands.read() {
        if let DisplayCommand::Show { game_id } = command
            && !games.iter().any(|(game, ..)| game.game_id == game_id)
        {
            warn!(game_id, "cannot show a game that is not connected");
            continue;
        }
        for (game, mut status, link) in &mut games {
            let visibility = match command {
                DisplayCommand::Show { game_id } if game.game_id == game_id => Visibility::Shown,
                DisplayCommand::Show { .. } | DisplayCommand::HideAll => Visibility::Hidden,
            };
            let _ = link.0.outbox().send(HostMessage::SetVisibility(visibility));
            if status.visibility != visibility {
                *status = DisplayStatus::now(visibility, DisplayReason::HostCommand);
            }
        }
    }
}
