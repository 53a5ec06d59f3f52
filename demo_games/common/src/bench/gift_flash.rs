//! `--gift-flash`: every live gift turns the whole view white for a moment,
//! a reaction a player reading the stream can time, and the game logs which
//! gift it read, in which frame and when.

use std::time::Duration;

use bevy::diagnostic::FrameCount;
use bevy::prelude::*;
use bevy_livestream::monotonic_ns;
use bevy_livestream::prelude::*;

use super::LineLog;

/// How long a flash stays up: long enough for a 30 fps capture of a game
/// running at any frame rate to take at least one frame of it.
const FLASH: Duration = Duration::from_millis(200);

/// `--gift-flash`: the gifts read, and when the flash on screen ends.
#[derive(Resource)]
struct GiftFlash {
    log: LineLog,
    until: Option<Duration>,
}

/// The white layer over the whole view (under the `--frame-code` band).
#[derive(Component)]
struct FlashLayer;

/// Flashes on gifts and logs them to `log`.
pub(super) fn add(app: &mut App, log: LineLog) {
    app.insert_resource(GiftFlash { log, until: None })
        .add_systems(Startup, spawn_flash_layer)
        .add_systems(Update, flash_on_gifts);
}

fn spawn_flash_layer(mut commands: Commands) {
    commands.spawn((
        Node {
            position_type: PositionType::Absolute,
            left: Val::Px(0.0),
            top: Val::Px(0.0),
            width: Val::Percent(100.0),
            height: Val::Percent(100.0),
            ..default()
        },
        BackgroundColor(Color::WHITE),
        // Over the game and its HUD, under the frame code (`i32::MAX`).
        GlobalZIndex(i32::MAX - 1),
        Visibility::Hidden,
        FlashLayer,
    ));
}

/// Shows the layer from the frame that reads a live gift until [`FLASH`]
/// later, and logs `EVENT_ID FRAME_NUMBER TIMESTAMP_NS` per gift.
fn flash_on_gifts(
    mut audience: MessageReader<AudienceMessage>,
    mut flash: ResMut<GiftFlash>,
    frames: Res<FrameCount>,
    time: Res<Time<Real>>,
    mut layer: Query<&mut Visibility, With<FlashLayer>>,
) {
    let now = time.elapsed();
    for message in audience.read().filter(|m| !m.from_backlog) {
        if let AudienceEventKind::Gift { .. } = message.event.kind {
            let id = &message.event.id;
            flash
                .log
                .write(format_args!("{id} {} {}", frames.0, monotonic_ns()));
            flash.until = Some(now + FLASH);
        }
    }
    let shown = flash.until.is_some_and(|until| now < until);
    for mut visibility in &mut layer {
        visibility.set_if_neq(if shown {
            Visibility::Visible
        } else {
            Visibility::Hidden
        });
    }
}
