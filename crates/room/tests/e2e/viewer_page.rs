//! The viewer page in a real headless Chromium: it shows the room, posts
//! chat, gifts and likes over its WebSocket, drops deleted messages, shows
//! refusals and reconnects when the server comes back.

use livestream_interaction::{AudienceEvent, AudienceEventKind};
use serde_json::{Value, json};

use crate::browser::Chromium;
use crate::support::{Room, UNLIMITED, wait_for};

const TOKEN: &str = "page-test-token";

/// `document.querySelector(selector)` as a JavaScript string literal.
fn query(selector: &str) -> String {
    format!("document.querySelector({})", Value::from(selector))
}

/// Waits until `/events` has an event matching `found`.
fn wait_for_event(
    room: &Room,
    what: &str,
    found: impl Fn(&AudienceEvent) -> bool,
) -> AudienceEvent {
    wait_for(what, || {
        room.events("lobby").into_iter().find(|event| found(event))
    })
}

fn messages_contain(text: &str) -> String {
    format!(
        "{}.textContent.includes({})",
        query("#messages"),
        Value::from(text)
    )
}

#[test]
fn the_viewer_page_shows_posts_and_moderation() {
    let room = Room::start_moderated(TOKEN, &UNLIMITED);
    let early = room.post_ok(
        "lobby",
        json!({"type": "chat", "user": "Ann", "text": "posted before the page"}),
    );
    let mut browser = Chromium::launch();
    browser.navigate(&format!("{}/rooms/lobby", room.url));
    browser.wait_until(
        "the page to connect",
        &format!("{}?.textContent === 'connected'", query("#status")),
    );
    browser.wait_until("the history", &messages_contain("posted before the page"));
    browser.wait_until(
        "gift buttons",
        &format!("{} !== null", query("button[data-gift=\"rose\"]")),
    );

    // Live, and only ever as text.
    let sneaky = "<img src=x onerror=\"document.title='pwned'\"> live over http";
    room.post_ok(
        "lobby",
        json!({"type": "chat", "user": "Bob", "text": sneaky}),
    );
    browser.wait_until("a live chat", &messages_contain("live over http"));
    assert_eq!(
        browser.eval(&format!("{} === null", query("#messages img"))),
        true
    );

    // Typing and sending in the page.
    browser.eval(&format!(
        "{name}.value = 'Cleo'; {text}.value = 'typed in the page'; {send}.click(); true",
        name = query("#name"),
        text = query("#text"),
        send = query("#send"),
    ));
    let typed = wait_for_event(&room, "the page's chat", |event| {
        event.kind
            == AudienceEventKind::Chat {
                text: "typed in the page".into(),
            }
    });
    // The page posts as the viewer token the server gave it, not as the name typed.
    assert!(typed.user.id.starts_with("room-viewer:"), "{typed:?}");
    assert_eq!(typed.user.display_name, "Cleo");
    browser.wait_until(
        "the page's own chat",
        &format!("{} !== null", query(&format!("[data-id=\"{}\"]", typed.id))),
    );
    assert_eq!(browser.eval(&format!("{}.value", query("#text"))), "");

    // Gifts and likes.
    browser.eval(&format!(
        "{}.click(); true",
        query("button[data-gift=\"rose\"]")
    ));
    let rose = wait_for_event(
        &room,
        "a rose",
        |event| matches!(&event.kind, AudienceEventKind::Gift { gift_id, .. } if gift_id == "rose"),
    );
    assert_eq!(rose.user.id, typed.user.id, "the same viewer");
    browser.eval(&format!("{}.click(); true", query("#like")));
    wait_for_event(&room, "a like", |event| {
        matches!(event.kind, AudienceEventKind::Like { .. })
    });
    browser.wait_until(
        "the gift shown as a gift",
        &format!(
            "{} !== null",
            query(&format!("li.gift[data-id=\"{}\"]", rose.id))
        ),
    );

    // A moderator deletes the first message: it leaves the page.
    let early_item = query(&format!("[data-id=\"{early}\"]"));
    assert_eq!(browser.eval(&format!("{early_item} !== null")), true);
    let delete = json!({"type": "delete", "id": early}).to_string();
    assert_eq!(
        room.post("/rooms/lobby/moderate", delete, Some(TOKEN))
            .status,
        200
    );
    browser.wait_until(
        "the deleted message to go",
        &format!("{early_item} === null"),
    );
    assert_eq!(browser.eval(&messages_contain("typed in the page")), true);

    // A refusal from the server shows in the status line.
    browser
        .eval(r#"socket.send(JSON.stringify({type: "gift", user: "Cleo", gift: "yacht"})); true"#);
    browser.wait_until(
        "the refusal",
        &format!("{}.textContent.includes('yacht')", query("#status")),
    );
}

#[test]
fn the_viewer_page_reconnects_when_the_server_comes_back() {
    let room = Room::start(&UNLIMITED);
    room.post_ok(
        "lobby",
        json!({"type": "chat", "user": "Ann", "text": "from the first run"}),
    );
    let mut browser = Chromium::launch();
    browser.navigate(&format!("{}/rooms/lobby", room.url));
    browser.wait_until("the history", &messages_contain("from the first run"));

    let address = room.url.trim_start_matches("http://").to_owned();
    drop(room);
    browser.wait_until(
        "the page to notice",
        &format!("{}.textContent.includes('reconnecting')", query("#status")),
    );
    let again = Room::start_on(&address, &UNLIMITED);
    browser.wait_until(
        "the page to reconnect",
        &format!("{}.textContent === 'connected'", query("#status")),
    );
    again.post_ok(
        "lobby",
        json!({"type": "chat", "user": "Ann", "text": "from the second run"}),
    );
    browser.wait_until(
        "a chat from the new run",
        &messages_contain("from the second run"),
    );
    assert_eq!(browser.eval(&messages_contain("from the first run")), true);
}
