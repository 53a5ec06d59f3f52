//! `livestream-room`: command line, logging and signals around
//! [`livestream_room::serve`].

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use livestream_room::{Config, ModToken, Rate};
use tokio::signal::unix::{SignalKind, signal};
use tracing::error;
use tracing_subscriber::EnvFilter;

/// A small self-hostable audience room server: viewers chat, send gifts and
/// likes at /rooms/NAME; livestream-host follows /rooms/NAME/ws.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Events kept per room for replay.
    #[arg(long, default_value_t = 500)]
    history: usize,
    /// Moderator token (`Authorization: Bearer TOKEN`); without one,
    /// moderation is refused.
    #[arg(long, env = "LIVESTREAM_ROOM_MOD_TOKEN", hide_env_values = true)]
    mod_token: Option<String>,
    /// The origin viewers' pages come from when the server sits behind a
    /// proxy (`https://chat.example`); other sites' pages are refused.
    /// Default: the address the server is reached at.
    #[arg(long)]
    public_origin: Option<String>,
    /// Posts per second allowed per viewer and per client address, on average.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Posts allowed at once before the rate applies.
    #[arg(long, default_value_t = 5)]
    burst: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let rate = Rate::new(cli.rate, cli.burst)
        .ok_or("--rate must be a positive number and --burst at least 1")?;
    let config = Config {
        history: cli.history,
        rate,
        mod_token: cli.mod_token.and_then(ModToken::new),
        public_origin: cli.public_origin,
    };
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|error| format!("cannot watch SIGTERM: {error}"))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|error| format!("cannot watch SIGINT: {error}"))?;
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", cli.listen))?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "livestream-room listening on http://{address}")
        .and_then(|()| stdout.flush())
        .map_err(|error| format!("cannot write to stdout: {error}"))?;
    drop(stdout);
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    };
    livestream_room::serve(listener, config, shutdown)
        .await
        .map_err(|error| format!("server failed: {error}"))
}
