//! Reading CR LF–terminated lines with a length cap, so a hostile server's
//! 100 KB line costs a counter, not memory or the connection.

use std::io::{self, Read};

/// One line read, or why it was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line, without its line ending.
    Text(String),
    /// A line longer than the cap: its bytes were discarded.
    TooLong(usize),
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Splits a byte stream into capped lines.
#[derive(Debug)]
pub struct LineReader {
    buffer: Vec<u8>,
    max: usize,
    /// Bytes of an over-long line discarded so far, while skipping to its end.
    skipping: Option<usize>,
}

impl LineReader {
    /// Lines longer than `max` bytes are skipped.
    pub fn new(max: usize) -> Self {
        Self {
            buffer: Vec::new(),
            max,
            skipping: None,
        }
    }

    /// Reads once from `source` (a read timeout surfaces as its I/O error) and
    /// returns the lines completed so far. `Ok(None)` means end of stream.
    pub fn read_from(&mut self, source: &mut impl Read) -> io::Result<Option<Vec<Line>>> {
        let mut chunk = [0u8; 4096];
        let n = source.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(self.push(&chunk[..n])))
    }

    /// Feeds bytes and returns the lines they complete.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Line> {
        let mut lines = Vec::new();
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|b| *b == b'\n');
            let (part, rest) = match newline {
                Some(at) => (&bytes[..at], Some(&bytes[at + 1..])),
                None => (bytes, None),
            };
            match &mut self.skipping {
                Some(skipped) => *skipped += part.len(),
                None if self.buffer.len() + part.len() > self.max => {
                    self.skipping = Some(self.buffer.len() + part.len());
                    self.buffer.clear();
                }
                None => self.buffer.extend_from_slice(part),
            }
            let Some(rest) = rest else { break };
            bytes = rest;
            if let Some(skipped) = self.skipping.take() {
                lines.push(Line::TooLong(skipped));
                continue;
            }
            let raw = std::mem::take(&mut self.buffer);
            let raw = raw.strip_suffix(b"\r").unwrap_or(&raw);
            if raw.is_empty() {
                continue;
            }
            lines.push(match std::str::from_utf8(raw) {
                Ok(text) => Line::Text(text.to_owned()),
                Err(_) => Line::NotUtf8,
            });
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_reads_and_strips_crlf() {
        let mut reader = LineReader::new(100);
        assert_eq!(
            reader.push(b"PING :a\r\nPRIV"),
            [Line::Text("PING :a".into())]
        );
        assert_eq!(
            reader.push(b"MSG #c :hi\r\n\r\n"),
            [Line::Text("PRIVMSG #c :hi".into())]
        );
    }

    #[test]
    fn skips_long_lines_and_bad_utf8_then_goes_on() {
        let mut reader = LineReader::new(16);
        let mut lines = reader.push(&[b'x'; 10]);
        lines.extend(reader.push(&[b'x'; 100_000]));
        lines.extend(reader.push(b"\nok\n\xff\xfe\nnext\n"));
        assert_eq!(
            lines,
            [
                Line::TooLong(100_010),
                Line::Text("ok".into()),
                Line::NotUtf8,
                Line::Text("next".into())
            ]
        );
    }
}
