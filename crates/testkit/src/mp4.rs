//! The layout of an MP4 file, to tell a finalised fragmented recording
//! (its fragments, then their index `mfra`) from one cut short.

use std::path::Path;

/// The four-letter types of the file's top-level boxes, in order
/// (`ftyp`, `mdat`, `moov`, `moof`, …); a truncated last box ends the list.
pub fn top_level_boxes(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut boxes = Vec::new();
    let mut at = 0usize;
    while let Some(header) = bytes.get(at..at + 8) {
        let size = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let size = match size {
            0 => bytes.len() - at, // to the end of the file
            1 => match bytes.get(at + 8..at + 16) {
                Some(large) => u64::from_be_bytes(large.try_into().expect("8 bytes")) as usize,
                None => break,
            },
            size => size as usize,
        };
        if size < 8 {
            break;
        }
        boxes.push(String::from_utf8_lossy(&header[4..8]).into_owned());
        at = at.saturating_add(size);
    }
    boxes
}

/// Whether `path` is a finalised MP4: a `moov`, and when fragmented the
/// fragment index (`mfra`) a normal stop writes last.
pub fn is_finalised(path: &Path) -> bool {
    let boxes = top_level_boxes(path);
    let fragmented = boxes.iter().any(|b| b == "moof");
    boxes.iter().any(|b| b == "moov") && (!fragmented || boxes.last().is_some_and(|b| b == "mfra"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], body: usize) -> Vec<u8> {
        let mut bytes = ((body + 8) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes.resize(body + 8, 0);
        bytes
    }

    #[test]
    fn boxes_are_read_in_order_and_a_cut_box_ends_the_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.mp4");
        let mut bytes = [
            mp4_box(b"ftyp", 8),
            mp4_box(b"mdat", 20),
            mp4_box(b"moov", 4),
        ]
        .concat();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(top_level_boxes(&path), ["ftyp", "mdat", "moov"]);
        assert!(is_finalised(&path));
        bytes.extend(mp4_box(b"moof", 4));
        bytes.extend(mp4_box(b"mdat", 4));
        let cut = [bytes.as_slice(), &[0, 0]].concat();
        std::fs::write(&path, &cut).unwrap();
        assert_eq!(
            top_level_boxes(&path),
            ["ftyp", "mdat", "moov", "moof", "mdat"]
        );
        assert!(!is_finalised(&path), "fragments without their index");
        bytes.extend(mp4_box(b"mfra", 4));
        std::fs::write(&path, &bytes).unwrap();
        assert!(is_finalised(&path));
    }
}
