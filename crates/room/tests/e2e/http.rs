//! Posting, reading back and moderating over plain HTTP.

use livestream_interaction::AudienceEventKind;
use serde_json::json;

use crate::support::{Room, UNLIMITED, chat_text};

#[test]
fn pages_and_catalogue_are_served() {
    let room = Room::start(&UNLIMITED);
    let health = room.get("/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let index = room.get("/");
    assert_eq!(index.status, 200);
    assert!(index.body.contains("/rooms/"), "{}", index.body);
    let page = room.get("/rooms/lobby");
    assert_eq!(page.status, 200);
    assert!(page.content_type.unwrap().starts_with("text/html"));
    assert!(page.body.contains(r#"id="messages""#));
    assert_eq!(room.get("/assets/viewer.js").status, 200);
    assert_eq!(room.get("/rooms/not%20a%20room").status, 404);
    assert_eq!(room.get(&format!("/rooms/{}", "x".repeat(65))).status, 404);
    let gifts = room.get("/gifts").json();
    let rose = gifts
        .as_array()
        .unwrap()
        .iter()
        .find(|gift| gift["id"] == "rose");
    assert_eq!(
        rose,
        Some(&json!({"id": "rose", "name": "Rose", "value": 1}))
    );
}

#[test]
fn posts_become_cleaned_events() {
    let room = Room::start(&UNLIMITED);
    let chat = room.post_ok(
        "lobby",
        json!({"type": "chat", "user": " Ann\u{7} ", "text": "hi\u{0}\n  there"}),
    );
    let long = room.post_ok(
        "lobby",
        json!({"type": "chat", "user": "Ann", "text": "é".repeat(1000)}),
    );
    room.post_ok(
        "lobby",
        json!({"type": "gift", "user": "Bob", "gift": "rocket", "count": 3}),
    );
    room.post_ok("lobby", json!({"type": "like", "user": "Bob", "count": 20}));
    room.post_ok("lobby", json!({"type": "follow", "user": "Cy"}));

    let events = room.events("lobby");
    assert_eq!(events.len(), 5);
    assert_eq!(events[0].id, chat);
    assert_eq!(events[0].source, "room");
    assert_eq!(events[0].user.id, "room:ann");
    assert_eq!(events[0].user.display_name, "Ann");
    assert!(events[0].user.color.is_some());
    assert_eq!(chat_text(&events[0]), "hi there");
    assert_eq!(events[1].id, long);
    assert_eq!(chat_text(&events[1]).chars().count(), 500);
    assert_eq!(
        events[2].kind,
        AudienceEventKind::Gift {
            gift_id: "rocket".into(),
            name: "Rocket".into(),
            count: 3,
            value: 100
        }
    );
    assert_eq!(events[3].kind, AudienceEventKind::Like { count: 20 });
    assert_eq!(events[4].kind, AudienceEventKind::Follow);
    assert!(events.iter().all(|event| event.validate().is_ok()));

    // Resuming after an id, and rooms are separate.
    let after = room
        .get(&format!("/rooms/lobby/events?after={}", events[3].id))
        .json();
    assert_eq!(after.as_array().unwrap().len(), 1);
    assert!(room.events("elsewhere").is_empty());
}

#[test]
fn bad_posts_are_refused_with_reasons() {
    let room = Room::start(&UNLIMITED);
    let refused = [
        ("{not json", 400),
        (r#"{"type":"shout","user":"Ann"}"#, 400),
        (r#"{"type":"gift","user":"Ann","gift":"yacht"}"#, 400),
        (r#"{"type":"chat","user":"Ann","text":" \n\t "}"#, 400),
        (r#"{"type":"chat","user":"\u0007","text":"hi"}"#, 400),
        (r#"{"type":"like","user":"Ann","count":0}"#, 400),
        (
            r#"{"type":"gift","user":"Ann","gift":"rose","count":1001}"#,
            400,
        ),
    ];
    for (body, status) in refused {
        let reply = room.post("/rooms/lobby/post", body, None);
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert!(
            reply.json()["error"]
                .as_str()
                .is_some_and(|error| !error.is_empty())
        );
    }
    let unknown_gift = room.post("/rooms/lobby/post", refused[2].0, None);
    assert!(unknown_gift.body.contains("yacht"), "{}", unknown_gift.body);

    let huge = format!(
        r#"{{"type":"chat","user":"Ann","text":"{}"}}"#,
        "x".repeat(100_000)
    );
    let too_large = room.post("/rooms/lobby/post", huge, None);
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert!(too_large.json()["error"].is_string());

    assert_eq!(
        room.post("/rooms/bad.name/post", refused[0].0, None).status,
        404
    );
    assert!(room.events("lobby").is_empty());
}

#[test]
fn posting_too_fast_is_rate_limited() {
    // Three at once, then one every 100 s: the fourth is refused whatever the machine's speed.
    let room = Room::start(&["--rate", "0.01", "--burst", "3"]);
    for n in 0..3 {
        room.post_ok("lobby", json!({"type": "like", "user": format!("fan{n}")}));
    }
    let limited = room.post(
        "/rooms/lobby/post",
        json!({"type": "like", "user": "fan9"}).to_string(),
        None,
    );
    assert_eq!(limited.status, 429, "{}", limited.body);
    let retry_after: u64 = limited.retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=100).contains(&retry_after), "{retry_after}");
    assert_eq!(room.events("lobby").len(), 3);
}

#[test]
fn moderators_delete_clear_and_announce() {
    const TOKEN: &str = "mod-secret";
    let room = Room::start_moderated(TOKEN, &UNLIMITED);
    let spam = room.post_ok(
        "lobby",
        json!({"type": "chat", "user": "Spammer", "text": "buy now"}),
    );
    let kept = room.post_ok(
        "lobby",
        json!({"type": "chat", "user": "Ann", "text": "hello"}),
    );
    room.post_ok(
        "lobby",
        json!({"type": "chat", "user": "Troll", "text": "one"}),
    );
    room.post_ok("lobby", json!({"type": "like", "user": "Troll"}));

    let delete = json!({"type": "delete", "id": spam}).to_string();
    let missing = room.post("/rooms/lobby/moderate", &delete, None);
    assert_eq!(missing.status, 401, "{}", missing.body);
    assert_eq!(
        room.post("/rooms/lobby/moderate", &delete, Some("guess"))
            .status,
        403
    );
    assert_eq!(
        room.events("lobby").len(),
        4,
        "refused actions change nothing"
    );

    let deleted = room.post("/rooms/lobby/moderate", &delete, Some(TOKEN));
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let clear = json!({"type": "clear_user", "user_id": "room:troll"}).to_string();
    assert_eq!(
        room.post("/rooms/lobby/moderate", clear, Some(TOKEN))
            .status,
        200
    );
    let notice = json!({"type": "notice", "text": "be\u{7} nice"}).to_string();
    assert_eq!(
        room.post("/rooms/lobby/moderate", notice, Some(TOKEN))
            .status,
        200
    );

    let events = room.events("lobby");
    let kinds: Vec<_> = events.iter().map(|event| &event.kind).collect();
    assert_eq!(
        kinds,
        [
            &AudienceEventKind::Chat {
                text: "hello".into()
            },
            &AudienceEventKind::DeleteMessage { target_id: spam },
            &AudienceEventKind::ClearUser {
                user_id: "room:troll".into()
            },
            &AudienceEventKind::Notice {
                text: "be nice".into()
            },
        ]
    );
    assert_eq!(events[0].id, kept);
    assert_eq!(events[3].user.id, "room");
    assert_eq!(events[3].user.display_name, "Room");
    assert!(
        !room.log().contains(TOKEN),
        "the token must never be logged"
    );
}

#[test]
fn moderation_is_refused_without_a_configured_token() {
    let room = Room::start(&UNLIMITED);
    let notice = json!({"type": "notice", "text": "hi"}).to_string();
    let reply = room.post("/rooms/lobby/moderate", notice, Some(""));
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(room.events("lobby").is_empty());
}

#[test]
fn other_sites_cannot_post_or_subscribe_through_a_visitors_browser() {
    let room = Room::start(&UNLIMITED);
    let chat = json!({"type": "chat", "user": "mallory", "text": "free bits"}).to_string();
    // A form or `fetch` without pre-flight can only send text/plain.
    let plain = room.post_with(
        "/rooms/lobby/post",
        &chat,
        &[("Content-Type", "text/plain")],
    );
    assert_eq!(plain.status, 415, "{}", plain.body);
    // JSON from a page of another site (what a pre-flight would have blocked).
    let foreign = room.post_with(
        "/rooms/lobby/post",
        &chat,
        &[
            ("Content-Type", "application/json"),
            ("Origin", "https://evil.example"),
        ],
    );
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert_eq!(room.feed_from("lobby", "https://evil.example"), 403);
    assert!(room.events("lobby").is_empty(), "nothing was posted");
    // The room's own page, and clients that are not browsers, still can.
    let own = room.url.clone();
    assert_eq!(room.feed_from("lobby", &own), 101);
    let same = room.post_with(
        "/rooms/lobby/post",
        &chat,
        &[("Content-Type", "application/json"), ("Origin", &own)],
    );
    assert_eq!(same.status, 200, "{}", same.body);
    room.post_ok(
        "lobby",
        json!({"type": "chat", "user": "ann", "text": "hi"}),
    );
    assert_eq!(room.events("lobby").len(), 2);
}
