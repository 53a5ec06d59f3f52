//! Hostile IRC servers, real sockets: one that refuses every nick (a 433
//! storm) and one that never reads what the source writes. Neither holds
//! the source: it gives up on the connection and tries again later, and
//! stopping it (as the host does at exit) is never stuck on a write.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use livestream_interaction::{AudienceSource, SourceState, SourceTls};

/// Waits for `done` up to `limit` (a condition, polled).
fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Serves each connection on a thread with `serve`; counts connections.
fn server(
    serve: fn(TcpStream, &Mutex<Vec<String>>),
) -> (u16, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let heard = Arc::new(Mutex::new(Vec::new()));
    let (count, log) = (connections.clone(), heard.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::AcqRel);
            let log = log.clone();
            std::thread::spawn(move || serve(stream, &log));
        }
    });
    (port, connections, heard)
}

/// An IRC source reading `#game` at the test's server.
fn irc_source(port: u16) -> AudienceSource {
    let (events, _) = crossbeam_channel::unbounded();
    AudienceSource::start(
        format!("irc://127.0.0.1:{port}/#game").parse().unwrap(),
        &SourceTls::new(None).unwrap(),
        events,
    )
}

#[test]
fn a_server_refusing_every_nick_is_left_and_tried_again_later() {
    let (port, connections, heard) = server(|stream, heard| {
        let mut writer = stream.try_clone().unwrap();
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Some(nick) = line.strip_prefix("NICK ") {
                heard.lock().unwrap().push(nick.to_owned());
                let refusal = format!(":irc.example 433 * {nick} :Nickname is already in use\r\n");
                if writer.write_all(refusal.as_bytes()).is_err() {
                    return;
                }
            }
        }
    });
    let source = irc_source(port);
    wait_until(
        "the source to give up and reconnect",
        Duration::from_secs(30),
        || {
            connections.load(Ordering::Acquire) >= 2
                && matches!(source.status().state, SourceState::Reconnecting { .. })
        },
    );
    let nicks = heard.lock().unwrap().clone();
    let longest = nicks.iter().map(String::len).max().unwrap_or(0);
    assert!(
        longest <= "justinfan99999".len() + 5,
        "nicks grew: {nicks:?}"
    );
    let per_connection = nicks.len() / connections.load(Ordering::Acquire).max(1);
    assert!(
        per_connection <= 6,
        "{} nicks over the connections",
        nicks.len()
    );
    drop(source);
}

#[test]
fn a_server_that_never_reads_does_not_hold_the_source() {
    // It pings, a lot, and never reads the answers: the source's writes fill
    // both socket buffers and then wait.
    let (port, connections, _) = server(|mut stream, _| {
        let ping = format!("PING :{}\r\n", "x".repeat(400));
        while stream.write_all(ping.as_bytes()).is_ok() {}
    });
    let source = irc_source(port);
    wait_until(
        "the stuck connection to be given up",
        Duration::from_secs(60),
        || matches!(source.status().state, SourceState::Reconnecting { ref reason, .. } if reason.contains("write")),
    );
    assert!(connections.load(Ordering::Acquire) >= 1);
    // Stopping (the host exiting) finishes: no write can wait forever.
    let (stopped_tx, stopped) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        drop(source);
        let _ = stopped_tx.send(());
    });
    assert!(
        stopped.recv_timeout(Duration::from_secs(30)).is_ok(),
        "stopping the source hung on a server that never reads"
    );
}
