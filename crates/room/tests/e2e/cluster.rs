//! Room servers sharing their rooms through a real `nats-server` with
//! JetStream (`--cluster`): every node's readers get every post once and in
//! the same order, ids and viewer tokens mean the same on every node, the
//! history outlives a node, and a NATS server of three may die mid-stream.

use livestream_interaction::AudienceEventKind;
use livestream_testkit::{NatsCluster, NatsServer};
use serde_json::json;

use std::time::Duration;

use crate::support::{Feed, Room, UNLIMITED, chat_text};

const MOD_TOKEN: &str = "cluster-moderator";

fn chat(user: &str, text: &str) -> serde_json::Value {
    json!({"type": "chat", "user": user, "text": text})
}

/// A node of the cluster at `urls`, moderated, with `extra` arguments.
fn node(urls: &str, extra: &[&str]) -> Room {
    let mut args = vec!["--cluster", urls];
    args.extend(UNLIMITED);
    args.extend(extra);
    Room::start_moderated(MOD_TOKEN, &args)
}

/// The next `count` events' ids on `feed`.
fn ids(feed: &mut Feed, count: usize) -> Vec<String> {
    (0..count).map(|_| feed.event().id).collect()
}

#[test]
fn every_node_delivers_every_post_once_in_one_order_with_shared_ids_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats"));
    let (a, b) = (node(&nats.url(), &[]), node(&nats.url(), &[]));
    let mut on_a = a.feed("show", "");
    let mut on_b = b.feed("show", "");

    // Posts on both nodes, one after the other: both feeds get them all,
    // in the order they were stored, under the ids the posters were given.
    let mut posted = Vec::new();
    for n in 0..10 {
        let at = if n % 2 == 0 { &a } else { &b };
        posted.push(at.post_ok("show", chat("ann", &format!("post {n}"))));
    }
    assert_eq!(ids(&mut on_a, 10), posted);
    assert_eq!(ids(&mut on_b, 10), posted);

    // A viewer token from node A is good on node B: the post is the viewer's.
    let token = a.post("/viewers", "", None).json()["viewer"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = b.post_with(
        "/rooms/show/post",
        &chat("ann", "with a token").to_string(),
        &[
            ("Content-Type", "application/json"),
            ("X-Viewer-Token", token.as_str()),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let event = on_a.event();
    assert_eq!(chat_text(&event), "with a token");
    assert!(event.user.id.starts_with("room-viewer:"), "{event:?}");
    assert_eq!(on_b.event(), event);

    // A moderator deletes on A: B's viewers are told, B's history forgets.
    let deleted = &posted[3];
    let reply = a.post(
        "/rooms/show/moderate",
        json!({"type": "delete", "id": deleted}).to_string(),
        Some(MOD_TOKEN),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let deletion = on_b.event();
    assert_eq!(
        deletion.kind,
        AudienceEventKind::DeleteMessage {
            target_id: deleted.clone()
        }
    );
    assert!(!b.events("show").iter().any(|event| &event.id == deleted));

    // A reader moving from A to B with the last id it saw gets only what is new.
    let last = on_a.event().id;
    assert_eq!(last, deletion.id);
    let later = a.post_ok("show", chat("ann", "after the move"));
    let mut moved = b.feed("show", &format!("?after={last}"));
    assert_eq!(moved.event().id, later);
}

#[test]
fn a_new_or_restarted_node_replays_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats"));
    let mut a = node(&nats.url(), &[]);
    let posted: Vec<String> = (0..5)
        .map(|n| a.post_ok("show", chat("ann", &format!("before {n}"))))
        .collect();
    let reply = a.post(
        "/rooms/show/moderate",
        json!({"type": "delete", "id": posted[1]}).to_string(),
        Some(MOD_TOKEN),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let history: Vec<String> = a.events("show").into_iter().map(|e| e.id).collect();
    assert_eq!(history.len(), 5, "4 posts and the deletion: {history:?}");
    assert!(!history.contains(&posted[1]));

    // A node that was not there has it all, under the same ids.
    let c = node(&nats.url(), &[]);
    let on_c: Vec<String> = c.events("show").into_iter().map(|e| e.id).collect();
    assert_eq!(on_c, history);

    // Node A crashes and starts again: the same history, and new ids go on
    // from the old ones rather than starting again.
    a.process().signal("KILL");
    drop(a);
    let a = node(&nats.url(), &[]);
    let again: Vec<String> = a.events("show").into_iter().map(|e| e.id).collect();
    assert_eq!(again, history);
    let next = a.post_ok("show", chat("ann", "after the crash"));
    assert!(!history.contains(&next));
    let mut resumed = c.feed("show", &format!("?after={}", history[4]));
    assert_eq!(resumed.event().id, next);
}

#[test]
fn nothing_is_lost_or_repeated_when_one_nats_server_of_three_dies() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsCluster::start(dir.path());
    let urls = nats.urls();
    let a = node(&urls, &["--cluster-replicas", "3"]);
    let b = node(&urls, &["--cluster-replicas", "3"]);
    let mut on_b = b.feed("show", "");

    let posts = 40;
    let posted = std::thread::scope(|scope| {
        let poster = scope.spawn(|| {
            (0..posts)
                .map(|n| {
                    std::thread::sleep(Duration::from_millis(50));
                    a.post_ok("show", chat("ann", &format!("post {n}")))
                })
                .collect::<Vec<_>>()
        });
        // Ten posts in, one of the three servers dies.
        let first = ids(&mut on_b, 10);
        nats.nodes[0].kill();
        let rest = ids(&mut on_b, posts - 10);
        let posted = poster.join().unwrap();
        assert_eq!([first, rest].concat(), posted, "{}", nats.logs());
        posted
    });
    let stored: Vec<String> = b.events("show").into_iter().map(|e| e.id).collect();
    assert_eq!(stored, posted);
    // And nothing more arrives: no post was stored twice.
    let marker = a.post_ok("show", chat("ann", "marker"));
    assert_eq!(on_b.event().id, marker);
    // Node A's reader was on the dead server; a new one needs the NATS
    // cluster's new meta leader, whose election is slow on a loaded machine.
    livestream_testkit::wait_for("the marker on node A", Duration::from_secs(90), || {
        a.events("show")
            .last()
            .is_some_and(|event| event.id == marker)
    });
    let on_a: Vec<String> = a.events("show").into_iter().map(|e| e.id).collect();
    assert_eq!(on_a, [posted, vec![marker]].concat());
}
