//! The games' sounds, played through the plugin's `GameAudio` so that they
//! reach the stream.

use std::io::Cursor;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_livestream::GameAudio;
use kira::sound::static_sound::StaticSoundData;

/// Levels of the music and of the effects: moderate, with headroom, since
/// the stream mixes the game with a microphone.
const MUSIC_DB: f32 = -8.0;
const EFFECT_DB: f32 = -8.0;

/// The sound files of `assets/sounds/`, built into the game: it plays them
/// wherever it runs from (an installed copy, a build whose tree moved, a
/// target dir shared between clones), with no path to look up at run time.
const SOUND_FILES: [(&str, &[u8]); 5] = [
    ("eat.wav", include_bytes!("../../../assets/sounds/eat.wav")),
    ("hit.wav", include_bytes!("../../../assets/sounds/hit.wav")),
    (
        "gift.wav",
        include_bytes!("../../../assets/sounds/gift.wav"),
    ),
    (
        "music_dodge.wav",
        include_bytes!("../../../assets/sounds/music_dodge.wav"),
    ),
    (
        "music_snake.wav",
        include_bytes!("../../../assets/sounds/music_snake.wav"),
    ),
];

/// The game's effects, decoded at start; one that cannot be decoded is
/// logged and stays silent.
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

fn load_sound(name: &str) -> Option<StaticSoundData> {
    let Some((_, bytes)) = SOUND_FILES.iter().find(|(file, _)| *file == name) else {
        warn!("no sound file {name}; it stays silent");
        return None;
    };
    StaticSoundData::from_cursor(Cursor::new(*bytes))
        .inspect_err(|err| warn!("sound {name} cannot be decoded ({err}); it stays silent"))
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

    /// Starts one of the sound files (`music_dodge.wav`, …) looping under the effects.
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
    fn an_unknown_sound_is_silent() {
        assert!(load_sound("no-such-sound.wav").is_none());
    }

    #[test]
    fn every_sound_file_decodes() {
        for (name, _) in SOUND_FILES {
            assert!(load_sound(name).is_some(), "{name}");
        }
    }
}
