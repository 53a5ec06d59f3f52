//! End-to-end tests against the real `livestream-room` binary: HTTP, the
//! WebSocket feed, signals, and the viewer page in headless Chromium.
//!
//! One test binary (modules below) so the suite links once.

mod attacks;
mod browser;
mod feed;
mod http;
mod lifecycle;
mod support;
mod viewer_page;
