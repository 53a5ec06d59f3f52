//! What both demo games share, included by each with `#[path]`: the command
//! line and base plugins, a tiny PRNG, chat vote tallies, sounds through the
//! plugin's `GameAudio`, attract mode, the audience counter and `--duration`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bevy::diagnostic::FrameCount;
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::window::WindowResolution;
use bevy_livestream::AudioOutput;
use bevy_livestream::prelude::*;
use clap::Parser;
use kira::sound::static_sound::StaticSoundData;
use livestream_ipc::monotonic_ns;
use livestream_testsrc::pattern;

/// Seconds without a key press after which attract mode takes over again.
const IDLE_SECS: f32 = 30.0;
/// Levels of the music and of the effects: moderate, with headroom, since
/// the stream mixes the game with a microphone.
const MUSIC_DB: f32 = -8.0;
const EFFECT_DB: f32 = -8.0;

/// A `bevy_livestream` demo game. It plays itself until a key is pressed
/// and streams whenever `livestream-host` asks for it.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    /// Run without a window: render offscreen (servers, tests, the demo).
    #[arg(long)]
    pub headless: bool,
    /// Window size, or the offscreen target's size with `--headless`, as `WxH`.
    #[arg(long, default_value = "640x360", value_parser = parse_size)]
    pub size: UVec2,
    /// Frames per second of the headless loop.
    #[arg(long, default_value_t = 30.0, value_parser = parse_fps)]
    pub fps: f64,
    /// Exit cleanly (status 0) after this many seconds.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// The name the host knows this game by (default: the game's own), to run two copies.
    #[arg(long)]
    pub name: Option<String>,
    /// For benchmarks: write a line per frame (`SECONDS FRAME_MS CAPTURING
    /// SKIPPED DROPPED`, the last two counted since start) to this file and,
    /// on `--duration`, the streaming counters (`# stats {…}`).
    #[arg(long)]
    pub frame_log: Option<PathBuf>,
    /// For benchmarks: draw the frame number as 32 black/white blocks along
    /// the bottom eighth of the view (`livestream-testsrc`'s code) and write
    /// `FRAME_NUMBER TIMESTAMP_NS` (`CLOCK_MONOTONIC`) per frame to this file,
    /// so the latency of any way of streaming the game can be read back.
    #[arg(long)]
    pub frame_code: Option<PathBuf>,
}

impl Args {
    /// The name the host shows and `ctl show` takes: `--name`, else `default`.
    pub fn game_name(&self, default: &str) -> String {
        self.name.clone().unwrap_or_else(|| default.to_owned())
    }

    /// Where the game's sound goes: headless games never open a sound device.
    pub fn audio_output(&self) -> AudioOutput {
        if self.headless {
            AudioOutput::Virtual
        } else {
            AudioOutput::Auto
        }
    }
}

/// Parses `WxH` (each side 16..=7680).
pub fn parse_size(text: &str) -> Result<UVec2, String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WxH, e.g. 640x360, got {text:?}"))?;
    let side = |s: &str| match s.trim().parse::<u32>() {
        Ok(v) if (16..=7680).contains(&v) => Ok(v),
        _ => Err(format!("each side must be 16..=7680, got {s:?}")),
    };
    Ok(UVec2::new(side(w)?, side(h)?))
}

fn parse_fps(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(fps) if (1.0..=240.0).contains(&fps) => Ok(fps),
        _ => Err(format!("fps must be 1..=240, got {text:?}")),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("duration must be seconds ≥ 0, got {text:?}"))
}

/// Bevy's plugins (a window, or offscreen with `--headless`) and the
/// shared resources and systems of the demo games.
pub fn add_base_plugins(app: &mut App, args: &Args, title: &str) {
    if args.headless {
        app.add_plugins((
            headless_default_plugins(),
            HeadlessPlugin {
                size: args.size,
                fps: args.fps,
            },
        ));
    } else {
        app.add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: title.to_owned(),
                resolution: WindowResolution::new(args.size.x, args.size.y),
                ..default()
            }),
            ..default()
        }));
    }
    app.insert_resource(Rng::from_time())
        .insert_resource(Sounds::load())
        .init_resource::<Pilot>()
        .init_resource::<AudienceCount>()
        .add_systems(PreUpdate, (watch_keys, count_audience));
    if let Some(limit) = args.duration {
        app.insert_resource(ExitAfter(limit))
            .add_systems(Last, exit_after);
    }
    if let Some(log) = args.frame_log.as_deref().and_then(LineLog::create) {
        app.insert_resource(FrameLog(log))
            .add_systems(Last, log_frame.before(exit_after));
    }
    if let Some(log) = args.frame_code.as_deref().and_then(LineLog::create) {
        app.insert_resource(FrameCodeLog(log))
            .add_systems(Startup, spawn_frame_code)
            .add_systems(Update, show_frame_code);
    }
}

/// A benchmark's text file, a line per write; a failed write is logged, the game plays on.
struct LineLog {
    path: PathBuf,
    file: std::io::LineWriter<std::fs::File>,
}

impl LineLog {
    fn create(path: &std::path::Path) -> Option<Self> {
        match std::fs::File::create(path) {
            Ok(file) => Some(Self {
                path: path.to_owned(),
                file: std::io::LineWriter::new(file),
            }),
            Err(err) => {
                error!("{}: {err}", path.display());
                None
            }
        }
    }

    fn write(&mut self, line: std::fmt::Arguments) {
        use std::io::Write as _;
        if let Err(err) = writeln!(self.file, "{line}") {
            error!("{}: {err}", self.path.display());
        }
    }
}

/// `--frame-log`: where each frame's time goes.
#[derive(Resource)]
struct FrameLog(LineLog);

/// `--frame-code`: when each drawn code was decided.
#[derive(Resource)]
struct FrameCodeLog(LineLog);

/// One block of the `--frame-code` band: the code bit it shows.
#[derive(Component)]
struct FrameCodeBit(u32);

/// The band of `--frame-code`, laid out as `livestream_testsrc::pattern`
/// reads it: the bottom eighth of the view, 32 equal blocks, bit 0 left.
fn spawn_frame_code(mut commands: Commands) {
    commands
        .spawn((
            Node {
                position_type: PositionType::Absolute,
                left: Val::Px(0.0),
                bottom: Val::Px(0.0),
                width: Val::Percent(100.0),
                height: Val::Percent(12.5),
                ..default()
            },
            GlobalZIndex(i32::MAX),
        ))
        .with_children(|band| {
            for bit in 0..pattern::CODE_BITS {
                band.spawn((
                    Node {
                        width: Val::Percent(100.0 / pattern::CODE_BITS as f32),
                        height: Val::Percent(100.0),
                        ..default()
                    },
                    BackgroundColor(Color::BLACK),
                    FrameCodeBit(bit),
                ));
            }
        });
}

/// Draws this frame's number and logs when it was decided, on the clock the
/// plugin stamps captured frames with.
fn show_frame_code(
    frames: Res<FrameCount>,
    mut log: ResMut<FrameCodeLog>,
    mut bits: Query<(&FrameCodeBit, &mut BackgroundColor)>,
) {
    let code = pattern::code_for(u64::from(frames.0));
    for (bit, mut colour) in &mut bits {
        let level = if code >> bit.0 & 1 == 1 { 235 } else { 16 };
        colour.0 = Color::srgb_u8(level, level, level);
    }
    log.0.write(format_args!("{} {}", frames.0, monotonic_ns()));
}

/// Logs this frame's time, whether the host has the game capturing, and the
/// frames lost so far before the socket.
fn log_frame(mut log: ResMut<FrameLog>, time: Res<Time<Real>>, live: Res<LiveStream>) {
    let capturing = live.media.as_ref().is_some_and(|media| media.video);
    log.0.write(format_args!(
        "{:.4} {:.3} {} {} {}",
        time.elapsed_secs_f64(),
        time.delta_secs_f64() * 1000.0,
        u8::from(capturing),
        live.stats.frames_skipped,
        live.stats.frames_dropped
    ));
}

/// A small deterministic PRNG (xorshift64*), seeded from the clock.
#[derive(Resource, Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed (any value, zero included).
    pub fn new(seed: u64) -> Self {
        // splitmix64 once, so close seeds give unrelated streams; never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    /// A generator seeded from the wall clock.
    pub fn from_time() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self::new(nanos ^ u64::from(std::process::id()))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((f64::from(self.unit()) * n as f64) as usize).min(n.saturating_sub(1))
    }
}

/// Chat votes over a window: the window opens with its first vote and, once
/// it has lasted its length, closes with the strict majority (if any).
#[derive(Debug, Clone)]
pub struct VoteTally<V> {
    window_secs: f32,
    opened_at: Option<f32>,
    votes: Vec<(V, u32)>,
}

impl<V: Copy + PartialEq> VoteTally<V> {
    /// A tally whose windows last `window_secs`.
    pub fn new(window_secs: f32) -> Self {
        Self {
            window_secs,
            opened_at: None,
            votes: Vec::new(),
        }
    }

    /// Counts one vote cast at `now` (seconds).
    pub fn cast(&mut self, vote: V, now: f32) {
        self.opened_at.get_or_insert(now);
        match self.votes.iter_mut().find(|(v, _)| *v == vote) {
            Some((_, n)) => *n += 1,
            None => self.votes.push((vote, 1)),
        }
    }

    /// Votes for `vote` in the open window.
    pub fn count(&self, vote: V) -> u32 {
        self.votes
            .iter()
            .find(|(v, _)| *v == vote)
            .map_or(0, |(_, n)| *n)
    }

    /// Closes the window once it has lasted its length: the option with the
    /// most votes wins; a tie wins nothing.
    pub fn close_if_due(&mut self, now: f32) -> Option<V> {
        let opened = self.opened_at?;
        if now - opened < self.window_secs {
            return None;
        }
        self.opened_at = None;
        let votes = std::mem::take(&mut self.votes);
        let top = votes.iter().map(|(_, n)| *n).max()?;
        let mut leaders = votes.iter().filter(|(_, n)| *n == top);
        match (leaders.next(), leaders.next()) {
            (Some((winner, _)), None) => Some(*winner),
            _ => None,
        }
    }
}

/// The words of a chat line, lower case, each without a leading `!`.
pub fn chat_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace()
        .map(|w| w.trim_start_matches('!').to_lowercase())
}

/// Attract mode: the autopilot plays until a key is pressed, and again
/// after a while without keys.
#[derive(Resource, Debug, Default)]
pub struct Pilot {
    last_key_secs: Option<f32>,
}

impl Pilot {
    /// Whether the autopilot steers at `now` (seconds).
    pub fn autopilot(&self, now: f32) -> bool {
        self.last_key_secs.is_none_or(|t| now - t > IDLE_SECS)
    }

    /// A key was pressed at `now`.
    pub fn key_pressed(&mut self, now: f32) {
        self.last_key_secs = Some(now);
    }
}

fn watch_keys(keys: Res<ButtonInput<KeyCode>>, time: Res<Time>, mut pilot: ResMut<Pilot>) {
    if keys.get_pressed().len() > 0 {
        pilot.key_pressed(time.elapsed_secs());
    }
}

/// Audience events received: live ones and those from the backlog (which
/// happened before the game joined and trigger no gameplay).
#[derive(Resource, Debug, Default)]
pub struct AudienceCount {
    /// Events received while this game runs.
    pub live: u64,
    /// Events replayed from the host's backlog on connect.
    pub backlog: u64,
}

fn count_audience(mut events: MessageReader<AudienceMessage>, mut count: ResMut<AudienceCount>) {
    for message in events.read() {
        info!(
            id = %message.event.id,
            backlog = message.from_backlog,
            "audience event"
        );
        if message.from_backlog {
            count.backlog += 1;
        } else {
            count.live += 1;
        }
    }
}

/// The game's sounds, loaded from `assets/sounds/` at start; a missing file
/// is logged and stays silent.
#[derive(Resource)]
pub struct Sounds {
    eat: Option<StaticSoundData>,
    hit: Option<StaticSoundData>,
    gift: Option<StaticSoundData>,
}

/// One of the effects in [`Sounds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    /// Food eaten, a milestone passed.
    Eat,
    /// A crash.
    Hit,
    /// A gift from the audience.
    Gift,
}

impl Sounds {
    fn load() -> Self {
        Self {
            eat: load_sound("eat.wav"),
            hit: load_sound("hit.wav"),
            gift: load_sound("gift.wav"),
        }
    }
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

/// `--duration`: how long the game runs.
#[derive(Resource)]
struct ExitAfter(Duration);

fn exit_after(
    limit: Res<ExitAfter>,
    time: Res<Time<Real>>,
    frames: Res<FrameCount>,
    live: Res<LiveStream>,
    frame_log: Option<ResMut<FrameLog>>,
    mut exit: MessageWriter<AppExit>,
) {
    let elapsed = time.elapsed();
    if elapsed >= limit.0 {
        let secs = elapsed.as_secs_f64();
        info!(
            "--duration reached: {} frames in {secs:.1} s ({:.1} fps); exiting",
            frames.0,
            f64::from(frames.0) / secs.max(1e-3)
        );
        if let Some(mut log) = frame_log {
            let s = &live.stats;
            log.0.write(format_args!(
                "# stats {{\"frames\":{},\"frames_captured\":{},\"frames_sent\":{},\"frames_skipped\":{},\"frames_dropped\":{},\"video_bytes\":{},\"audio_chunks_sent\":{},\"audio_frames_dropped\":{}}}",
                frames.0,
                s.frames_captured,
                s.frames_sent,
                s.frames_skipped,
                s.frames_dropped,
                s.video_bytes,
                s.audio_chunks_sent,
                s.audio_frames_dropped
            ));
        }
        exit.write(AppExit::Success);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_stays_in_bounds_and_varies() {
        let mut rng = Rng::new(0);
        let mut seen = [false; 7];
        for _ in 0..10_000 {
            let n = rng.below(7);
            assert!(n < 7);
            seen[n] = true;
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
        assert!(seen.iter().all(|s| *s), "every value of 0..7 comes up");
        assert_eq!(rng.below(0), 0);
        assert_eq!(Rng::new(42).below(1000), Rng::new(42).below(1000));
    }

    #[test]
    fn vote_window_picks_the_strict_majority() {
        let mut tally = VoteTally::new(10.0);
        assert_eq!(tally.close_if_due(100.0), None, "no votes, no window");
        tally.cast('a', 1.0);
        tally.cast('b', 2.0);
        tally.cast('a', 9.0);
        assert_eq!((tally.count('a'), tally.count('b')), (2, 1));
        assert_eq!(tally.close_if_due(10.5), None, "open for 10 s");
        assert_eq!(tally.close_if_due(11.0), Some('a'));
        assert_eq!(tally.count('a'), 0, "a new window starts empty");
        tally.cast('a', 20.0);
        tally.cast('b', 21.0);
        assert_eq!(tally.close_if_due(31.0), None, "a tie wins nothing");
        assert_eq!(tally.close_if_due(50.0), None);
    }

    #[test]
    fn attract_mode_until_a_key_then_again_when_idle() {
        let mut pilot = Pilot::default();
        assert!(pilot.autopilot(0.0));
        pilot.key_pressed(5.0);
        assert!(!pilot.autopilot(5.0 + IDLE_SECS - 1.0));
        assert!(pilot.autopilot(5.0 + IDLE_SECS + 1.0));
    }

    #[test]
    fn a_missing_sound_is_silent() {
        assert!(load_sound("no-such-sound.wav").is_none());
        assert!(
            load_sound("eat.wav").is_some(),
            "assets/sounds/eat.wav is found"
        );
    }

    #[test]
    fn command_line_values() {
        assert_eq!(parse_size("320x180"), Ok(UVec2::new(320, 180)));
        assert!(parse_size("320").is_err());
        assert!(parse_size("0x10").is_err());
        assert!(parse_fps("0").is_err());
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("-1").is_err());
        let words: Vec<_> = chat_words("  !Spawn LEFT ").collect();
        assert_eq!(words, ["spawn", "left"]);
    }
}
