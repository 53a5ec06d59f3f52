//! The HTML, script and style the server hands to browsers, built into the
//! binary so a room needs nothing else to be self-hosted.
//!
//! Pages are served with a strict content security policy: scripts and
//! styles only from this server, no inline script, connections only back to
//! this server, so even a slip in escaping could not run a viewer's text.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::{ApiError, room_name};

const INDEX_HTML: &str = include_str!("page/index.html");
const VIEWER_HTML: &str = include_str!("page/viewer.html");
const VIEWER_JS: &str = include_str!("page/viewer.js");
const VIEWER_CSS: &str = include_str!("page/viewer.css");

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /`: what this server is and how to open a room.
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /rooms/{room}`: the viewer page (it reads the room from its own URL).
pub async fn viewer(Path(room): Path<String>) -> Result<Response, ApiError> {
    room_name(&room)?;
    Ok(asset("text/html; charset=utf-8", VIEWER_HTML))
}

/// `GET /assets/viewer.js`: the viewer page's script.
pub async fn viewer_js() -> Response {
    asset("text/javascript; charset=utf-8", VIEWER_JS)
}

/// `GET /assets/viewer.css`: the viewer page's style.
pub async fn viewer_css() -> Response {
    asset("text/css; charset=utf-8", VIEWER_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
