//! Framing: a fixed 16-byte prefix, a small serialized header, then raw payload bytes.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "BLSP"
//!      4     2  protocol version (u16 LE)
//!      6     2  reserved, must be 0
//!      8     4  header length (u32 LE, ≤ MAX_HEADER_LEN)
//!     12     4  payload length (u32 LE, exactly what the header implies)
//!     16     …  header: the message, postcard-encoded
//!      …     …  payload: pixels or samples, never passed through serde
//! ```
//!
//! Large payloads are written after the header straight from the caller's
//! buffer and read straight into a reused buffer, so a 1080p frame is never
//! copied by the codec.

use core::ops::Range;

use thiserror::Error;

use crate::messages::{PayloadKind, WireMessage};

/// First four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"BLSP";
/// Version of the framing and of every message layout; peers must match exactly.
pub const PROTOCOL_VERSION: u16 = 4;
/// Size of the fixed prefix.
pub const PREFIX_LEN: usize = 16;
/// Largest serialized header (a backlog part of 256 long chat lines fits).
pub const MAX_HEADER_LEN: u32 = 1 << 20;
/// Largest payload: an 8K RGBA frame with the most row padding.
pub const MAX_PAYLOAD_LEN: u32 =
    crate::media::MAX_DIMENSION * (crate::media::MAX_DIMENSION * 4 + crate::media::MAX_ROW_PADDING);

/// Why bytes from a peer were rejected. Every variant means "drop this peer".
#[derive(Debug, Error)]
pub enum DecodeError {
    /// The stream is not ours (or lost sync).
    #[error("bad magic {0:02x?}: not a bevy_livestream peer")]
    BadMagic([u8; 4]),
    /// The peer speaks another protocol version.
    #[error("peer speaks protocol v{theirs}, this build speaks v{ours}")]
    UnsupportedVersion {
        /// Our version.
        ours: u16,
        /// The peer's.
        theirs: u16,
    },
    /// Reserved prefix bits were set.
    #[error("reserved prefix field is {0:#x}, expected 0")]
    Reserved(u16),
    /// Declared header length over [`MAX_HEADER_LEN`].
    #[error("header of {0} bytes exceeds the {MAX_HEADER_LEN}-byte limit")]
    HeaderTooLarge(u32),
    /// Declared payload length over [`MAX_PAYLOAD_LEN`].
    #[error("payload of {0} bytes exceeds the {MAX_PAYLOAD_LEN}-byte limit")]
    PayloadTooLarge(u32),
    /// The header is not a valid message.
    #[error("malformed header: {0}")]
    Malformed(#[from] postcard::Error),
    /// The header decoded but bytes were left over.
    #[error("{0} stray bytes after the header")]
    TrailingBytes(usize),
    /// The declared payload length does not match what the header implies.
    #[error("payload length {declared} does not match the header, which implies {expected}")]
    PayloadMismatch {
        /// Length in the prefix.
        declared: u32,
        /// Length the header implies.
        expected: usize,
    },
    /// A video header with impossible geometry.
    #[error("invalid video frame header: {0}")]
    InvalidVideo(&'static str),
    /// An audio header with an impossible format.
    #[error("invalid audio chunk header: {0}")]
    InvalidAudio(&'static str),
    /// A field over its limit.
    #[error("invalid message: {0}")]
    Invalid(&'static str),
}

/// Why a message could not be encoded (a bug on the sending side, never the peer's fault).
#[derive(Debug, Error)]
pub enum EncodeError {
    /// The message breaks a limit the receiver would enforce.
    #[error(transparent)]
    Invalid(#[from] DecodeError),
    /// The header would exceed [`MAX_HEADER_LEN`].
    #[error("header of {0} bytes exceeds the {MAX_HEADER_LEN}-byte limit")]
    HeaderTooLarge(usize),
}

/// The fixed prefix of a frame, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePrefix {
    /// Bytes of serialized header that follow the prefix.
    pub header_len: u32,
    /// Bytes of raw payload that follow the header.
    pub payload_len: u32,
}

impl FramePrefix {
    /// Parses and checks a prefix.
    pub fn parse(bytes: &[u8; PREFIX_LEN]) -> Result<Self, DecodeError> {
        let [
            m0,
            m1,
            m2,
            m3,
            v0,
            v1,
            r0,
            r1,
            h0,
            h1,
            h2,
            h3,
            p0,
            p1,
            p2,
            p3,
        ] = *bytes;
        let magic = [m0, m1, m2, m3];
        if magic != MAGIC {
            return Err(DecodeError::BadMagic(magic));
        }
        let version = u16::from_le_bytes([v0, v1]);
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                ours: PROTOCOL_VERSION,
                theirs: version,
            });
        }
        let reserved = u16::from_le_bytes([r0, r1]);
        if reserved != 0 {
            return Err(DecodeError::Reserved(reserved));
        }
        let header_len = u32::from_le_bytes([h0, h1, h2, h3]);
        if header_len > MAX_HEADER_LEN {
            return Err(DecodeError::HeaderTooLarge(header_len));
        }
        let payload_len = u32::from_le_bytes([p0, p1, p2, p3]);
        if payload_len > MAX_PAYLOAD_LEN {
            return Err(DecodeError::PayloadTooLarge(payload_len));
        }
        Ok(Self {
            header_len,
            payload_len,
        })
    }

    /// The prefix's wire bytes.
    pub fn to_bytes(self) -> [u8; PREFIX_LEN] {
        let mut out = [0u8; PREFIX_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        out[8..12].copy_from_slice(&self.header_len.to_le_bytes());
        out[12..16].copy_from_slice(&self.payload_len.to_le_bytes());
        out
    }
}

/// Writes the prefix and header of `message` into `out` (cleared first).
///
/// The caller writes exactly `payload_len` payload bytes after it; the length
/// is checked against what the message implies.
pub fn encode_header<M: WireMessage>(
    message: &M,
    payload_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    check_payload(message, payload_len)?;
    out.clear();
    out.resize(PREFIX_LEN, 0);
    let mut out_buf = core::mem::take(out);
    out_buf = postcard::to_extend(message, out_buf).map_err(DecodeError::Malformed)?;
    *out = out_buf;
    let header_len = out.len() - PREFIX_LEN;
    if header_len > MAX_HEADER_LEN as usize {
        return Err(EncodeError::HeaderTooLarge(header_len));
    }
    let prefix = FramePrefix {
        header_len: header_len as u32,
        payload_len: payload_len as u32,
    };
    out[..PREFIX_LEN].copy_from_slice(&prefix.to_bytes());
    Ok(())
}

fn check_payload<M: WireMessage>(message: &M, payload_len: usize) -> Result<(), DecodeError> {
    let expected = match message.validate()? {
        PayloadKind::None => 0,
        PayloadKind::Exact(len) => len,
    };
    if expected != payload_len {
        return Err(DecodeError::PayloadMismatch {
            declared: u32::try_from(payload_len).unwrap_or(u32::MAX),
            expected,
        });
    }
    Ok(())
}

/// Decodes a header given its prefix, and checks the payload length it implies.
pub fn decode_header<M: WireMessage>(
    prefix: &FramePrefix,
    header: &[u8],
) -> Result<M, DecodeError> {
    let (message, rest) = postcard::take_from_bytes::<M>(header)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    check_payload(&message, prefix.payload_len as usize)?;
    Ok(message)
}

/// A frame found in a buffer by [`decode_frame`].
#[derive(Debug)]
pub struct DecodedFrame<M> {
    /// The message.
    pub message: M,
    /// Where its payload lies in the buffer.
    pub payload: Range<usize>,
    /// Bytes of the buffer the frame used.
    pub consumed: usize,
}

/// Decodes the first frame of `buf`; `Ok(None)` when more bytes are needed.
pub fn decode_frame<M: WireMessage>(buf: &[u8]) -> Result<Option<DecodedFrame<M>>, DecodeError> {
    let Some(prefix_bytes) = buf.first_chunk::<PREFIX_LEN>() else {
        return Ok(None);
    };
    let prefix = FramePrefix::parse(prefix_bytes)?;
    let header_end = PREFIX_LEN + prefix.header_len as usize;
    let Some(header) = buf.get(PREFIX_LEN..header_end) else {
        return Ok(None);
    };
    let message = decode_header::<M>(&prefix, header)?;
    let end = header_end + prefix.payload_len as usize;
    if buf.len() < end {
        return Ok(None);
    }
    Ok(Some(DecodedFrame {
        message,
        payload: header_end..end,
        consumed: end,
    }))
}

/// Encodes a whole frame (header and payload) into one buffer; for tests and small messages.
pub fn encode_frame<M: WireMessage>(message: &M, payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(PREFIX_LEN + 64 + payload.len());
    encode_header(message, payload.len(), &mut out)?;
    out.extend_from_slice(payload);
    Ok(out)
}
