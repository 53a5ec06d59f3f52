//! Blocking frame I/O over a socket half, interruptible: the socket has short
//! send/receive timeouts, and every wait re-checks a stop flag and a deadline,
//! so a link can be closed from another thread without platform-specific
//! socket shutdown calls.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use livestream_protocol::{
    DecodeError, EncodeError, FramePrefix, PREFIX_LEN, WireMessage, decode_header, encode_header,
};

use crate::payload::{Payload, PayloadPool};

/// Why reading a frame ended.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer closed the connection between frames.
    #[error("peer closed the connection")]
    Closed,
    /// The peer closed the connection in the middle of a frame.
    #[error("peer disconnected mid-frame")]
    Truncated,
    /// The peer sent bytes that are not a valid frame.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The socket failed.
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
    /// No complete frame arrived before the deadline.
    #[error("timed out waiting for the peer")]
    TimedOut,
    /// This side is closing the link.
    #[error("link closed locally")]
    Stopped,
}

/// Why writing a frame failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The message could not be encoded (a sender-side bug).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The socket failed (usually: the peer is gone).
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
    /// This side is closing the link.
    #[error("link closed locally")]
    Stopped,
}

/// One socket shared by a link's reader and writer threads (`&Stream` reads and writes).
#[derive(Debug, Clone)]
pub(crate) struct SharedStream(pub(crate) Arc<interprocess::local_socket::Stream>);

impl Read for SharedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Write for SharedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.0).flush()
    }
}

/// Socket buffer size asked for: room for a 1080p I420 frame, so a frame
/// crosses in few wake-ups (Linux caps it at `net.core.wmem_max`).
pub(crate) const SOCKET_BUFFER_BYTES: usize = 4 << 20;

/// Enlarges the socket's kernel buffers where the platform allows; failure
/// only costs throughput, so it is logged, not returned.
pub(crate) fn enlarge_socket_buffers(stream: &interprocess::local_socket::Stream) {
    #[cfg(target_os = "linux")]
    {
        use nix::sys::socket::{setsockopt, sockopt};
        use std::os::fd::AsFd;
        let interprocess::local_socket::Stream::UdSocket(socket) = stream;
        let fd = socket.as_fd();
        let result = setsockopt(&fd, sockopt::SndBuf, &SOCKET_BUFFER_BYTES)
            .and_then(|()| setsockopt(&fd, sockopt::RcvBuf, &SOCKET_BUFFER_BYTES));
        if let Err(err) = result {
            tracing::debug!("could not enlarge socket buffers: {err}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

fn is_reset(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
    )
}

fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Bytes of a payload allocated ahead of those received.
const PAYLOAD_STEP: usize = 1 << 20;

/// Reads whole frames from a socket half into reused buffers.
pub(crate) struct FrameReader<R> {
    inner: R,
    header: Vec<u8>,
    pool: PayloadPool,
    stop: Arc<AtomicBool>,
}

impl<R: Read> FrameReader<R> {
    pub(crate) fn new(inner: R, pool: PayloadPool, stop: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            header: Vec::new(),
            pool,
            stop,
        }
    }

    /// Reads one frame; waits until `deadline` if given, else until stopped.
    pub(crate) fn read<M: WireMessage>(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<(M, Payload), ReadError> {
        // A busy peer never lets a read time out: check for a stop between frames too.
        if self.stop.load(Ordering::Acquire) {
            return Err(ReadError::Stopped);
        }
        let mut prefix = [0u8; PREFIX_LEN];
        self.fill(&mut prefix, true, deadline)?;
        let prefix = FramePrefix::parse(&prefix)?;
        let mut header = core::mem::take(&mut self.header);
        header.resize(prefix.header_len as usize, 0);
        let filled = self.fill(&mut header, false, deadline);
        let decoded = filled.and_then(|()| Ok(decode_header::<M>(&prefix, &header)?));
        self.header = header;
        let message = decoded?;
        // Grown as the bytes arrive: a peer that declares a huge payload and
        // sends little costs only what it sent.
        let mut payload = self.pool.take(0);
        let bytes = payload.bytes_mut();
        let len = prefix.payload_len as usize;
        while bytes.len() < len {
            let start = bytes.len();
            let end = len.min(start + PAYLOAD_STEP);
            bytes.resize(end, 0);
            self.fill(&mut bytes[start..end], false, deadline)?;
        }
        Ok((message, payload))
    }

    fn fill(
        &mut self,
        buf: &mut [u8],
        at_boundary: bool,
        deadline: Option<Instant>,
    ) -> Result<(), ReadError> {
        let mut filled = 0;
        while filled < buf.len() {
            // Checked before every read, not only when one times out: a peer
            // trickling a byte at a time never lets a read time out.
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(ReadError::TimedOut);
            }
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) if filled == 0 && at_boundary => return Err(ReadError::Closed),
                Ok(0) => return Err(ReadError::Truncated),
                Ok(n) => filled += n,
                // A peer killed with unread data resets instead of closing: same as EOF.
                Err(err) if is_reset(&err) && filled == 0 && at_boundary => {
                    return Err(ReadError::Closed);
                }
                Err(err) if is_reset(&err) => return Err(ReadError::Truncated),
                Err(err) if is_timeout(&err) => {
                    if self.stop.load(Ordering::Acquire) {
                        return Err(ReadError::Stopped);
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(ReadError::TimedOut);
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(ReadError::Truncated);
                }
                Err(err) => return Err(ReadError::Io(err)),
            }
        }
        Ok(())
    }
}

/// Writes whole frames to a socket half; the payload is written from the caller's buffer.
pub(crate) struct FrameWriter<W> {
    inner: W,
    header: Vec<u8>,
    stop: Arc<AtomicBool>,
}

impl<W: Write> FrameWriter<W> {
    pub(crate) fn new(inner: W, stop: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            header: Vec::with_capacity(256),
            stop,
        }
    }

    /// Writes one frame: prefix and header, then the payload bytes.
    pub(crate) fn write<M: WireMessage>(
        &mut self,
        message: &M,
        payload: &[u8],
    ) -> Result<(), WriteError> {
        encode_header(message, payload.len(), &mut self.header)?;
        let header = core::mem::take(&mut self.header);
        let result = self
            .write_all(&header)
            .and_then(|()| self.write_all(payload));
        self.header = header;
        result?;
        self.inner.flush().map_err(WriteError::Io)
    }

    fn write_all(&mut self, mut buf: &[u8]) -> Result<(), WriteError> {
        while !buf.is_empty() {
            match self.inner.write(buf) {
                Ok(0) => return Err(WriteError::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => buf = &buf[n..],
                Err(err) if is_timeout(&err) => {
                    if self.stop.load(Ordering::Acquire) {
                        return Err(WriteError::Stopped);
                    }
                }
                Err(err) => return Err(WriteError::Io(err)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livestream_protocol::{GameMessage, PixelFormat, VideoFrameHeader};

    fn reader(bytes: Vec<u8>) -> FrameReader<io::Cursor<Vec<u8>>> {
        FrameReader::new(
            io::Cursor::new(bytes),
            PayloadPool::new(2),
            Arc::new(AtomicBool::new(false)),
        )
    }

    #[test]
    fn writes_and_reads_back_frames() {
        let mut bytes = Vec::new();
        let stop = Arc::new(AtomicBool::new(false));
        let mut writer = FrameWriter::new(&mut bytes, stop);
        let header = VideoFrameHeader::packed(PixelFormat::I420, 4, 2);
        writer
            .write(&GameMessage::VideoFrame(header), &[9; 12])
            .unwrap();
        writer.write(&GameMessage::StopStream, &[]).unwrap();
        let mut reader = reader(bytes);
        let (first, payload) = reader.read::<GameMessage>(None).unwrap();
        assert_eq!(first, GameMessage::VideoFrame(header));
        assert_eq!(&*payload, &[9; 12]);
        let (second, _) = reader.read::<GameMessage>(None).unwrap();
        assert_eq!(second, GameMessage::StopStream);
        assert!(matches!(
            reader.read::<GameMessage>(None),
            Err(ReadError::Closed)
        ));
    }

    #[test]
    fn cut_frames_are_truncation_not_clean_close() {
        let bytes = livestream_protocol::encode_frame(&GameMessage::StopStream, &[]).unwrap();
        for cut in 1..bytes.len() {
            let mut reader = reader(bytes[..cut].to_vec());
            assert!(
                matches!(reader.read::<GameMessage>(None), Err(ReadError::Truncated)),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let mut reader = reader(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
        assert!(matches!(
            reader.read::<GameMessage>(None),
            Err(ReadError::Decode(DecodeError::BadMagic(_)))
        ));
    }

    #[test]
    fn a_payload_declared_but_not_sent_costs_only_what_arrived() {
        // A 7680×7680 RGBA frame declared, 3 MB of it sent, then the peer stops.
        let header = VideoFrameHeader::packed(PixelFormat::Rgba8, 7680, 7680);
        let declared = header.payload_len().unwrap();
        let mut bytes = Vec::new();
        encode_header(&GameMessage::VideoFrame(header), declared, &mut bytes).unwrap();
        bytes.resize(bytes.len() + 3_000_000, 5);
        let pool = PayloadPool::new(2);
        let mut reader = FrameReader::new(
            io::Cursor::new(bytes),
            pool.clone(),
            Arc::new(AtomicBool::new(false)),
        );
        assert!(matches!(
            reader.read::<GameMessage>(None),
            Err(ReadError::Truncated)
        ));
        // The buffer the reader grew went back to the pool: it holds what
        // arrived plus one step, not the declared 236 MB.
        let grown = pool.take(0);
        assert!(
            grown.bytes_capacity() <= 3_000_000 + 2 * PAYLOAD_STEP,
            "{} bytes allocated for {declared} declared",
            grown.bytes_capacity()
        );
    }
}
