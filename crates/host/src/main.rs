//! `livestream-host`: run the host, or control a running one with `ctl`.

use std::path::PathBuf;
use std::process::ExitCode;

use bevy::app::AppExit;
use clap::{Parser, Subcommand};
use livestream_control::{CtlReply, CtlRequest};
use livestream_host::ctl::{call, ctl_socket_path};
use livestream_host::settings::{HostSettings, INSECURE_TLS_ENV};
use livestream_ipc::resolve_socket_path;
use livestream_media::TlsTrust;
use tracing::warn;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "The live streaming process of bevy_livestream.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Run without the dashboard window (also the case when no X11 or Wayland display is set).
    #[arg(long)]
    headless: bool,
    /// RON file with host settings (default: the user's own host.ron in the
    /// platform's config directory); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Game socket (default: the `LIVESTREAM_SOCKET` variable, then the per-user default).
    #[arg(long)]
    socket: Option<PathBuf>,
    #[arg(
        long = "output",
        help = "Output: rtmp://…, srt://… or file:PATH.flv|.mp4|.mkv (repeatable; none given and none in the config: record each session to the videos directory). A URL with a stream key belongs in the LIVESTREAM_OUTPUTS variable (one output a line; added to these) or in host.ron, not here: other users can read a process's arguments"
    )]
    outputs: Vec<String>,
    /// Output size as width x height, e.g. 1280x720.
    #[arg(long, value_parser = livestream_protocol::parse_frame_size)]
    size: Option<(u32, u32)>,
    /// Output frames per second.
    #[arg(long)]
    fps: Option<u32>,
    /// Video bitrate in kbit/s.
    #[arg(long)]
    bitrate: Option<u32>,
    /// x264 speed preset (ultrafast … medium).
    #[arg(long)]
    preset: Option<String>,
    /// Microphone when the player streams it: auto, none, pulse:SOURCE, test-tone or FILE.wav.
    #[arg(long)]
    mic: Option<String>,
    /// Audience source: ws[s]://HOST:PORT/rooms/NAME/ws (the room on several clustered servers: their feeds comma-separated, read one at a time) or irc[s]://HOST:PORT/#CHANNEL (repeatable; wss and ircs speak TLS).
    #[arg(long = "interaction")]
    interaction: Vec<String>,
    /// A PEM file of certificate authorities TLS audience sources trust besides the system's (a self-hosted server's own authority).
    #[arg(long = "interaction-ca")]
    interaction_ca: Option<PathBuf>,
    /// Start a game as a child (repeatable).
    #[arg(long = "launch")]
    launch: Vec<PathBuf>,
    /// Go live at once (microphone off) instead of waiting for a game or `ctl go-live`.
    #[arg(long)]
    go_live: bool,
    /// Keep running after the last game has gone.
    #[arg(long)]
    stay: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Control a running host.
    Ctl {
        /// The host's game socket (its control socket sits next to it).
        #[arg(long)]
        socket: Option<PathBuf>,
        #[command(subcommand)]
        request: CtlRequest,
    },
}

/// Outputs, one a line, added to `--output`: where a stream key goes rather
/// than the command line, which every user of the machine can read.
const OUTPUTS_ENV: &str = "LIVESTREAM_OUTPUTS";

fn settings(args: RunArgs) -> Result<HostSettings, String> {
    let mut settings = match &args.config {
        Some(path) => HostSettings::load(path).map_err(|e| e.to_string())?,
        None => HostSettings::load_user().map_err(|e| e.to_string())?,
    };
    if args.socket.is_some() {
        settings.socket = args.socket;
    }
    let mut outputs = args.outputs;
    if let Ok(listed) = std::env::var(OUTPUTS_ENV) {
        outputs.extend(
            listed
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned),
        );
    }
    if !outputs.is_empty() {
        settings.outputs = outputs;
    }
    if let Some((w, h)) = args.size {
        (settings.width, settings.height) = (w, h);
    }
    if let Some(fps) = args.fps {
        settings.fps = fps;
    }
    if let Some(kbps) = args.bitrate {
        settings.bitrate_kbps = kbps;
    }
    if let Some(preset) = args.preset {
        settings.x264_preset = preset;
    }
    if let Some(mic) = args.mic {
        settings.mic = mic;
    }
    settings.launch.extend(args.launch);
    settings.interaction.extend(args.interaction);
    if args.interaction_ca.is_some() {
        settings.interaction_ca = args.interaction_ca;
    }
    settings.go_live_on_start |= args.go_live;
    if args.stay {
        settings.exit_when_empty = false;
    }
    match std::env::var(INSECURE_TLS_ENV).as_deref() {
        Ok("any-authority") => {
            warn!(
                "{INSECURE_TLS_ENV}=any-authority: rtmps:// servers are not checked against trusted authorities (tests only)"
            );
            settings.tls_trust = TlsTrust::AnyAuthorityInsecure;
        }
        Ok(other) => {
            return Err(format!(
                "{INSECURE_TLS_ENV}={other:?}: the only value is any-authority"
            ));
        }
        Err(_) => {}
    }
    Ok(settings)
}

fn run_ctl(socket: Option<PathBuf>, request: CtlRequest) -> ExitCode {
    let socket = resolve_socket_path(socket.as_deref());
    let printed = match call(&ctl_socket_path(&socket), &request) {
        Ok(CtlReply::Done) => Ok(None),
        Ok(CtlReply::Status(status)) => serde_json::to_string_pretty(&status).map(Some),
        Ok(CtlReply::Posted { id }) => {
            serde_json::to_string_pretty(&serde_json::json!({ "id": id })).map(Some)
        }
        Ok(CtlReply::Error { message }) => {
            eprintln!("livestream-host ctl: {message}");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("livestream-host ctl: {err}");
            return ExitCode::FAILURE;
        }
    };
    match printed {
        Ok(text) => {
            use std::io::Write as _;
            let written = text.map_or(Ok(()), |text| writeln!(std::io::stdout().lock(), "{text}"));
            match written {
                // A reader that stops early (`ctl status | grep -q …`) is not an error.
                Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("livestream-host ctl: cannot print the answer: {err}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(err) => {
            eprintln!("livestream-host ctl: {err}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(Command::Ctl { socket, request }) = cli.command {
        return run_ctl(socket, request);
    }
    let windowed = !cli.run.headless && livestream_host::display_available();
    let settings = match settings(cli.run) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("livestream-host: {err}");
            return ExitCode::from(2);
        }
    };
    let exit = if windowed {
        livestream_host::run_with_dashboard(settings)
    } else {
        livestream_host::build_app(settings).map(|mut app| app.run())
    };
    match exit {
        Ok(AppExit::Success) => ExitCode::SUCCESS,
        Ok(AppExit::Error(code)) => ExitCode::from(code.get()),
        Err(err) => {
            eprintln!("livestream-host: {err}");
            ExitCode::from(2)
        }
    }
}
