//! Clients that trickle their bytes (slowloris) on the game socket and the
//! control socket: the host closes each once its deadline has passed, however
//! slowly the bytes come, and meanwhile a real game streams and `ctl`
//! answers. Before, a byte every 90 ms kept a handshake thread forever and
//! one slow `ctl` client blocked every other.
#![cfg(unix)]

mod support;

use std::io::Write as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use livestream_protocol::{MAGIC, MAX_HEADER_LEN, PROTOCOL_VERSION};
use livestream_testkit::wait_for;
use support::{Mic, ctl, game, games_connected, host, host_status};

/// How long a trickling client keeps trying before it gives up (far past
/// every deadline the host has).
const ATTACK: Duration = Duration::from_secs(30);

/// A frame prefix announcing the largest header, whose bytes then trickle in.
fn slow_hello_prefix() -> Vec<u8> {
    let mut prefix = Vec::new();
    prefix.extend_from_slice(&MAGIC);
    prefix.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    prefix.extend_from_slice(&[0, 0]);
    prefix.extend_from_slice(&MAX_HEADER_LEN.to_le_bytes());
    prefix.extend_from_slice(&0u32.to_le_bytes());
    prefix
}

/// Starts `count` clients at `path` that send `first`, then a byte every
/// `every`, until the host closes them (counted in `closed`) or [`ATTACK`] ends.
fn trickle(
    path: &Path,
    count: usize,
    first: &[u8],
    every: Duration,
    closed: &Arc<AtomicUsize>,
) -> Vec<JoinHandle<()>> {
    (0..count)
        .map(|_| {
            let path: PathBuf = path.to_owned();
            let first = first.to_vec();
            let closed = closed.clone();
            std::thread::spawn(move || {
                let Ok(mut stream) = UnixStream::connect(&path) else {
                    closed.fetch_add(1, Ordering::AcqRel);
                    return;
                };
                let started = Instant::now();
                let mut sent = stream.write_all(&first);
                while sent.is_ok() && started.elapsed() < ATTACK {
                    std::thread::sleep(every);
                    sent = stream.write_all(b"x");
                }
                if sent.is_err() {
                    closed.fetch_add(1, Ordering::AcqRel);
                }
            })
        })
        .collect()
}

#[test]
fn trickling_clients_are_closed_and_nobody_else_waits_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/host.sock");
    let _host = host(&socket, &[], Mic::None);
    wait_for("the host socket", Duration::from_secs(10), || {
        socket.exists()
    });
    let ctl_socket = socket.with_extension("ctl");

    let games_closed = Arc::new(AtomicUsize::new(0));
    let ctl_closed = Arc::new(AtomicUsize::new(0));
    let mut attackers = trickle(
        &socket,
        100,
        &slow_hello_prefix(),
        Duration::from_millis(50),
        &games_closed,
    );
    attackers.extend(trickle(
        &ctl_socket,
        10,
        b"{\"status\"",
        Duration::from_millis(500),
        &ctl_closed,
    ));

    // Meanwhile a real game connects and streams, and ctl answers.
    let _game = game(&socket, "alpha", 0, "320x180", 20);
    wait_for("the game", Duration::from_secs(20), || {
        games_connected(&socket) == 1
    });
    ctl(&socket, &["go-live"]);
    ctl(&socket, &["show", "alpha"]);
    wait_for("its frames on the stream", Duration::from_secs(20), || {
        host_status(&socket)
            .game("alpha")
            .is_some_and(|game| game.frames_streamed >= 15)
    });

    // Every trickling client is closed by the host, long before it gives up.
    wait_for("the host to close every trickling client", ATTACK, || {
        games_closed.load(Ordering::Acquire) == 100 && ctl_closed.load(Ordering::Acquire) == 10
    });
    for attacker in attackers {
        attacker.join().unwrap();
    }
    let status = host_status(&socket);
    assert_eq!(
        status.games.len(),
        1,
        "only the real game: {:?}",
        status.games
    );
}
