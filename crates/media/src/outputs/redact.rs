//! Hiding the secrets of a streaming URL (stream keys, passwords, tokens)
//! wherever it is shown.

/// Replaces the secret parts of a streaming URL with `***`: the RTMP stream
/// key (last path segment after the app), user info, and the values of
/// `streamid`, `passphrase`, `key`, `token` and similar query parameters.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    let mut out = format!("{scheme}://{authority}");
    if let Some(path) = path {
        let mut segments: Vec<&str> = path.split('/').collect();
        // rtmp://host/app/KEY: everything after the application is the key.
        if scheme.starts_with("rtmp") && segments.len() > 1 {
            segments.truncate(1);
            segments.push("***");
        }
        out.push('/');
        out.push_str(&segments.join("/"));
    }
    if let Some(query) = query {
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_secret_param(k) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&redacted.join("&"));
    }
    out
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "streamid",
        "passphrase",
        "key",
        "token",
        "secret",
        "auth",
        "pass",
    ]
    .iter()
    .any(|s| name.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        assert_eq!(
            redact_url("srt://h:9000?mode=caller&streamid=SECRET&passphrase=SECRET2"),
            "srt://h:9000?mode=caller&streamid=***&passphrase=***"
        );
        assert_eq!(
            redact_url("rtmp://user:SECRET@h/live/KEY"),
            "rtmp://***@h/live/***"
        );
        assert_eq!(redact_url("rtmp://h/live"), "rtmp://h/live");
        assert_eq!(redact_url("no scheme SECRET"), "***");
    }
}
