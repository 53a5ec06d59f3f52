//! Viewer tokens: what a viewer's posts are charged to. The server issues
//! them (`POST /viewers`, the viewer page does it on load), so
//! a viewer's allowance is never keyed by a name, which anyone can type: a
//! post under "ann" spends the poster's allowance, not Ann's. A token is a
//! random id and its HMAC-SHA256 under a key made for this run, so the
//! server keeps nothing per viewer and a made-up token is refused.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of a viewer id.
const ID_BYTES: usize = 12;
/// Bytes of the MAC kept in a token (128 bits).
const TAG_BYTES: usize = 16;

/// Issues and checks viewer tokens with this run's key.
pub struct ViewerTokens {
    key: [u8; 32],
}

/// A viewer, as a token names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ViewerId([u8; ID_BYTES]);

impl fmt::Display for ViewerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for ViewerTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ViewerTokens(<key redacted>)")
    }
}

/// The OS gave no random bytes.
#[derive(Debug, thiserror::Error)]
#[error("no random numbers from the OS: {0}")]
pub struct NoRandomness(getrandom::Error);

impl ViewerTokens {
    /// A fresh random key: tokens of an earlier run are not accepted.
    pub fn for_this_run() -> Result<Self, NoRandomness> {
        Ok(Self::with_key(Self::random_key()?))
    }

    /// Tokens signed with `key`: servers sharing it accept each other's.
    pub fn with_key(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// 32 random bytes from the OS, for a key.
    pub fn random_key() -> Result<[u8; 32], NoRandomness> {
        let mut key = [0; 32];
        getrandom::fill(&mut key).map_err(NoRandomness)?;
        Ok(key)
    }

    /// A new viewer's token: `ID.TAG`, both hexadecimal.
    pub fn issue(&self) -> Result<String, NoRandomness> {
        let mut id = [0; ID_BYTES];
        getrandom::fill(&mut id).map_err(NoRandomness)?;
        let tag = self.mac(&id).finalize().into_bytes();
        Ok(format!("{}.{}", hex(&id), hex(&tag[..TAG_BYTES])))
    }

    /// The viewer a token names, if this run issued it (checked in
    /// constant time).
    pub fn verify(&self, token: &str) -> Option<ViewerId> {
        let (id, tag) = token.split_once('.')?;
        let id: [u8; ID_BYTES] = unhex(id)?.try_into().ok()?;
        let tag = unhex(tag)?;
        if tag.len() != TAG_BYTES {
            return None;
        }
        self.mac(&id).verify_truncated_left(&tag).ok()?;
        Some(ViewerId(id))
    }

    fn mac(&self, id: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(id);
        mac
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_name_distinct_viewers() {
        let tokens = ViewerTokens::for_this_run().unwrap();
        let ann = tokens.issue().unwrap();
        let bob = tokens.issue().unwrap();
        let (ann_id, bob_id) = (tokens.verify(&ann).unwrap(), tokens.verify(&bob).unwrap());
        assert_ne!(ann_id, bob_id);
        assert_eq!(
            tokens.verify(&ann),
            Some(ann_id),
            "a token keeps naming its viewer"
        );
    }

    #[test]
    fn servers_sharing_a_key_accept_each_others_tokens() {
        let key = ViewerTokens::random_key().unwrap();
        let (node_a, node_b) = (ViewerTokens::with_key(key), ViewerTokens::with_key(key));
        let token = node_a.issue().unwrap();
        assert_eq!(node_b.verify(&token), node_a.verify(&token));
        assert!(node_b.verify(&token).is_some());
    }

    #[test]
    fn made_up_altered_or_foreign_tokens_are_refused() {
        let tokens = ViewerTokens::for_this_run().unwrap();
        let token = tokens.issue().unwrap();
        let (id, tag) = token.split_once('.').unwrap();
        let mut altered = tag.to_owned().into_bytes();
        altered[0] = if altered[0] == b'0' { b'1' } else { b'0' };
        let altered = format!("{id}.{}", String::from_utf8(altered).unwrap());
        let other_run = ViewerTokens::for_this_run().unwrap().issue().unwrap();
        for bad in [
            "",
            "ann",
            ".",
            &format!("{id}."),
            &format!("{id}.{}", &tag[..8]),
            &altered,
            &other_run,
            "zz.zz",
            "é.é",
        ] {
            assert_eq!(tokens.verify(bad), None, "{bad:?}");
        }
    }
}
