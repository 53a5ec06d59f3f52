//! The games' sounds, played through the plugin's `GameAudio` so that they
//! reach the stream.

use std::path::PathBuf;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_livestream::GameAudio;
use kira::sound::static_sound::StaticSoundData;

/// Levels of the music and of the effects: moderate, with headroom, since
/// the stream mixes the game with a microphone.
const MUSIC_DB: f32 = -8.0;
const EFFECT_DB: f32 = -8.0;

/// The game's sounds, loaded from `assets/sounds/` at start; a missing file
/// is logged and stays silent.
#[derive(Resource)]
pub struct Sounds {
    eat: Option<StaticSoundData>,
    hit: Option<StaticSoundData>,
    gift: Option<StaticSoundData>,
}

/// One of the effects [`Sfx`] plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    /// Food eaten, a milestone passed.
    Eat,
    /// A crash.
    Hit,
    /// A gift from the audience.
    Gift,
}

/// The sounds, loaded for [`Sfx`].
pub(crate) fn plugin(app: &mut App) {
    app.insert_resource(Sounds {
        eat: load_sound("eat.wav"),
        hit: load_sound("hit.wav"),
        gift: load_sound("gift.wav"),
    });
}

/// The assets directory: the workspace's `assets/` when run from a build
/// tree, else `assets/` next to the executable, else in the working directory.
fn assets_dir() -> PathBuf {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|p| p.join("assets")));
    [
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../assets"
        ))),
        exe_dir,
        Some(PathBuf::from("assets")),
    ]
    .into_iter()
    .flatten()
    .find(|dir| dir.join("sounds").is_dir())
    .unwrap_or_else(|| PathBuf::from("assets"))
}

fn load_sound(name: &str) -> Option<StaticSoundData> {
    let path = assets_dir().join("sounds").join(name);
    StaticSoundData::from_file(&path)
        .inspect_err(|err| {
            warn!(
                "sound {} unavailable ({err}); it stays silent",
                path.display()
            );
        })
        .ok()
}

/// Plays sounds through the plugin's [`GameAudio`], so they reach the stream.
#[derive(SystemParam)]
pub struct Sfx<'w> {
    sounds: Res<'w, Sounds>,
    audio: Option<ResMut<'w, GameAudio>>,
}

impl Sfx<'_> {
    /// Plays one effect (nothing if the file or the audio device is missing).
    pub fn play(&mut self, sound: Sound) {
        let data = match sound {
            Sound::Eat => &self.sounds.eat,
            Sound::Hit => &self.sounds.hit,
            Sound::Gift => &self.sounds.gift,
        };
        if let (Some(audio), Some(data)) = (self.audio.as_mut(), data)
            && let Err(err) = audio.manager().play(data.volume(EFFECT_DB))
        {
            warn!("cannot play {sound:?}: {err}");
        }
    }

    /// Starts `assets/sounds/<file>` looping under the effects.
    pub fn loop_music(&mut self, file: &str) {
        let (Some(audio), Some(music)) = (self.audio.as_mut(), load_sound(file)) else {
            return;
        };
        if let Err(err) = audio.manager().play(music.loop_region(..).volume(MUSIC_DB)) {
            warn!("cannot play the music: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_sound_is_silent() {
        assert!(load_sound("no-such-sound.wav").is_none());
        assert!(
            load_sound("eat.wav").is_some(),
            "assets/sounds/eat.wav is found"
        );
    }
}
