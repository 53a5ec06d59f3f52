//! The plain HTTP routes: pages, the gift catalogue, posting, moderation and
//! the stored events. Refusals answer JSON `{"error": "…"}` with a status
//! that says whose fault it is.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use livestream_interaction::AudienceEvent;
use livestream_interaction::room_api::PostAccepted;
use serde::{Deserialize, Serialize};

use crate::app::{App, SubmitError, retry_after_secs};
use crate::auth::AuthError;
use crate::cross_site::{CrossSite, check_origin, check_post};
use crate::events::{GIFTS, Gift};
use crate::rooms::{PublishError, RoomName};

/// Where a reader resumes: `?after={event id}`.
#[derive(Debug, Default, Deserialize)]
pub struct After {
    /// The last event id the reader has; absent for everything stored.
    pub after: Option<String>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The room name is not valid, so no such room can exist.
    #[error("no such room: room names are 1 to 64 ASCII letters, digits, '-' or '_'")]
    NoSuchRoom,
    /// The body could not be read (cut off, or over the size limit).
    #[error("cannot read the body: {0}")]
    Body(#[from] BytesRejection),
    /// The post or action was refused.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// Another site's page sent it, or it is not JSON.
    #[error(transparent)]
    CrossSite(#[from] CrossSite),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NoSuchRoom => StatusCode::NOT_FOUND,
            Self::CrossSite(CrossSite::NotJson) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::CrossSite(CrossSite::ForeignOrigin(_)) => StatusCode::FORBIDDEN,
            Self::Body(rejection) => rejection.status(),
            Self::Submit(error) => match error {
                SubmitError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                SubmitError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                SubmitError::Publish(PublishError::TooManyRooms)
                | SubmitError::NoRandomness(_)
                | SubmitError::NotStored(_) => StatusCode::SERVICE_UNAVAILABLE,
                SubmitError::Publish(PublishError::NoSuchRoom) => StatusCode::NOT_FOUND,
                SubmitError::UnknownViewer | SubmitError::Unauthorized(AuthError::Missing) => {
                    StatusCode::UNAUTHORIZED
                }
                SubmitError::Unauthorized(AuthError::Disabled | AuthError::Wrong) => {
                    StatusCode::FORBIDDEN
                }
                SubmitError::Malformed(_)
                | SubmitError::Refused(_)
                | SubmitError::Publish(PublishError::Invalid(_)) => StatusCode::BAD_REQUEST,
            },
        }
    }
}

impl From<PublishError> for ApiError {
    fn from(error: PublishError) -> Self {
        Self::Submit(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        let headers = response.headers_mut();
        match self {
            Self::Submit(SubmitError::RateLimited(wait)) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(wait)),
                );
            }
            Self::Submit(SubmitError::Unauthorized(AuthError::Missing)) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// The room name of a path, or 404.
pub fn room_name(name: &str) -> Result<RoomName, ApiError> {
    RoomName::parse(name).ok_or(ApiError::NoSuchRoom)
}

/// `GET /healthz`: for load balancers and scripts.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /gifts`: the catalogue viewers pick from.
pub async fn gifts() -> Json<&'static [Gift]> {
    Json(&GIFTS)
}

/// The header a viewer's HTTP post carries its viewer token in.
pub const VIEWER_HEADER: &str = "x-viewer-token";

/// What `POST /viewers` answers.
#[derive(Debug, Serialize)]
pub struct NewViewer {
    /// The token: sent with each post (the [`VIEWER_HEADER`] header, or
    /// `?viewer=` on the feed's URL).
    pub viewer: String,
}

/// `POST /viewers`: a viewer token, which the viewer's posts are charged to
/// (the viewer page gets one when it opens).
pub async fn new_viewer(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<NewViewer>, ApiError> {
    check_origin(&headers, app.public_origin.as_deref())?;
    Ok(Json(NewViewer {
        viewer: app.new_viewer(peer.ip())?,
    }))
}

/// `POST /rooms/{room}/post`: a viewer's [`ViewerPost`](livestream_interaction::room_api::ViewerPost),
/// with the viewer's token in [`VIEWER_HEADER`] (optional).
pub async fn post(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PostAccepted>, ApiError> {
    let room = room_name(&room)?;
    check_post(&headers, app.public_origin.as_deref())?;
    let viewer = headers
        .get(VIEWER_HEADER)
        .map(|token| app.viewer(token.to_str().unwrap_or_default()))
        .transpose()?;
    Ok(Json(app.post(&room, peer.ip(), viewer, &body?).await?))
}

/// `POST /rooms/{room}/moderate`: a [`ModeratorAction`](livestream_interaction::room_api::ModeratorAction),
/// with `Authorization: Bearer TOKEN`.
pub async fn moderate(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PostAccepted>, ApiError> {
    let room = room_name(&room)?;
    check_post(&headers, app.public_origin.as_deref())?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    Ok(Json(
        app.moderate(&room, peer.ip(), authorization, &body?)
            .await?,
    ))
}

/// `GET /rooms/{room}/events?after=ID`: stored events after `ID`, oldest first.
pub async fn events(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    Query(after): Query<After>,
) -> Result<Json<Vec<AudienceEvent>>, ApiError> {
    let room = room_name(&room)?;
    Ok(Json(app.rooms.events_after(&room, after.after.as_deref())))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::Refusal;

    #[test]
    fn refusals_map_to_statuses() {
        let cases = [
            (ApiError::NoSuchRoom, StatusCode::NOT_FOUND),
            (SubmitError::TooLarge.into(), StatusCode::PAYLOAD_TOO_LARGE),
            (
                SubmitError::Refused(Refusal::EmptyText).into(),
                StatusCode::BAD_REQUEST,
            ),
            (PublishError::Invalid("x").into(), StatusCode::BAD_REQUEST),
            (
                PublishError::TooManyRooms.into(),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (PublishError::NoSuchRoom.into(), StatusCode::NOT_FOUND),
            (
                SubmitError::Unauthorized(AuthError::Missing).into(),
                StatusCode::UNAUTHORIZED,
            ),
            (
                SubmitError::Unauthorized(AuthError::Wrong).into(),
                StatusCode::FORBIDDEN,
            ),
            (
                SubmitError::Unauthorized(AuthError::Disabled).into(),
                StatusCode::FORBIDDEN,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.into_response().status(), status);
        }
        let limited =
            ApiError::from(SubmitError::RateLimited(Duration::from_millis(1500))).into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "2");
    }
}
