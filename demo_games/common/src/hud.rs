//! HUD layout: text lines in the view's corners, sized by the view.

use bevy::prelude::*;

/// Where a HUD line sits: a corner of the view, on the top row or the one below it.
pub fn hud_corner(top: bool, left: bool) -> Node {
    Node {
        position_type: PositionType::Absolute,
        top: if top { Val::Vh(1.0) } else { Val::Vh(7.5) },
        left: if left { Val::Vw(2.0) } else { Val::Auto },
        right: if left { Val::Auto } else { Val::Vw(2.0) },
        ..default()
    }
}

/// A HUD text style: size relative to the view's height, so it reads the
/// same at every resolution.
pub fn hud_font(vh: f32) -> TextFont {
    TextFont {
        font_size: FontSize::Vh(vh),
        ..default()
    }
}
