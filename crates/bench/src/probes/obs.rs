//! OBS Studio as a streamer runs it, configured from files this module
//! writes into a private home (a profile, a scene collection, the global
//! settings), started from the command line, and read through its built-in
//! obs-websocket (v5, JSON, password authentication).
//!
//! Its scene captures the screen (`xshm_input`) and the game's sound sink's
//! monitor (`pulse_output_capture`). Window capture (`xcomposite_input`) is
//! what a streamer would pick, but OBS 29 draws with EGL and imports the
//! window's pixmap as an `EGLImage`, which Mesa's software renderer on Xvfb
//! refuses (`Cannot create EGLImage: One or more argument values are
//! invalid`): it streams black here. The game's window fills the screen, so
//! screen capture takes the same picture while the window is on top.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use livestream_e2e::log;
use livestream_testkit::{PulseMic, Reaped, free_port, wait_for};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The profile and scene collection's name.
const NAME: &str = "Bench";
/// OBS 29.0.2's version number (`LastVersion`), so it shows no "what's new".
const OBS_29_0_2: u32 = (29 << 24) | 2;

/// How OBS should stream: the same settings as the other ways.
pub struct ObsSettings<'a> {
    /// Canvas and output size.
    pub width: u32,
    /// Canvas and output size.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// x264 preset.
    pub preset: &'a str,
    /// Video bitrate, kbit/s.
    pub video_kbps: u32,
    /// AAC bitrate, kbit/s.
    pub audio_kbps: u32,
    /// Keyframe interval, seconds.
    pub keyframe_seconds: u32,
    /// The whole RTMP URL, `rtmp://HOST:PORT/APP/KEY`.
    pub rtmp_url: &'a str,
    /// The PulseAudio source whose sound OBS streams.
    pub audio_source: &'a str,
}

/// A running OBS Studio, streaming; stopped by pid when dropped.
pub struct ObsStudio {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    requests: u64,
    process: Reaped,
}

impl ObsStudio {
    /// Writes the configuration into `dir/home`, starts OBS on `display`
    /// with `pulse` as its sound server, and waits until it streams.
    pub fn start(dir: &Path, display: &str, pulse: &PulseMic, settings: &ObsSettings) -> Self {
        let home = dir.join("home");
        let port = free_port();
        let password = random_password();
        write_config(&home, port, &password, settings).expect("OBS configuration");
        let tmp = home.join("tmp");
        std::fs::create_dir_all(&tmp).expect("OBS temp dir");
        let process = Reaped::spawn(
            pulse
                .client("obs")
                .args([
                    "--multi",
                    "--disable-missing-files-check",
                    "--startstreaming",
                ])
                .args(["--profile", NAME, "--collection", NAME])
                .env("DISPLAY", display)
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env("TMPDIR", &tmp)
                .stdin(Stdio::null())
                .stdout(log(dir, "obs"))
                .stderr(log(dir, "obs-stderr")),
        );
        let mut socket = None;
        wait_for("obs-websocket", Duration::from_secs(60), || {
            socket = connect(port, &password).ok();
            socket.is_some()
        });
        let mut obs = Self {
            socket: socket.expect("connected"),
            requests: 0,
            process,
        };
        wait_for("OBS streaming", Duration::from_secs(30), || {
            obs.request("GetStreamStatus")["outputActive"] == json!(true)
        });
        obs
    }

    /// Its pid (OBS captures, composes and encodes in this one process).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// `GetStats`: OBS's own frame rate, render and output frame counters, CPU use.
    pub fn stats(&mut self) -> Value {
        self.request("GetStats")
    }

    /// `GetStreamStatus`: the stream's skipped and total frames, bytes.
    pub fn stream_status(&mut self) -> Value {
        self.request("GetStreamStatus")
    }

    /// Sends request `kind` and returns its `responseData`.
    fn request(&mut self, kind: &str) -> Value {
        self.requests += 1;
        let id = self.requests.to_string();
        let request = json!({"op": 6, "d": {"requestType": kind, "requestId": id}});
        self.socket
            .send(Message::text(request.to_string()))
            .expect("obs-websocket request");
        loop {
            let reply = read_json(&mut self.socket).expect("obs-websocket reply");
            if reply["op"] == json!(7) && reply["d"]["requestId"] == json!(id) {
                let status = &reply["d"]["requestStatus"];
                assert_eq!(status["result"], json!(true), "OBS {kind}: {status}");
                return reply["d"]["responseData"].clone();
            }
        }
    }
}

/// Connects to obs-websocket on `port` and identifies with `password`.
fn connect(port: u16, password: &str) -> Result<WebSocket<MaybeTlsStream<TcpStream>>, String> {
    let (mut socket, _) =
        tungstenite::connect(format!("ws://127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    let hello = read_json(&mut socket)?;
    let mut identify = json!({"rpcVersion": 1, "eventSubscriptions": 0});
    if let Some(auth) = hello["d"].get("authentication") {
        let salt = auth["salt"].as_str().unwrap_or_default();
        let challenge = auth["challenge"].as_str().unwrap_or_default();
        identify["authentication"] = json!(authentication(password, salt, challenge));
    }
    socket
        .send(Message::text(json!({"op": 1, "d": identify}).to_string()))
        .map_err(|e| e.to_string())?;
    let identified = read_json(&mut socket)?;
    if identified["op"] != json!(2) {
        return Err(format!("not identified: {identified}"));
    }
    Ok(socket)
}

/// obs-websocket 5's answer to its challenge:
/// `base64(sha256(base64(sha256(password + salt)) + challenge))`.
fn authentication(password: &str, salt: &str, challenge: &str) -> String {
    let secret = BASE64.encode(Sha256::digest(format!("{password}{salt}")));
    BASE64.encode(Sha256::digest(format!("{secret}{challenge}")))
}

/// The next text message, as JSON.
fn read_json(socket: &mut WebSocket<MaybeTlsStream<TcpStream>>) -> Result<Value, String> {
    loop {
        match socket.read().map_err(|e| e.to_string())? {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str()).map_err(|e| e.to_string());
            }
            Message::Close(frame) => return Err(format!("closed: {frame:?}")),
            _ => {}
        }
    }
}

/// 32 random hex digits: obs-websocket's password for this run.
fn random_password() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("random password");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes OBS's configuration under `home/.config/obs-studio`: global
/// settings (no first-run wizard, obs-websocket on `port` with `password`),
/// the profile (video, audio, the x264 and AAC encoders, the RTMP service)
/// and the scene collection (the screen and the sound source).
fn write_config(
    home: &Path,
    port: u16,
    password: &str,
    settings: &ObsSettings,
) -> std::io::Result<()> {
    let root = home.join(".config/obs-studio");
    let profile = root.join("basic/profiles").join(NAME);
    let scenes = root.join("basic/scenes");
    std::fs::create_dir_all(&profile)?;
    std::fs::create_dir_all(&scenes)?;
    std::fs::write(root.join("global.ini"), global_ini(port, password))?;
    std::fs::write(profile.join("basic.ini"), basic_ini(settings))?;
    let (server, key) = settings
        .rtmp_url
        .rsplit_once('/')
        .expect("RTMP URL ends with /KEY");
    let service = json!({"type": "rtmp_custom", "settings": {"server": server, "key": key, "use_auth": false}});
    std::fs::write(profile.join("service.json"), service.to_string())?;
    let encoder = json!({
        "rate_control": "CBR",
        "bitrate": settings.video_kbps,
        "keyint_sec": settings.keyframe_seconds,
        "preset": settings.preset,
        "tune": "zerolatency",
        "profile": "",
        "x264opts": "",
    });
    std::fs::write(profile.join("streamEncoder.json"), encoder.to_string())?;
    let collection = scene_collection(settings.audio_source);
    std::fs::write(scenes.join(format!("{NAME}.json")), collection.to_string())
}

fn global_ini(port: u16, password: &str) -> String {
    format!(
        "[General]\nFirstRun=true\nLastVersion={OBS_29_0_2}\nEnableAutoUpdates=false\n\
         ConfirmOnExit=false\n\n\
         [BasicWindow]\nSysTrayEnabled=false\nWarnBeforeStartingStream=false\n\
         WarnBeforeStoppingStream=false\n\n\
         [OBSWebSocket]\nFirstLoad=false\nServerEnabled=true\nServerPort={port}\n\
         AlertsEnabled=false\nAuthRequired=true\nServerPassword={password}\n"
    )
}

fn basic_ini(s: &ObsSettings) -> String {
    format!(
        "[General]\nName={NAME}\n\n\
         [Video]\nBaseCX={w}\nBaseCY={h}\nOutputCX={w}\nOutputCY={h}\nFPSType=1\nFPSInt={fps}\n\
         ScaleType=bicubic\nColorFormat=NV12\nColorSpace=709\nColorRange=Partial\n\n\
         [Audio]\nSampleRate=48000\nChannelSetup=Stereo\nDesktopDevice1=disabled\n\
         DesktopDevice2=disabled\nAuxDevice1=disabled\n\n\
         [Output]\nMode=Advanced\n\n\
         [AdvOut]\nEncoder=obs_x264\nTrackIndex=1\nApplyServiceSettings=false\n\
         Track1Bitrate={audio}\n",
        w = s.width,
        h = s.height,
        fps = s.fps,
        audio = s.audio_kbps,
    )
}

/// One scene: the screen, and the sound of `audio_source` (a PulseAudio
/// sink's monitor), as the streamer would add them.
fn scene_collection(audio_source: &str) -> Value {
    let item = |id: u32, name: &str| {
        json!({
            "name": name, "id": id, "visible": true, "locked": false, "rot": 0.0,
            "pos": {"x": 0.0, "y": 0.0}, "scale": {"x": 1.0, "y": 1.0}, "align": 5,
            "bounds_type": 0, "bounds_align": 0, "bounds": {"x": 0.0, "y": 0.0},
            "crop_left": 0, "crop_top": 0, "crop_right": 0, "crop_bottom": 0,
        })
    };
    json!({
        "name": NAME,
        "current_scene": "Scene",
        "current_program_scene": "Scene",
        "scene_order": [{"name": "Scene"}],
        "sources": [
            {
                "id": "scene", "versioned_id": "scene", "name": "Scene",
                "settings": {"id_counter": 2, "custom_size": false,
                             "items": [item(1, "Game"), item(2, "Game sound")]},
            },
            {
                "id": "xshm_input", "versioned_id": "xshm_input", "name": "Game",
                "settings": {"screen": 0, "show_cursor": false},
            },
            {
                "id": "pulse_output_capture", "versioned_id": "pulse_output_capture",
                "name": "Game sound", "settings": {"device_id": audio_source},
            },
        ],
    })
}

/// Whether OBS Studio is installed: `obs` is on `PATH` and answers
/// `--version` (it needs no display for that).
pub fn installed() -> bool {
    Command::new("obs")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_answered_as_obs_websocket_documents() {
        // The example of obs-websocket's protocol.md: password "supersecretpassword".
        assert_eq!(
            authentication(
                "supersecretpassword",
                "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI=",
                "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY="
            ),
            "1Ct943GAT+6YQUUX47Ia/ncufilbe6+oD6lY+5kaCu4="
        );
    }

    #[test]
    fn the_profile_streams_with_the_settings_given() {
        let dir = tempfile::tempdir().unwrap();
        let settings = ObsSettings {
            width: 640,
            height: 360,
            fps: 30,
            preset: "veryfast",
            video_kbps: 2500,
            audio_kbps: 128,
            keyframe_seconds: 2,
            rtmp_url: "rtmp://127.0.0.1:1935/live/bench",
            audio_source: "game_sound.monitor",
        };
        write_config(dir.path(), 4455, "pw", &settings).unwrap();
        let profile = dir.path().join(".config/obs-studio/basic/profiles/Bench");
        let service: Value =
            serde_json::from_slice(&std::fs::read(profile.join("service.json")).unwrap()).unwrap();
        assert_eq!(service["settings"]["server"], "rtmp://127.0.0.1:1935/live");
        assert_eq!(service["settings"]["key"], "bench");
        let basic = std::fs::read_to_string(profile.join("basic.ini")).unwrap();
        assert!(basic.contains("OutputCX=640\nOutputCY=360\nFPSType=1\nFPSInt=30\n"));
        let encoder: Value =
            serde_json::from_slice(&std::fs::read(profile.join("streamEncoder.json")).unwrap())
                .unwrap();
        assert_eq!(encoder["preset"], "veryfast");
        assert_eq!(encoder["bitrate"], 2500);
        let collection: Value = serde_json::from_slice(
            &std::fs::read(
                dir.path()
                    .join(".config/obs-studio/basic/scenes/Bench.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            collection["sources"][2]["settings"]["device_id"],
            "game_sound.monitor"
        );
    }
}
