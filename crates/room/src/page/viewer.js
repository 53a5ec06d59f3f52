// The viewer page of a livestream-room room: one WebSocket to read the feed
// and to post, as the viewer token the server gave this page (posts are
// charged to it, never to the name typed). Viewer text only ever reaches the
// page through textContent.
"use strict";

const MAX_SHOWN = 500;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10000;

const room = decodeURIComponent(location.pathname.split("/")[2] || "");
const messages = document.getElementById("messages");
const statusLine = document.getElementById("status");
const nameField = document.getElementById("name");
const textField = document.getElementById("text");
const actions = document.getElementById("actions");

let socket = null;
let lastId = null;
let retryMs = RETRY_FIRST_MS;
let viewerToken = sessionStorage.getItem("livestream-room.viewer");

document.getElementById("room").textContent = room;
document.title = `${room} · livestream-room`;
nameField.value = localStorage.getItem("livestream-room.name") || "";
nameField.addEventListener("change", () => localStorage.setItem("livestream-room.name", nameField.value));

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

// Sends a ViewerPost; false (and a status) when it cannot be sent now.
function post(body) {
  const user = nameField.value.trim();
  if (!user) {
    setStatus("enter a name first", true);
    nameField.focus();
    return false;
  }
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    setStatus("not connected yet, try again in a moment", true);
    return false;
  }
  socket.send(JSON.stringify({ ...body, user }));
  return true;
}

document.getElementById("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textField.value.trim();
  if (text && post({ type: "chat", text })) {
    textField.value = "";
  }
});
document.getElementById("like").addEventListener("click", () => post({ type: "like", count: 1 }));

async function loadGifts() {
  const response = await fetch("/gifts");
  for (const gift of await response.json()) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.gift = gift.id;
    button.textContent = `🎁 ${gift.name} (${gift.value})`;
    button.addEventListener("click", () => post({ type: "gift", gift: gift.id, count: 1 }));
    actions.appendChild(button);
  }
}

// `kind` is serde's external tagging: "Follow" or {"Chat": {"text": …}}.
function kindOf(event) {
  if (typeof event.kind === "string") {
    return [event.kind, {}];
  }
  const [name] = Object.keys(event.kind);
  return [name, event.kind[name]];
}

function removeWhere(test) {
  for (const item of [...messages.children]) {
    if (test(item)) {
      item.remove();
    }
  }
}

function show(event) {
  const [kind, data] = kindOf(event);
  if (kind === "DeleteMessage") {
    removeWhere((item) => item.dataset.id === data.target_id);
    return;
  }
  if (kind === "ClearUser") {
    removeWhere((item) => item.dataset.user === data.user_id);
    return;
  }
  const item = document.createElement("li");
  item.dataset.id = event.id;
  item.dataset.user = event.user.id;
  item.className = kind.toLowerCase();
  const who = document.createElement("span");
  who.className = "user";
  who.textContent = event.user.display_name;
  if (event.user.color) {
    who.style.color = `rgb(${event.user.color.join(",")})`;
  }
  const what = document.createElement("span");
  what.className = "text";
  switch (kind) {
    case "Chat":
    case "Notice":
      what.textContent = data.text;
      break;
    case "Gift":
      what.textContent = `sent ${data.count} × ${data.name} 🎁`;
      break;
    case "Like":
      what.textContent = data.count > 1 ? `liked ×${data.count} ❤` : "liked ❤";
      break;
    case "Follow":
      what.textContent = "followed";
      break;
    case "Subscribe":
      what.textContent = "subscribed";
      break;
    default:
      what.textContent = kind;
  }
  item.append(who, what);
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  messages.appendChild(item);
  while (messages.children.length > MAX_SHOWN) {
    messages.firstElementChild.remove();
  }
  if (atBottom) {
    messages.scrollTop = messages.scrollHeight;
  }
}

// This page's viewer token, asked for once (a server restart makes it
// unknown: the page then asks again).
async function viewer() {
  if (!viewerToken) {
    const response = await fetch("/viewers", { method: "POST" });
    if (!response.ok) {
      throw new Error(`the server gave no viewer token (${response.status})`);
    }
    viewerToken = (await response.json()).viewer;
    sessionStorage.setItem("livestream-room.viewer", viewerToken);
  }
  return viewerToken;
}

function retryLater() {
  setStatus(`reconnecting in ${Math.round(retryMs / 1000)} s…`, true);
  setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
}

async function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams();
  try {
    query.set("viewer", await viewer());
  } catch (error) {
    setStatus(`${error}`, true);
    retryLater();
    return;
  }
  if (lastId) {
    query.set("after", lastId);
  }
  let opened = false;
  socket = new WebSocket(`${scheme}://${location.host}/rooms/${encodeURIComponent(room)}/ws?${query}`);
  socket.addEventListener("open", () => {
    opened = true;
    retryMs = RETRY_FIRST_MS;
    setStatus("connected");
  });
  socket.addEventListener("message", (message) => {
    const frame = JSON.parse(message.data);
    if (frame.event) {
      lastId = frame.event.id;
      show(frame.event);
    } else if (frame.error) {
      setStatus(frame.error.message, true);
    }
  });
  socket.addEventListener("close", () => {
    socket = null;
    if (!opened) {
      // Refused before it opened: perhaps the token is no longer known.
      viewerToken = null;
      sessionStorage.removeItem("livestream-room.viewer");
    }
    retryLater();
  });
}

loadGifts().catch((error) => setStatus(`cannot load gifts: ${error}`, true));
connect();
