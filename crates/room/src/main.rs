//! `livestream-room`: command line, logging and signals around
//! [`livestream_room::Server`].

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};
use livestream_room::{
    ClusterConfig, Config, ConnectionLimits, ModToken, Rate, RoomName, RoomPolicy, Server,
    read_secret_file, read_token_file,
};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, warn};
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
    /// Moderator token (`Authorization: Bearer TOKEN`), from the
    /// environment only: as an argument (refused) it would show to every
    /// user of the machine. Without one (or --mod-token-file), moderation
    /// is refused.
    #[arg(
        long,
        env = "LIVESTREAM_ROOM_MOD_TOKEN",
        hide_env_values = true,
        hide = true
    )]
    mod_token: Option<String>,
    /// A file (yours alone: chmod 600) whose first line is the moderator
    /// token (`Authorization: Bearer TOKEN`); it wins over the variable.
    #[arg(long, value_name = "FILE")]
    mod_token_file: Option<std::path::PathBuf>,
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
    /// A room that always exists (repeatable). Other rooms are made by their
    /// first post or feed, at most 10 at once and then one every 6 s per client.
    #[arg(long = "room", value_name = "NAME", value_parser = parse_room)]
    rooms: Vec<RoomName>,
    /// Serve only the rooms given with --room.
    #[arg(long, requires = "rooms")]
    only_listed_rooms: bool,
    /// Connections open at once, feeds included.
    #[arg(long, default_value_t = ConnectionLimits::default().max_connections)]
    max_connections: usize,
    /// Connections open at once from one client (an IPv4 address or an IPv6 /64).
    #[arg(long, default_value_t = ConnectionLimits::default().per_client)]
    max_connections_per_client: usize,
    /// A reverse proxy in front of the server (repeatable): its
    /// `Forwarded` / `X-Forwarded-For` headers name the client that limits
    /// apply to, and it has no per-client connection share.
    #[arg(long = "trusted-proxy", value_name = "ADDRESS")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Share rooms with every server given the same NATS servers
    /// (`nats://HOST:PORT`, comma-separated; JetStream enabled): a post on
    /// any of them reaches the viewers and hosts of all, and the history
    /// outlives restarts. Without it the server keeps its rooms to itself,
    /// in memory.
    #[arg(long, value_name = "URLS", value_delimiter = ',')]
    cluster: Vec<String>,
    /// Copies of the rooms' stream JetStream keeps: 3 on a NATS cluster of
    /// three servers or more, so one may fail with nothing lost.
    #[arg(long, default_value_t = 1, requires = "cluster")]
    cluster_replicas: usize,
    /// A file (yours alone: chmod 600) whose first line is the token the
    /// NATS servers ask clients for.
    #[arg(long, value_name = "FILE", requires = "cluster")]
    cluster_token_file: Option<std::path::PathBuf>,
    /// Seconds a request's headers may take to arrive.
    #[arg(long, default_value_t = ConnectionLimits::default().header_timeout.as_secs_f64())]
    header_timeout: f64,
}

fn parse_room(name: &str) -> Result<RoomName, String> {
    RoomName::parse(name).ok_or_else(|| {
        format!("{name:?}: room names are 1 to 64 ASCII letters, digits, '-' or '_'")
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let matches = Cli::command().get_matches();
    if matches.value_source("mod_token") == Some(ValueSource::CommandLine) {
        error!(
            "--mod-token on the command line is shown to every user of the machine: use --mod-token-file FILE or LIVESTREAM_ROOM_MOD_TOKEN"
        );
        return ExitCode::FAILURE;
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    match run(cli).await {
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
    let header_timeout = Duration::try_from_secs_f64(cli.header_timeout)
        .ok()
        .filter(|timeout| !timeout.is_zero())
        .ok_or("--header-timeout must be a positive number of seconds")?;
    let connections = ConnectionLimits {
        max_connections: cli.max_connections,
        per_client: cli.max_connections_per_client,
        header_timeout,
        ..ConnectionLimits::default()
    };
    allow_open_files(connections.max_connections)?;
    let mod_token = match &cli.mod_token_file {
        Some(path) => {
            let (token, warning) = read_token_file(path)?;
            if let Some(warning) = warning {
                warn!("{warning}");
            }
            Some(token)
        }
        None => cli.mod_token.and_then(ModToken::new),
    };
    let cluster = if cli.cluster.is_empty() {
        None
    } else {
        let token = match &cli.cluster_token_file {
            Some(path) => {
                let (token, warning) = read_secret_file(path, "NATS token")?;
                if let Some(warning) = warning {
                    warn!("{warning}");
                }
                Some(token)
            }
            None => None,
        };
        Some(ClusterConfig {
            servers: cli.cluster,
            replicas: cli.cluster_replicas,
            token,
        })
    };
    let config = Config {
        history: cli.history,
        rate,
        mod_token,
        public_origin: cli.public_origin,
        rooms: RoomPolicy {
            listed: cli.rooms,
            listed_only: cli.only_listed_rooms,
        },
        connections,
        trusted_proxies: cli.trusted_proxies,
        cluster,
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
    // Ready once the state is: in a cluster, joined and the history read.
    let server = Server::start(config)
        .await
        .map_err(|error| error.to_string())?;
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
    server.serve(listener, shutdown).await;
    Ok(())
}

/// Raises the open-file limit (to at most its hard limit) so that
/// `connections` sockets fit beside the server's own files; a soft limit of
/// 1,024 (many systems' default) would let a thousand half-open requests
/// refuse everyone else.
fn allow_open_files(connections: usize) -> Result<(), String> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    const OWN_FILES: u64 = 256;
    let wanted = connections as u64 + OWN_FILES;
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|error| format!("cannot read the open-file limit: {error}"))?;
    if soft >= wanted {
        return Ok(());
    }
    let raised = wanted.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, raised, hard)
        .map_err(|error| format!("cannot raise the open-file limit to {raised}: {error}"))?;
    if raised < wanted {
        tracing::warn!(
            limit = raised,
            wanted,
            "the open-file limit is below --max-connections; lower it or raise the hard limit"
        );
    }
    Ok(())
}
