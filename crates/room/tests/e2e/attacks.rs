//! Attacks on the room server with real clients from their own loopback
//! addresses: half-sent requests by the thousand, more connections than one
//! client's share, made-up room names by the thousand. Each time a viewer
//! elsewhere still posts, and the feed still hears it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
use serde_json::json;

use crate::support::{Room, UNLIMITED, chat_text, wait_for};

/// A TCP connection to `server` from `source` (any 127.x.y.z is this machine).
fn connect_from(source: Ipv4Addr, server: SocketAddr) -> TcpStream {
    let fd: OwnedFd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(SocketAddrV4::new(source, 0)),
    )
    .unwrap();
    let SocketAddr::V4(server) = server else {
        panic!("the room listens on IPv4 loopback");
    };
    connect(fd.as_raw_fd(), &SockaddrIn::from(server)).unwrap();
    TcpStream::from(fd)
}

/// Room for this many sockets in the test process.
fn allow_open_files(wanted: u64) {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < wanted {
        assert!(
            hard >= wanted,
            "the hard open-file limit {hard} is below {wanted}"
        );
        setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).unwrap();
    }
}

/// The start of a request that never ends.
const HALF_SENT: &[u8] = b"GET /rooms/lobby HTTP/1.1\r\nHost: room\r\nX-Slow: ";

/// Whether the server has closed `stream` (reading gives the end, or a reset).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => !matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// A viewer's chat reaches a feed; how long from the post to the feed.
fn viewer_is_heard(room: &Room, text: &str) -> Duration {
    let mut feed = room.feed("lobby", "");
    let posted = Instant::now();
    room.post_ok(
        "lobby",
        json!({"type": "chat", "user": "ann", "text": text}),
    );
    // The room's earlier chat comes first (the feed replays its history).
    while chat_text(&feed.event()) != text {}
    posted.elapsed()
}

#[test]
fn a_thousand_half_sent_requests_keep_no_viewer_out() {
    allow_open_files(4096);
    let args = [
        &UNLIMITED[..],
        &["--room", "lobby", "--header-timeout", "3"],
    ]
    .concat();
    let room = Room::start(&args);
    // 1,000 slow clients, ten from each of 100 addresses (under the
    // per-client share, so the server holds every one until its deadline).
    let mut slow: Vec<TcpStream> = (0..1000)
        .map(|n| {
            let source = Ipv4Addr::new(127, 0, 1, 1 + (n / 10) as u8);
            let mut stream = connect_from(source, room.address());
            stream.write_all(HALF_SENT).unwrap();
            stream
        })
        .collect();
    let took = viewer_is_heard(&room, "still here");
    eprintln!("a viewer's post reached the feed in {took:?} beside 1,000 slow requests");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // Each slow request is cut off at its deadline, though it keeps sending.
    for stream in &mut slow {
        let _ = stream.write_all(b"x");
    }
    wait_for("every slow request closed by the server", || {
        slow.retain_mut(|stream| !closed_by_server(stream));
        slow.is_empty().then_some(())
    });
    viewer_is_heard(&room, "and again");
}

#[test]
fn one_client_holds_no_more_than_its_share_of_connections() {
    let args = [
        &UNLIMITED[..],
        &["--room", "lobby", "--max-connections-per-client", "16"],
    ]
    .concat();
    let room = Room::start(&args);
    let greedy = Ipv4Addr::new(127, 0, 2, 1);
    let mut streams: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut stream = connect_from(greedy, room.address());
            // Refused connections may be closed before this is sent.
            let _ = stream.write_all(HALF_SENT);
            stream
        })
        .collect();
    // The 24 over the share are closed at once; 16 are held (the header
    // deadline is 10 s away).
    wait_for("the connections over the share closed", || {
        let closed = streams
            .iter_mut()
            .map(closed_by_server)
            .filter(|&closed| closed)
            .count();
        (closed >= 24).then_some(())
    });
    let closed = streams
        .iter_mut()
        .map(closed_by_server)
        .filter(|&closed| closed)
        .count();
    assert_eq!(closed, 24, "16 held, the rest closed");
    // Another client is not affected.
    viewer_is_heard(&room, "from elsewhere");
    assert!(
        room.log().contains("connection over the limits"),
        "{}",
        room.log()
    );
}

/// `POST /rooms/{room}/post` from `source` over a fresh connection, as
/// viewer `user`, with `extra` header lines; the status.
fn post_from(source: Ipv4Addr, server: SocketAddr, room: &str, user: &str, extra: &str) -> u16 {
    let body = json!({"type": "chat", "user": user, "text": "hi"}).to_string();
    let mut stream = connect_from(source, server);
    write!(
        stream,
        "POST /rooms/{room}/post HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

#[test]
fn behind_a_trusted_proxy_each_viewer_has_their_own_allowance() {
    let proxy = Ipv4Addr::new(127, 0, 4, 1);
    let room = Room::start(&[
        "--rate",
        "0.01",
        "--burst",
        "2",
        "--trusted-proxy",
        "127.0.4.1",
    ]);
    let post = |source, user: &str, forwarded_for: &str| {
        let header = format!("X-Forwarded-For: {forwarded_for}\r\n");
        post_from(source, room.address(), "lobby", user, &header)
    };
    // Through the proxy: two posts each for two viewers' addresses.
    assert_eq!(post(proxy, "a1", "203.0.113.1"), 200);
    assert_eq!(post(proxy, "a2", "203.0.113.1"), 200);
    assert_eq!(
        post(proxy, "a3", "203.0.113.1"),
        429,
        "203.0.113.1 is out of posts"
    );
    assert_eq!(
        post(proxy, "b1", "203.0.113.2"),
        200,
        "another viewer is not"
    );
    // Directly, the header is not believed: a forged one changes nothing.
    let direct = Ipv4Addr::new(127, 0, 4, 2);
    assert_eq!(post(direct, "c1", "198.51.100.1"), 200);
    assert_eq!(post(direct, "c2", "198.51.100.2"), 200);
    assert_eq!(post(direct, "c3", "198.51.100.3"), 429);
}

#[test]
fn a_thousand_made_up_room_names_lock_out_no_room() {
    let args = [&UNLIMITED[..], &["--room", "lobby"]].concat();
    let room = Room::start(&args);
    let spammer = Ipv4Addr::new(127, 0, 3, 1);
    let statuses: Vec<u16> = (0..1000)
        .map(|n| {
            post_from(
                spammer,
                room.address(),
                &format!("made-up-{n}"),
                "mallory",
                "",
            )
        })
        .collect();
    let made = statuses.iter().filter(|&&status| status == 200).count();
    let refused = statuses.iter().filter(|&&status| status == 429).count();
    eprintln!("1,000 made-up rooms from one client: {made} made, {refused} refused");
    assert!(
        made <= 12 && made + refused == 1000,
        "{made} made, {refused} refused"
    );
    // The listed room and a new room of another client work.
    viewer_is_heard(&room, "lobby still works");
    room.post_ok(
        "fresh",
        json!({"type": "chat", "user": "ann", "text": "new room"}),
    );
}

#[test]
fn posting_under_another_viewers_name_spends_only_the_posters_allowance() {
    let room = Room::start(&["--rate", "0.01", "--burst", "2"]);
    let token = || {
        let reply = room.post("/viewers", "", None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["viewer"].as_str().unwrap().to_owned()
    };
    let (ann, mallory) = (token(), token());
    let post = |source, user: &str, token: &str| {
        let header = format!("X-Viewer-Token: {token}\r\n");
        post_from(source, room.address(), "lobby", user, &header)
    };
    // Mallory, from addresses of their own, posts as "ann" until refused.
    let (m1, m2) = (Ipv4Addr::new(127, 0, 6, 1), Ipv4Addr::new(127, 0, 6, 2));
    assert_eq!(post(m1, "ann", &mallory), 200);
    assert_eq!(post(m2, "ann", &mallory), 200);
    assert_eq!(post(m1, "Ann", &mallory), 429, "mallory is out of posts");
    // Ann's own allowance is whole.
    let home = Ipv4Addr::new(127, 0, 6, 3);
    assert_eq!(post(home, "ann", &ann), 200);
    assert_eq!(post(home, "ann", &ann), 200);
    // A made-up token is refused, whatever the name.
    assert_eq!(post(home, "ann", "0011.2233"), 401);
    // Games and moderators tell the two "ann"s apart.
    let events = room.events("lobby");
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e.user.id.clone()).collect();
    assert_eq!(events.len(), 4);
    assert_eq!(ids.len(), 2, "two viewers under one name: {ids:?}");
    // A feed with a made-up token is refused before it opens.
    assert_eq!(
        room.feed_status("lobby", "?viewer=made-up"),
        401,
        "a feed posting as nobody's token"
    );
}
