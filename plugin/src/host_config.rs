//! What a game reads of the user's host settings (`host.ron`) before any
//! host runs: whether it names a destination. Without one, the Go-live
//! pop-up asks the player where to stream first.

use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The two fields that say where a stream goes; the rest is the host's.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Destinations {
    outputs: Vec<IgnoredAny>,
    destinations: Vec<IgnoredAny>,
}

/// Whether the settings file at `path` names an output or a destination
/// (a missing or unreadable file names none).
pub(crate) fn names_a_destination(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| ron::from_str::<Destinations>(&text).ok())
        .is_some_and(|found| !found.outputs.is_empty() || !found.destinations.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_or_destinations_name_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.ron");
        assert!(!names_a_destination(&path), "no file");
        for (text, named) in [
            ("(fps: 30)", false),
            (r#"(outputs: ["rtmp://h/app/k"])"#, true),
            (r#"(destinations: [Twitch(key: "k")], fps: 30)"#, true),
            ("(destinations: [RecordOnly])", true),
            ("not ron", false),
        ] {
            std::fs::write(&path, text).unwrap();
            assert_eq!(names_a_destination(&path), named, "{text}");
        }
    }
}
