//! The moderator token and the check of `Authorization: Bearer …` headers.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// The secret moderators present, kept as its SHA-256 digest. Never
/// printed: its `Debug` is redacted.
#[derive(Clone)]
pub struct ModToken([u8; 32]);

impl ModToken {
    /// `None` for an empty token, which would make moderation open to anyone
    /// sending an empty bearer token.
    pub fn new(token: String) -> Option<Self> {
        (!token.trim().is_empty()).then(|| Self(Sha256::digest(token.as_bytes()).into()))
    }

    /// Compares digests of equal length in time independent of where the
    /// first difference is, so neither the token nor its length can be
    /// learnt from response times.
    fn matches(&self, presented: &str) -> bool {
        let theirs: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.0
            .iter()
            .zip(theirs)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

impl fmt::Debug for ModToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ModToken(<redacted>)")
    }
}

/// A moderator token read from the first line of a file (the way to keep it
/// out of argv and the environment), and a warning when users other than
/// the owner may read that file.
pub fn read_token_file(path: &std::path::Path) -> Result<(ModToken, Option<String>), String> {
    let (token, warning) = read_secret_file(path, "moderator token")?;
    let token = ModToken::new(token)
        .ok_or_else(|| format!("the moderator token file {} is empty", path.display()))?;
    Ok((token, warning))
}

/// The first line of a file holding a secret (`what`, for messages), and a
/// warning when users other than the owner may read that file.
pub fn read_secret_file(
    path: &std::path::Path,
    what: &str,
) -> Result<(String, Option<String>), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read the {what} file {}: {err}", path.display()))?;
    let secret = text.lines().next().unwrap_or_default().trim().to_owned();
    if secret.is_empty() {
        return Err(format!("the {what} file {} is empty", path.display()));
    }
    let mode = std::fs::metadata(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?
        .permissions()
        .mode();
    let warning = (mode & 0o077 != 0).then(|| {
        format!(
            "the {what} file {} can be read by other users; make it yours alone: chmod 600 '{}'",
            path.display(),
            path.display()
        )
    });
    Ok((secret, warning))
}

/// Why a moderator request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The server was started without a token.
    #[error("moderation is disabled on this server (start it with --mod-token-file)")]
    Disabled,
    /// No `Authorization: Bearer` header.
    #[error("moderation needs an `Authorization: Bearer TOKEN` header")]
    Missing,
    /// A token, but not the right one.
    #[error("wrong moderator token")]
    Wrong,
}

/// Checks an `Authorization` header value against the server's token.
pub fn check(expected: Option<&ModToken>, authorization: Option<&str>) -> Result<(), AuthError> {
    let expected = expected.ok_or(AuthError::Disabled)?;
    let presented = authorization
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(AuthError::Missing)?;
    if expected.matches(presented.trim()) {
        Ok(())
    } else {
        Err(AuthError::Wrong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_read_and_one_others_can_read_is_warned_about() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (token, warning) = read_token_file(&path).unwrap();
        assert!(token.matches("s3cret"));
        assert_eq!(warning, None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (_, warning) = read_token_file(&path).unwrap();
        assert!(warning.unwrap().contains("chmod 600"));
        std::fs::write(&path, "\n").unwrap();
        assert!(read_token_file(&path).unwrap_err().contains("is empty"));
        assert!(read_token_file(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn only_the_right_bearer_token_passes() {
        let token = ModToken::new("s3cret".into()).unwrap();
        assert_eq!(check(Some(&token), Some("Bearer s3cret")), Ok(()));
        assert_eq!(
            check(Some(&token), Some("Bearer s3cre")),
            Err(AuthError::Wrong)
        );
        assert_eq!(
            check(Some(&token), Some("Bearer s3cret!")),
            Err(AuthError::Wrong)
        );
        assert_eq!(
            check(Some(&token), Some("Basic s3cret")),
            Err(AuthError::Missing)
        );
        assert_eq!(check(Some(&token), None), Err(AuthError::Missing));
        assert_eq!(check(None, Some("Bearer s3cret")), Err(AuthError::Disabled));
    }

    #[test]
    fn tokens_of_any_length_compare_as_digests() {
        let token = ModToken::new("s3cret".into()).unwrap();
        for guess in ["", "s", "s3cre", "s3cret ", "s3cretX", &"x".repeat(4096)] {
            assert!(!token.matches(guess), "{guess:?}");
        }
        assert!(token.matches("s3cret"));
    }

    #[test]
    fn empty_tokens_are_not_tokens_and_none_is_printed() {
        assert!(ModToken::new("  ".into()).is_none());
        let token = ModToken::new("s3cret".into()).unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
