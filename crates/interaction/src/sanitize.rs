//! Cleaning text that arrives from viewers before anything else sees it:
//! control characters go, length is capped on a character boundary.

/// Longest chat text kept, in characters (longer text is cut).
pub const MAX_CHAT_CHARS: usize = 500;
/// Longest viewer name kept, in characters.
pub const MAX_USER_CHARS: usize = 32;

/// Removes control characters (newlines and tabs included: chat is one line),
/// trims, collapses runs of whitespace and keeps at most `max_chars` characters.
pub fn clean_text(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut kept = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible_format(c) {
            continue;
        }
        if pending_space {
            if kept + 1 >= max_chars {
                break;
            }
            out.push(' ');
            kept += 1;
            pending_space = false;
        }
        if kept >= max_chars {
            break;
        }
        out.push(c);
        kept += 1;
    }
    out
}

/// A viewer name: cleaned like chat, capped at [`MAX_USER_CHARS`].
pub fn clean_user_name(name: &str) -> String {
    clean_text(name, MAX_USER_CHARS)
}

/// Bidirectional overrides and zero-width marks that can hide or reorder text.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_controls_and_collapses_space() {
        assert_eq!(
            clean_text("  hi\u{7}\n\tthere \u{202E}you  ", 100),
            "hi there you"
        );
        assert_eq!(clean_text("\u{0}\u{1b}[31m red", 100), "[31m red");
    }

    #[test]
    fn caps_on_character_boundaries() {
        assert_eq!(clean_text("ééééé", 3), "ééé");
        assert_eq!(clean_text("ab cd", 3), "ab");
        assert_eq!(clean_text("", 3), "");
        assert_eq!(
            clean_user_name(&"x".repeat(100)).chars().count(),
            MAX_USER_CHARS
        );
    }

    proptest::proptest! {
        #[test]
        fn never_keeps_controls_or_exceeds_the_cap(text in ".*", max in 0usize..50) {
            let cleaned = clean_text(&text, max);
            proptest::prop_assert!(cleaned.chars().count() <= max);
            proptest::prop_assert!(!cleaned.chars().any(char::is_control));
            proptest::prop_assert_eq!(cleaned.trim(), cleaned.as_str());
        }
    }
}
