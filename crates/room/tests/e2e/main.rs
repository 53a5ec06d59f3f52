//! End-to-end tests against the real `livestream-room` binary: HTTP, the
//! WebSocket feed, signals, the viewer page in headless Chromium, and nodes
//! clustered through a real `nats-server`.
//!
//! One test binary (modules below) so the suite links once.

mod attacks;
mod browser;
mod cluster;
mod feed;
mod http;
mod lifecycle;
mod support;
mod viewer_page;
