//! A source's connection to its server: plain TCP, or TLS over it. Both
//! connect within [`CONNECT_TIMEOUT`] and never wait on a write longer than
//! [`WRITE_TIMEOUT`], so a hostile or stuck server never holds the source.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rustls::{ClientConnection, StreamOwned};

use super::tls::SourceTls;
use super::{CONNECT_TIMEOUT, SessionEnd};

/// How long one write may wait for a server that does not read: a hostile
/// or stuck server never holds the source (and the host's exit) longer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected byte stream to a source's server.
#[derive(Debug)]
pub(super) enum Transport {
    /// `ws://`, `irc://`.
    Plain(TcpStream),
    /// `wss://`, `ircs://`: handshake done, certificate checked.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Transport {
    /// Connects to `host:port`, over TLS when `tls` is given.
    pub(super) fn connect(
        host: &str,
        port: u16,
        tls: Option<&SourceTls>,
    ) -> Result<Self, SessionEnd> {
        // A URL's IPv6 address comes in brackets.
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let tcp = connect_tcp(host, port)?;
        match tls {
            None => Ok(Self::Plain(tcp)),
            Some(tls) => Ok(Self::Tls(Box::new(tls.handshake(host, tcp)?))),
        }
    }

    /// How long one read waits before it returns a timeout error.
    pub(super) fn set_read_timeout(&self, timeout: Duration) -> Result<(), SessionEnd> {
        let tcp = match self {
            Self::Plain(tcp) => tcp,
            Self::Tls(tls) => tls.get_ref(),
        };
        tcp.set_read_timeout(Some(timeout))
            .map_err(|err| format!("cannot set a read timeout: {err}"))
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.read(buf),
            Self::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.write(buf),
            Self::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.flush(),
            Self::Tls(tls) => tls.flush(),
        }
    }
}

/// Connects a TCP stream to `host:port` within [`CONNECT_TIMEOUT`].
fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, SessionEnd> {
    use std::net::ToSocketAddrs;
    let addresses = (host, port)
        .to_socket_addrs()
        .map_err(|err| format!("cannot resolve {host}: {err}"))?;
    let mut last = format!("{host} has no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                stream
                    .set_write_timeout(Some(WRITE_TIMEOUT))
                    .map_err(|err| format!("cannot set up {address}: {err}"))?;
                return Ok(stream);
            }
            Err(err) => last = format!("cannot connect to {address}: {err}"),
        }
    }
    Err(last)
}
