//! Socket tests: real local sockets in a private temp dir, real threads.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use interprocess::local_socket::traits::Stream as _;
use interprocess::local_socket::{GenericFilePath, Stream, ToFsName};
use livestream_ipc::{
    ConnectError, Connected, LinkConfig, LinkEvent, LinkToHost, ReadError, Server, ServerConfig,
    ServerEvent, connect,
};
use livestream_protocol::{
    Capabilities, DecodeError, FramePrefix, GameMessage, Hello, HostMessage, MicChoice,
    PixelFormat, RefusalReason, VideoFrameHeader, Visibility, encode_frame,
};

const WAIT: Duration = Duration::from_secs(5);

fn hello(name: &str) -> Hello {
    Hello::new(
        name,
        std::process::id(),
        Capabilities {
            video_formats: vec![PixelFormat::I420],
            audio: None,
        },
    )
}

fn server(dir: &Path) -> Server {
    let mut config = ServerConfig::new(dir.join("sock/host.sock"));
    config.handshake_timeout = Duration::from_millis(500);
    config.link.poll_interval = Duration::from_millis(20);
    Server::bind(config).unwrap()
}

fn next_event(server: &Server) -> ServerEvent {
    server.events().recv_timeout(WAIT).expect("server event")
}

fn accepted(server: &Server) -> Box<Connected> {
    match next_event(server) {
        ServerEvent::Connected(connected) => connected,
        ServerEvent::Refused { peer, reason } => panic!("refused {peer}: {reason}"),
    }
}

fn game(server: &Server, name: &str) -> (LinkToHost, Box<Connected>) {
    let connection = connect(server.socket(), hello(name), &LinkConfig::default(), WAIT).unwrap();
    let connected = accepted(server);
    assert_eq!(connected.game_id, connection.game_id);
    (connection.link, connected)
}

fn raw_stream(path: &Path) -> Stream {
    Stream::connect(path.to_path_buf().to_fs_name::<GenericFilePath>().unwrap()).unwrap()
}

fn refused(server: &Server) -> (String, String) {
    match next_event(server) {
        ServerEvent::Refused { peer, reason } => (peer, reason),
        ServerEvent::Connected(c) => panic!("unexpectedly connected {}", c.hello.game_name),
    }
}

fn frame(n: u64) -> (GameMessage, Vec<u8>) {
    let header = VideoFrameHeader {
        frame_number: n,
        timestamp_ns: n * 1000,
        ..VideoFrameHeader::packed(PixelFormat::I420, 64, 32)
    };
    (
        GameMessage::VideoFrame(header),
        vec![n as u8; 64 * 32 * 3 / 2],
    )
}

fn message(link: &livestream_ipc::LinkToGame) -> GameMessage {
    match link.recv_timeout(WAIT) {
        Some(LinkEvent::Message(envelope)) => envelope.message,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn messages_and_frames_cross_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let (game_link, host_side) = game(&server, "snake");
    assert_eq!(host_side.hello.game_name, "snake");

    game_link
        .outbox()
        .send(GameMessage::GoLive { mic: MicChoice::On })
        .unwrap();
    let (video, pixels) = frame(7);
    game_link
        .outbox()
        .send_with_payload(video.clone(), pixels.clone())
        .unwrap();
    assert_eq!(
        message(&host_side.link),
        GameMessage::GoLive { mic: MicChoice::On }
    );
    match host_side.link.recv_timeout(WAIT) {
        Some(LinkEvent::Message(envelope)) => {
            assert_eq!(envelope.message, video);
            assert_eq!(&*envelope.payload, &pixels[..]);
        }
        other => panic!("expected the frame, got {other:?}"),
    }

    host_side
        .link
        .outbox()
        .send(HostMessage::SetVisibility(Visibility::Shown))
        .unwrap();
    match game_link.recv_timeout(WAIT) {
        Some(LinkEvent::Message(envelope)) => {
            assert_eq!(
                envelope.message,
                HostMessage::SetVisibility(Visibility::Shown)
            );
        }
        other => panic!("expected set-visibility, got {other:?}"),
    }

    // The game leaves: the host sees a clean close.
    drop(game_link);
    match host_side.link.recv_timeout(WAIT) {
        Some(LinkEvent::Closed(reason)) => {
            assert!(matches!(
                reason,
                livestream_ipc::CloseReason::Read(ReadError::Closed)
            ));
        }
        other => panic!("expected close, got {other:?}"),
    }
}

#[test]
fn version_mismatch_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let mut old = hello("old-game");
    old.protocol_version = 0;
    let err = connect(server.socket(), old, &LinkConfig::default(), WAIT).unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Refused(RefusalReason::VersionMismatch { game: 0, .. })
        ),
        "{err}"
    );
    let (_, reason) = refused(&server);
    assert!(reason.contains("version"), "{reason}");

    // A frame prefix of another version: the host answers with a refusal the
    // peer can read as "other version", instead of hanging.
    let mut stream = raw_stream(server.socket());
    let mut bytes = encode_frame(&GameMessage::Hello(hello("future")), &[]).unwrap();
    bytes[4..6].copy_from_slice(&9u16.to_le_bytes());
    stream.write_all(&bytes).unwrap();
    let (_, reason) = refused(&server);
    assert!(reason.contains("v9"), "{reason}");
}

#[test]
fn misbehaving_peers_are_dropped_and_others_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let (good, good_host) = game(&server, "good");

    // Garbage instead of a hello.
    let mut garbage = raw_stream(server.socket());
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let (_, reason) = refused(&server);
    assert!(reason.contains("magic"), "{reason}");

    // An oversize header.
    let mut oversize = raw_stream(server.socket());
    let mut prefix = FramePrefix {
        header_len: 0,
        payload_len: 0,
    }
    .to_bytes();
    prefix[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    oversize.write_all(&prefix).unwrap();
    let (_, reason) = refused(&server);
    assert!(reason.contains("exceeds"), "{reason}");

    // Silence: no hello before the handshake timeout.
    let _silent = raw_stream(server.socket());
    let (_, reason) = refused(&server);
    assert!(reason.contains("timed out"), "{reason}");

    // A connected game that sends a frame whose payload contradicts its header.
    let mut raw = raw_stream(server.socket());
    raw.write_all(&encode_frame(&GameMessage::Hello(hello("raw")), &[]).unwrap())
        .unwrap();
    let raw_host = accepted(&server);
    let (video, _) = frame(1);
    let mut bytes = encode_frame(&video, &vec![0; 64 * 32 * 3 / 2]).unwrap();
    let wrong = (64 * 32 * 3 / 2 - 1) as u32;
    bytes[12..16].copy_from_slice(&wrong.to_le_bytes());
    raw.write_all(&bytes).unwrap();
    match raw_host.link.recv_timeout(WAIT) {
        Some(LinkEvent::Closed(livestream_ipc::CloseReason::Read(ReadError::Decode(
            DecodeError::PayloadMismatch { .. },
        )))) => {}
        other => panic!("expected a payload mismatch close, got {other:?}"),
    }

    // Disconnect mid-frame.
    let mut cut = raw_stream(server.socket());
    cut.write_all(&encode_frame(&GameMessage::Hello(hello("cut")), &[]).unwrap())
        .unwrap();
    let cut_host = accepted(&server);
    let (video, pixels) = frame(2);
    let bytes = encode_frame(&video, &pixels).unwrap();
    cut.write_all(&bytes[..bytes.len() / 2]).unwrap();
    drop(cut);
    match cut_host.link.recv_timeout(WAIT) {
        Some(LinkEvent::Closed(livestream_ipc::CloseReason::Read(ReadError::Truncated))) => {}
        other => panic!("expected a truncation close, got {other:?}"),
    }

    // The good game was never disturbed.
    good.outbox().send(GameMessage::StopStream).unwrap();
    assert_eq!(message(&good_host.link), GameMessage::StopStream);
    assert!(!good_host.link.is_closed());
}

#[test]
fn slow_reader_costs_video_not_control_and_never_blocks_the_sender() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let (game_link, host_side) = game(&server, "flood");
    // The host does not read for a while; the game sends a burst.
    let started = Instant::now();
    let (video, pixels) = frame(0);
    for n in 0..500u64 {
        game_link
            .outbox()
            .send_with_payload(video.clone(), pixels.clone())
            .unwrap();
        game_link
            .outbox()
            .send(GameMessage::Pong { nonce: n })
            .unwrap();
    }
    let sending = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let mut pongs = Vec::new();
    let mut frames = 0u64;
    let deadline = Instant::now() + WAIT;
    while pongs.len() < 500 && Instant::now() < deadline {
        if let Some(LinkEvent::Message(envelope)) =
            host_side.link.recv_timeout(Duration::from_millis(200))
        {
            match envelope.message {
                GameMessage::Pong { nonce } => pongs.push(nonce),
                GameMessage::VideoFrame(_) => frames += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(
        pongs,
        (0..500).collect::<Vec<_>>(),
        "every control message, in order"
    );
    let dropped = game_link.outbox().dropped()
        + host_side
            .link
            .stats()
            .received_dropped
            .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        frames + dropped >= 500 - 8,
        "frames {frames} dropped {dropped}"
    );
    assert!(dropped > 0, "a reader that is behind must cost frames");
    eprintln!("burst of 500 frames queued in {sending:?}; {frames} delivered, {dropped} dropped");
}

#[test]
fn second_host_on_the_same_socket_is_refused_and_stale_socket_is_reclaimed() {
    let dir = tempfile::tempdir().unwrap();
    let first = server(dir.path());
    let socket = first.socket().to_path_buf();
    let err = Server::bind(ServerConfig::new(&socket)).unwrap_err();
    assert!(matches!(
        err,
        livestream_ipc::ServerError::AlreadyRunning(_)
    ));
    drop(first);
    // A stale file (host killed) is taken over.
    std::fs::write(&socket, b"").unwrap();
    let second = Server::bind(ServerConfig::new(&socket)).unwrap();
    drop(second);
    assert!(
        !socket.exists(),
        "socket file removed when the server stops"
    );
}

#[test]
fn a_server_whose_socket_file_was_removed_still_stops() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    std::fs::remove_file(server.socket()).unwrap();
    let (done_tx, done) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        drop(server);
        let _ = done_tx.send(());
    });
    done.recv_timeout(WAIT)
        .expect("dropping the server returns although its accept cannot be woken");
}

#[cfg(unix)]
#[test]
fn socket_is_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(server.socket()), 0o600);
    assert_eq!(mode(server.socket().parent().unwrap()), 0o700);
}

#[test]
fn too_many_games_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("host.sock"));
    config.max_games = 1;
    let server = Server::bind(config).unwrap();
    let (_first, first_host) = game(&server, "one");
    let err = connect(server.socket(), hello("two"), &LinkConfig::default(), WAIT).unwrap_err();
    assert!(matches!(
        err,
        ConnectError::Refused(RefusalReason::TooManyGames(1))
    ));
    refused(&server);
    // Freeing the slot lets the next one in.
    drop(first_host);
    let (_third, _) = game(&server, "three");
}
