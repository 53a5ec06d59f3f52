//! `bevy_audio` games on the stream with no change to their audio code: the
//! plugin plays Bevy's own components ([`AudioPlayer`], [`PlaybackSettings`],
//! [`GlobalVolume`], [`SpatialListener`]) itself, through rodio sinks
//! connected to the mixer kira plays ([`super::rodio_mix`]), and inserts the
//! ordinary [`AudioSink`] / [`SpatialAudioSink`] the game controls them with.
//!
//! The sink is inserted the moment an [`AudioPlayer`] is added (an observer),
//! so Bevy's `AudioPlugin`, if the game kept it, finds every sound already
//! playing and leaves it alone; a sound whose asset is still loading plays
//! silence until it loads ([`super::late_source`]). When the game left
//! `AudioPlugin` out (headless games do), the plugin registers the assets
//! and resources it would have. Despawn and remove on finish, spatial
//! emitters and ears are kept up to date here, whichever way.

use bevy::audio::{
    AudioLoader, AudioPlayer, AudioPlugin, AudioSink, AudioSinkPlayback, AudioSource, Decodable,
    DefaultSpatialScale, GlobalVolume, Pitch, PlaybackMode, PlaybackSettings, SpatialAudioSink,
    SpatialListener,
};
use bevy::prelude::*;
use bevy::transform::TransformSystems;
use crossbeam_channel::Sender;
use rodio::mixer::Mixer;
use rodio::{ChannelCount, Player, SampleRate, Source, SpatialPlayer};

use super::late_source::{Playable, late_source};

/// The mixer every sound the plugin plays for `bevy_audio` goes into.
#[derive(Resource, Clone)]
pub(crate) struct StreamedMixer {
    mixer: Mixer,
    channels: ChannelCount,
    sample_rate: SampleRate,
}

impl StreamedMixer {
    /// The mixer and its format (what a sound waiting for its asset plays silence in).
    pub fn new(mixer: Mixer, channels: ChannelCount, sample_rate: SampleRate) -> Self {
        Self {
            mixer,
            channels,
            sample_rate,
        }
    }
}

/// What happens to the entity when its sound has played (its [`PlaybackMode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhenPlayed {
    Keep,
    Despawn,
    Remove,
}

/// Marks a sound the plugin plays (not Bevy's `AudioPlugin`).
#[derive(Component, Debug)]
struct Streamed {
    when_played: WhenPlayed,
}

/// A sound waiting for its asset: the decoder goes through here once loaded.
#[derive(Component)]
struct AwaitingAsset(Sender<Playable>);

/// Plays Bevy's two audio sources ([`AudioSource`] files and [`Pitch`]
/// tones) into `mixer`.
pub(crate) fn build(app: &mut App, mixer: StreamedMixer) {
    app.insert_resource(mixer).add_systems(
        PostUpdate,
        (move_emitters, move_ears).after(TransformSystems::Propagate),
    );
    play_source::<AudioSource>(app);
    play_source::<Pitch>(app);
}

/// Registers what Bevy's `AudioPlugin` would have, when the game left it out.
pub(crate) fn finish(app: &mut App) {
    app.init_resource::<GlobalVolume>()
        .init_resource::<DefaultSpatialScale>();
    if app.is_plugin_added::<AudioPlugin>() || !app.world().contains_resource::<AssetServer>() {
        return;
    }
    app.init_asset::<AudioSource>()
        .init_asset_loader::<AudioLoader>()
        .init_asset::<Pitch>();
}

fn play_source<T: Decodable + Asset>(app: &mut App) {
    app.add_observer(|add: On<Add, AudioPlayer<T>>, mut commands: Commands| {
        let entity = add.entity;
        commands.queue(move |world: &mut World| begin::<T>(world, entity));
    })
    // A sink removed from a sound that keeps its player restarts the sound,
    // as in Bevy (queued: it runs once the removal is done).
    .add_observer(|remove: On<Remove, AudioSink>, mut commands: Commands| {
        let entity = remove.entity;
        commands.queue(move |world: &mut World| begin::<T>(world, entity));
    })
    .add_observer(
        |remove: On<Remove, SpatialAudioSink>, mut commands: Commands| {
            let entity = remove.entity;
            commands.queue(move |world: &mut World| begin::<T>(world, entity));
        },
    )
    .add_systems(
        PostUpdate,
        (feed_loaded::<T>, finish_played::<T>).after(TransformSystems::Propagate),
    );
}

/// The asset's decoder as the settings say: from the start position, for the
/// duration, looped or once (the same order of operations as Bevy's).
fn playable<T: Decodable>(asset: &T, settings: &PlaybackSettings) -> Playable {
    let mut source: Playable = Box::new(asset.decoder());
    if let Some(start) = settings.start_position {
        source = Box::new(source.skip_duration(start));
    }
    if let Some(duration) = settings.duration {
        source = Box::new(source.take_duration(duration));
    }
    if matches!(settings.mode, PlaybackMode::Loop) {
        source = Box::new(source.repeat_infinite());
    }
    source
}

/// Mute, speed, volume and pause as the settings say, as Bevy applies them.
fn apply_settings(
    sink: &mut impl AudioSinkPlayback,
    settings: &PlaybackSettings,
    global: GlobalVolume,
) {
    if settings.muted {
        sink.mute();
    }
    sink.set_speed(settings.speed);
    sink.set_volume(settings.volume * global.volume);
    if settings.paused {
        sink.pause();
    }
}

/// The ears of the first listener, or of a default listener at the origin.
fn ears(listener: Option<(&GlobalTransform, &SpatialListener)>) -> (Vec3, Vec3) {
    match listener {
        Some((transform, listener)) => (
            transform.transform_point(listener.left_ear_offset),
            transform.transform_point(listener.right_ear_offset),
        ),
        None => {
            let listener = SpatialListener::default();
            (listener.left_ear_offset, listener.right_ear_offset)
        }
    }
}

/// Starts the sound of `entity` unless it already has a sink (or is gone).
fn begin<T: Decodable + Asset>(world: &mut World, entity: Entity) {
    let Ok(target) = world.get_entity(entity) else {
        return;
    };
    if target.contains::<AudioSink>() || target.contains::<SpatialAudioSink>() {
        return;
    }
    let (Some(player), Some(settings)) = (
        target.get::<AudioPlayer<T>>(),
        target.get::<PlaybackSettings>(),
    ) else {
        return;
    };
    let (handle, settings) = (player.0.clone(), *settings);
    let emitter = target
        .get::<GlobalTransform>()
        .map_or(Vec3::ZERO, GlobalTransform::translation);
    let Some(mixer) = world.get_resource::<StreamedMixer>().cloned() else {
        return;
    };
    let global = world
        .get_resource::<GlobalVolume>()
        .copied()
        .unwrap_or_default();
    let scale = settings
        .spatial_scale
        .or_else(|| world.get_resource::<DefaultSpatialScale>().map(|d| d.0))
        .unwrap_or_default()
        .0;
    let ready = world
        .get_resource::<Assets<T>>()
        .and_then(|assets| assets.get(&handle))
        .map(|asset| playable(asset, &settings));
    let (first, awaiting) = match ready {
        Some(playable) => (playable, None),
        None => {
            let (sender, late) = late_source(mixer.channels, mixer.sample_rate);
            (Box::new(late) as Playable, Some(AwaitingAsset(sender)))
        }
    };
    let when_played = match settings.mode {
        PlaybackMode::Once | PlaybackMode::Loop => WhenPlayed::Keep,
        PlaybackMode::Despawn => WhenPlayed::Despawn,
        PlaybackMode::Remove => WhenPlayed::Remove,
    };
    let ears = settings.spatial.then(|| {
        let mut listeners = world.query::<(&GlobalTransform, &SpatialListener)>();
        ears(listeners.iter(world).next())
    });
    let mut target = world.entity_mut(entity);
    match ears {
        Some((left, right)) => {
            let player = SpatialPlayer::connect_new(
                &mixer.mixer,
                (emitter * scale).into(),
                (left * scale).into(),
                (right * scale).into(),
            );
            player.append(first);
            let mut sink = SpatialAudioSink::new(player);
            apply_settings(&mut sink, &settings, global);
            target.insert(sink);
        }
        None => {
            let player = Player::connect_new(&mixer.mixer);
            player.append(first);
            let mut sink = AudioSink::new(player);
            apply_settings(&mut sink, &settings, global);
            target.insert(sink);
        }
    }
    target.insert(Streamed { when_played });
    if let Some(awaiting) = awaiting {
        target.insert(awaiting);
    }
}

/// Hands each waiting sound its decoder once the asset has loaded (an app
/// without Bevy's asset plugin has no assets and no waiting sounds).
fn feed_loaded<T: Decodable + Asset>(
    mut commands: Commands,
    assets: Option<Res<Assets<T>>>,
    waiting: Query<(Entity, &AudioPlayer<T>, &PlaybackSettings, &AwaitingAsset)>,
) {
    let Some(assets) = assets else {
        return;
    };
    for (entity, player, settings, awaiting) in &waiting {
        let Some(asset) = assets.get(&player.0) else {
            continue;
        };
        // Fails only if the sink is gone, and then nobody is listening.
        let _ = awaiting.0.send(playable(asset, settings));
        commands.entity(entity).remove::<AwaitingAsset>();
    }
}

/// Despawns or strips the entities whose sound has played, as their mode says.
fn finish_played<T: Decodable + Asset>(
    mut commands: Commands,
    played: Query<
        (
            Entity,
            &Streamed,
            Option<&AudioSink>,
            Option<&SpatialAudioSink>,
        ),
        With<AudioPlayer<T>>,
    >,
) {
    for (entity, streamed, sink, spatial) in &played {
        let empty = match (sink, spatial) {
            (Some(sink), _) => sink.empty(),
            (None, Some(sink)) => sink.empty(),
            (None, None) => false,
        };
        if !empty {
            continue;
        }
        match streamed.when_played {
            WhenPlayed::Keep => {}
            WhenPlayed::Despawn => commands.entity(entity).try_despawn(),
            WhenPlayed::Remove => {
                commands.entity(entity).try_remove::<(
                    AudioPlayer<T>,
                    AudioSink,
                    SpatialAudioSink,
                    PlaybackSettings,
                    Streamed,
                )>();
            }
        }
    }
}

/// Moves spatial sounds with their entities.
fn move_emitters(
    emitters: Query<
        (&GlobalTransform, &SpatialAudioSink, &PlaybackSettings),
        (
            With<Streamed>,
            Or<(Changed<GlobalTransform>, Changed<PlaybackSettings>)>,
        ),
    >,
    default_scale: Res<DefaultSpatialScale>,
) {
    for (transform, sink, settings) in &emitters {
        let scale = settings.spatial_scale.unwrap_or(default_scale.0).0;
        sink.set_emitter_position(transform.translation() * scale);
    }
}

/// Moves every spatial sound's ears with the listener.
fn move_ears(
    moved: Query<
        (),
        (
            With<SpatialListener>,
            Or<(Changed<SpatialListener>, Changed<GlobalTransform>)>,
        ),
    >,
    listeners: Query<(&GlobalTransform, &SpatialListener)>,
    sinks: Query<(&SpatialAudioSink, &PlaybackSettings), With<Streamed>>,
    default_scale: Res<DefaultSpatialScale>,
) {
    if !default_scale.is_changed() && moved.is_empty() {
        return;
    }
    let (left, right) = ears(listeners.iter().next());
    for (sink, settings) in &sinks {
        let scale = settings.spatial_scale.unwrap_or(default_scale.0).0;
        sink.set_ears_position(left * scale, right * scale);
    }
}
