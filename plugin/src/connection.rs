//! The link to `livestream-host`: a connector thread connects (and retries
//! with back-off, and starts a host on demand); systems in the game loop only
//! move messages between the link's queues and Bevy, so the game never waits
//! on the socket.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bevy::app::AppExit;
use bevy::prelude::*;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use livestream_ipc::{Connection, LinkConfig, LinkEvent, LinkToHost, connect};
use livestream_protocol::{Backoff, GameMessage, Hello, HostMessage, MicChoice, StreamDestination};
use tracing::{debug, info, warn};

use crate::LiveStreamSettings;
use crate::display::DisplayTracker;
use crate::host_process::StartedHost;
use crate::route::MediaRoute;
use crate::state::{
    AudienceMessage, DisplayChanged, HostConnection, LiveStream, LiveStreamRequest,
    StreamStateChanged,
};

/// How long the handshake may take before the connector tries again.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a host started on demand may take to answer before the player is told.
const HOST_START_LIMIT: Duration = Duration::from_secs(10);
/// How long the game waits, at exit, for its goodbye to reach the host.
const GOODBYE_FLUSH: Duration = Duration::from_millis(100);

/// The host binary to start on demand: the configured one, else
/// `livestream-host` next to the game's executable, else from `PATH`.
pub(crate) fn host_binary(configured: Option<&Path>, game_exe: Option<&Path>) -> PathBuf {
    let name = format!("livestream-host{}", std::env::consts::EXE_SUFFIX);
    configured
        .map(Path::to_path_buf)
        .or_else(|| {
            game_exe
                .and_then(Path::parent)
                .map(|dir| dir.join(&name))
                .filter(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(name))
}

enum ConnectorCommand {
    /// The link closed: connect again.
    Reconnect,
    /// Start a host (unless ours still runs) and connect to it.
    StartHost,
    /// Drop a closed link here, where joining its threads cannot stall a frame.
    Retire(Box<LinkToHost>),
}

enum ConnectorEvent {
    Connected(Box<Connection>),
    StartingHost,
    /// The host could not be started, or stopped before the game connected,
    /// or does not answer: why, for the player.
    HostFailed(String),
}

/// The channels to the connector thread; dropping them ends the thread (it is
/// not joined: it may be inside a connect attempt, at most the handshake timeout).
pub(crate) struct Connector {
    commands: Sender<ConnectorCommand>,
    events: Receiver<ConnectorEvent>,
}

struct ConnectorThread {
    socket: PathBuf,
    hello: Hello,
    host_binary: PathBuf,
    events: Sender<ConnectorEvent>,
    host: Option<StartedHost>,
    connected: bool,
}

impl Connector {
    /// Starts connecting to the host at `socket` in the background.
    pub fn spawn(socket: PathBuf, hello: Hello, host_binary: PathBuf) -> Self {
        let (commands, command_rx) = crossbeam_channel::unbounded();
        let (event_tx, events) = crossbeam_channel::unbounded();
        let span = tracing::info_span!("host_link", game = %hello.game_name);
        let worker = ConnectorThread {
            socket,
            hello,
            host_binary,
            events: event_tx,
            host: None,
            connected: false,
        };
        std::thread::Builder::new()
            .name("livestream-connect".into())
            .spawn(move || {
                let _span = span.entered();
                worker.run(&command_rx);
            })
            .expect("spawning the connector thread");
        Self { commands, events }
    }

    fn send(&self, command: ConnectorCommand) {
        // The thread only ends when this handle is dropped.
        let _ = self.commands.send(command);
    }
}

impl ConnectorThread {
    fn run(mut self, commands: &Receiver<ConnectorCommand>) {
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
        let mut wanted = true;
        loop {
            if wanted {
                match connect(
                    &self.socket,
                    self.hello.clone(),
                    &LinkConfig::default(),
                    HANDSHAKE_TIMEOUT,
                ) {
                    Ok(connection) => {
                        info!(game_id = connection.game_id, "connected to the host");
                        wanted = false;
                        self.connected = true;
                        backoff.reset();
                        if self
                            .events
                            .send(ConnectorEvent::Connected(Box::new(connection)))
                            .is_err()
                        {
                            return;
                        }
                    }
                    Err(err) if err.is_transient() => debug!("no host yet: {err}"),
                    Err(err) => {
                        // Not "no host yet": the player reads why (an unsafe
                        // socket, another user's host, a refusal).
                        let message = format!("cannot connect to the stream host: {err}");
                        warn!("{message}");
                        if self
                            .events
                            .send(ConnectorEvent::HostFailed(message))
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
            let wait = if wanted {
                backoff.next_delay()
            } else {
                Duration::from_secs(1)
            };
            match commands.recv_timeout(wait) {
                Ok(ConnectorCommand::Reconnect) => {
                    wanted = true;
                    self.connected = false;
                    backoff.reset();
                }
                Ok(ConnectorCommand::StartHost) => {
                    self.start_host();
                    wanted = true;
                    backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));
                }
                Ok(ConnectorCommand::Retire(link)) => drop(link),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            self.reap_host();
        }
    }

    fn start_host(&mut self) {
        self.reap_host();
        if self.host.is_some() {
            return;
        }
        let event = match StartedHost::spawn(&self.host_binary, &self.socket) {
            Ok(host) => {
                info!(pid = host.id(), binary = %self.host_binary.display(), "started a host");
                self.host = Some(host);
                ConnectorEvent::StartingHost
            }
            Err(err) => {
                let message = if err.kind() == std::io::ErrorKind::NotFound {
                    format!(
                        "the stream host is not installed: {} was not found (install livestream-host beside the game or on PATH)",
                        self.host_binary.display()
                    )
                } else {
                    format!(
                        "cannot start the stream host {}: {err}",
                        self.host_binary.display()
                    )
                };
                warn!("{message}");
                ConnectorEvent::HostFailed(message)
            }
        };
        let _ = self.events.send(event);
    }

    /// Notices the host we started exiting (telling the player why when the
    /// game never got to talk to it), or not answering in time.
    fn reap_host(&mut self) {
        let Some(host) = &mut self.host else {
            return;
        };
        if let Some(reason) = host.exited() {
            info!("{reason}");
            self.host = None;
            if !self.connected {
                let _ = self.events.send(ConnectorEvent::HostFailed(reason));
            }
        } else if !self.connected && host.late(HOST_START_LIMIT) {
            let message = format!(
                "the stream host does not answer after {} s",
                HOST_START_LIMIT.as_secs()
            );
            warn!("{message}");
            let _ = self.events.send(ConnectorEvent::HostFailed(message));
        }
    }
}

/// The game's session with the host.
#[derive(Resource)]
pub(crate) struct HostSession {
    connector: Connector,
    link: Option<LinkToHost>,
    start_host_on_demand: bool,
    /// A go-live asked for while no host was connected; sent on connect.
    pending_go_live: Option<MicChoice>,
    /// A destination chosen while no host was connected; sent on connect,
    /// before the go-live.
    pending_destination: Option<(StreamDestination, bool)>,
}

impl HostSession {
    /// Starts the connector for `settings`.
    pub fn start(settings: &LiveStreamSettings, hello: Hello) -> Self {
        let socket = livestream_ipc::resolve_socket_path(settings.socket.as_deref());
        let exe = std::env::current_exe().ok();
        let binary = host_binary(settings.host_binary.as_deref(), exe.as_deref());
        Self {
            connector: Connector::spawn(socket, hello, binary),
            link: None,
            start_host_on_demand: settings.start_host_on_demand,
            pending_go_live: None,
            pending_destination: None,
        }
    }

    fn send(&self, message: GameMessage) {
        if let Some(link) = &self.link
            && let Err(err) = link.outbox().send(message)
        {
            warn!("cannot queue a message for the host: {err}");
        }
    }
}

/// Takes new connections from the connector.
pub(crate) fn accept_connection(
    mut session: ResMut<HostSession>,
    mut live: ResMut<LiveStream>,
    route: Res<MediaRoute>,
    display: Res<DisplayTracker>,
) {
    while let Ok(event) = session.connector.events.try_recv() {
        match event {
            ConnectorEvent::Connected(connection) => {
                let Connection { game_id, link, .. } = *connection;
                route.publish(Some(link.outbox()));
                session.link = Some(link);
                live.connection = HostConnection::Connected { game_id };
                live.last_error = None;
                session.send(GameMessage::Display(display.report()));
                if let Some((destination, remember)) = session.pending_destination.take() {
                    session.send(GameMessage::ChooseDestination {
                        destination,
                        remember,
                    });
                }
                if let Some(mic) = session.pending_go_live.take() {
                    session.send(GameMessage::GoLive { mic });
                }
            }
            ConnectorEvent::StartingHost => live.connection = HostConnection::StartingHost,
            ConnectorEvent::HostFailed(message) => {
                session.pending_go_live = None;
                live.connection = HostConnection::Disconnected;
                live.last_error = Some(message);
            }
        }
    }
}

/// Applies what the host sent; notices a closed link.
pub(crate) fn receive_from_host(
    mut session: ResMut<HostSession>,
    mut live: ResMut<LiveStream>,
    route: Res<MediaRoute>,
    mut display: ResMut<DisplayTracker>,
    mut audience: MessageWriter<AudienceMessage>,
    mut states: MessageWriter<StreamStateChanged>,
    mut display_changes: MessageWriter<DisplayChanged>,
) {
    let Some(link) = &session.link else {
        return;
    };
    let mut closed = None;
    let mut pongs = Vec::new();
    for event in link.drain() {
        let message = match event {
            LinkEvent::Message(envelope) => envelope.message,
            LinkEvent::Closed(reason) => {
                closed = Some(reason);
                break;
            }
        };
        match message {
            HostMessage::StreamState(state) => {
                live.stream = Some(state.clone());
                states.write(StreamStateChanged(state));
            }
            HostMessage::Media(request) => {
                live.media = (request.video || request.audio).then_some(request);
            }
            HostMessage::Audience(event) => {
                live.stats.audience_events += 1;
                audience.write(AudienceMessage {
                    event,
                    from_backlog: false,
                });
            }
            HostMessage::Backlog { events, .. } => {
                live.stats.audience_events += events.len() as u64;
                audience.write_batch(events.into_iter().map(|event| AudienceMessage {
                    event,
                    from_backlog: true,
                }));
            }
            HostMessage::SetVisibility(visibility) => {
                if let Some(change) = display.apply_host(visibility) {
                    display_changes.write(change);
                }
            }
            HostMessage::Ping { nonce } => pongs.push(nonce),
            HostMessage::Handshake(_) => warn!("the host sent a second handshake; ignored"),
        }
    }
    for nonce in pongs {
        session.send(GameMessage::Pong { nonce });
    }
    if let Some(reason) = closed {
        warn!("lost the host: {reason}; reconnecting");
        route.publish(None);
        live.connection = HostConnection::Disconnected;
        live.media = None;
        live.stream = None;
        if let Some(link) = session.link.take() {
            session
                .connector
                .send(ConnectorCommand::Retire(Box::new(link)));
        }
        session.connector.send(ConnectorCommand::Reconnect);
    }
}

/// Sends the player's go-live and stop requests (starting a host if needed).
pub(crate) fn send_requests(
    mut requests: MessageReader<LiveStreamRequest>,
    mut session: ResMut<HostSession>,
) {
    for request in requests.read() {
        match (request.clone(), session.link.is_some()) {
            (
                LiveStreamRequest::ChooseDestination {
                    destination,
                    remember,
                },
                true,
            ) => session.send(GameMessage::ChooseDestination {
                destination,
                remember,
            }),
            (
                LiveStreamRequest::ChooseDestination {
                    destination,
                    remember,
                },
                false,
            ) => session.pending_destination = Some((destination, remember)),
            (LiveStreamRequest::GoLive { mic }, true) => session.send(GameMessage::GoLive { mic }),
            (LiveStreamRequest::GoLive { mic }, false) => {
                if session.start_host_on_demand {
                    session.pending_go_live = Some(mic);
                    session.connector.send(ConnectorCommand::StartHost);
                } else {
                    warn!("go-live asked for, but no host runs and starting one is disabled");
                }
            }
            (LiveStreamRequest::Stop, true) => session.send(GameMessage::StopStream),
            (LiveStreamRequest::Stop, false) => session.pending_go_live = None,
        }
    }
}

/// Tells the host about every display change, in order.
pub(crate) fn report_display(
    mut changes: MessageReader<DisplayChanged>,
    session: Res<HostSession>,
) {
    for change in changes.read() {
        session.send(GameMessage::Display(change.report()));
    }
}

/// Says goodbye to the host when the game exits.
pub(crate) fn say_goodbye(mut exits: MessageReader<AppExit>, mut session: ResMut<HostSession>) {
    if exits.read().next().is_none() {
        return;
    }
    if let Some(link) = session.link.take() {
        let _ = link.outbox().send(GameMessage::Goodbye {
            reason: "game closing".into(),
        });
        link.flush(GOODBYE_FLUSH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_binary_prefers_config_then_neighbour_then_path() {
        let dir = tempfile::tempdir().unwrap();
        let game = dir.path().join("game");
        let name = format!("livestream-host{}", std::env::consts::EXE_SUFFIX);
        assert_eq!(
            host_binary(Some(Path::new("/opt/host")), Some(&game)),
            PathBuf::from("/opt/host")
        );
        assert_eq!(host_binary(None, Some(&game)), PathBuf::from(&name));
        std::fs::write(dir.path().join(&name), b"").unwrap();
        assert_eq!(host_binary(None, Some(&game)), dir.path().join(&name));
    }
}
