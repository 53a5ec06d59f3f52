//! Other web sites must not post or subscribe through their visitors'
//! browsers (including to a room on 127.0.0.1 from the streamer's own
//! browser). A browser sends `Origin` with every cross-site POST and every
//! WebSocket handshake; a post must be JSON, which no page can send to
//! another site without the CORS pre-flight this server never answers.
//! Clients that are not browsers (the host's feed, scripts) send no `Origin`
//! and are unaffected.

use axum::http::{HeaderMap, header};

/// Why a request looks cross-site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrossSite {
    /// A post whose body is not declared `application/json`.
    #[error("posts must be sent as Content-Type: application/json")]
    NotJson,
    /// A page of another site sent it.
    #[error("requests from {0} are not accepted here")]
    ForeignOrigin(String),
}

/// Checks the `Origin` a browser sent: the configured public origin (the
/// address viewers use, behind a TLS proxy say), or else the server itself
/// as the request addressed it (`Host`).
pub fn check_origin(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), CrossSite> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let allowed = match public_origin {
        Some(public) => origin.eq_ignore_ascii_case(public.trim_end_matches('/')),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .unwrap_or_default();
            let authority = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            !host.is_empty()
                && authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host))
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(CrossSite::ForeignOrigin(origin.chars().take(100).collect()))
    }
}

/// Checks a post: JSON, from this site (see [`check_origin`]).
pub fn check_post(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), CrossSite> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(CrossSite::NotJson);
    }
    check_origin(headers, public_origin)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap()))
            .collect()
    }

    #[test]
    fn same_site_and_non_browser_requests_pass_others_do_not() {
        let json = (header::CONTENT_TYPE, "application/json; charset=utf-8");
        let host = (header::HOST, "127.0.0.1:8090");
        assert_eq!(
            check_post(&headers(std::slice::from_ref(&json)), None),
            Ok(())
        );
        assert_eq!(
            check_post(&headers(&[(header::CONTENT_TYPE, "text/plain")]), None),
            Err(CrossSite::NotJson)
        );
        assert_eq!(
            check_post(&headers(std::slice::from_ref(&host)), None),
            Err(CrossSite::NotJson)
        );
        let same = (header::ORIGIN, "http://127.0.0.1:8090");
        let evil = (header::ORIGIN, "https://evil.example");
        assert_eq!(
            check_origin(&headers(&[host.clone(), same.clone()]), None),
            Ok(())
        );
        assert!(check_origin(&headers(&[host.clone(), evil.clone()]), None).is_err());
        assert!(check_post(&headers(&[json, host.clone(), evil]), None).is_err());
        // Behind a proxy the public origin decides, not the Host it forwards.
        let public = Some("https://chat.example/");
        let proxied = (header::ORIGIN, "https://chat.example");
        assert_eq!(
            check_origin(&headers(&[host.clone(), proxied]), public),
            Ok(())
        );
        assert!(check_origin(&headers(&[host, same]), public).is_err());
    }
}
