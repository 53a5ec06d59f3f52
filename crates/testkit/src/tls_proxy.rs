//! nginx terminating TLS in front of a plain HTTP server, started from
//! `scripts/tls-proxy.sh`: how a room server is put on the internet.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Reaped, free_port, script, wait_for_port};

/// nginx serving `https://` and `wss://` on a loopback port for an HTTP
/// upstream; its master is stopped (by pid) on drop.
pub struct TlsProxy {
    _process: Reaped,
    /// Its TLS port.
    pub port: u16,
    /// The authority its certificate is from (PEM), to give a client.
    pub ca: PathBuf,
}

impl TlsProxy {
    /// Starts it in `dir` on a free port in front of `upstream` (`HOST:PORT`)
    /// and waits until it accepts connections.
    pub fn start(dir: &Path, upstream: &str) -> Self {
        std::fs::create_dir_all(dir).expect("TLS proxy dir");
        let port = free_port();
        let log = std::fs::File::create(dir.join("tls-proxy.log")).expect("TLS proxy log");
        let process = Reaped::spawn(
            Command::new(script("tls-proxy.sh"))
                .arg(dir)
                .arg(port.to_string())
                .arg(upstream)
                .stdout(Stdio::null())
                .stderr(log),
        );
        wait_for_port(port, "the TLS proxy");
        Self {
            _process: process,
            port,
            ca: dir.join("tls/ca.pem"),
        }
    }

    /// A `wss://` URL through it: `wss://127.0.0.1:PORT` + `path`.
    pub fn wss_url(&self, path: &str) -> String {
        format!("wss://127.0.0.1:{}{path}", self.port)
    }
}
