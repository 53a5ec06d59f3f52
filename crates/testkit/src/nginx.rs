//! A private nginx-rtmp ingest, started from `scripts/nginx-rtmp.sh`, as a
//! streamer's real destinations behave: plain RTMP, RTMPS behind a TLS
//! proxy, and refusing every stream key but one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Reaped, free_port, script, wait_for_port};

/// What the ingest does beyond plain RTMP.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestOptions<'a> {
    /// Also serve `rtmps://`: nginx's stream module terminating TLS with a
    /// certificate from the script's own CA, in front of the RTMP port.
    pub tls: bool,
    /// Refuse every stream key but this one.
    pub only_key: Option<&'a str>,
}

/// nginx with the RTMP module on a loopback port; its master is stopped (by pid) on drop.
pub struct NginxRtmp {
    _process: Reaped,
    /// Its directory (config, logs, recordings).
    pub dir: PathBuf,
    /// Its RTMP port.
    pub port: u16,
    /// Its RTMPS port, when started with [`IngestOptions::tls`].
    pub tls_port: Option<u16>,
}

impl NginxRtmp {
    /// Starts it on a free port and waits until it accepts connections.
    pub fn start(dir: &Path) -> Self {
        Self::start_on(dir, free_port())
    }

    /// Starts it on `port` (e.g. again after a restart) and waits until it accepts connections.
    pub fn start_on(dir: &Path, port: u16) -> Self {
        Self::launch(dir, port, IngestOptions::default())
    }

    /// Starts it on free ports with `options` and waits until it accepts connections.
    pub fn start_with(dir: &Path, options: IngestOptions<'_>) -> Self {
        Self::launch(dir, free_port(), options)
    }

    fn launch(dir: &Path, port: u16, options: IngestOptions<'_>) -> Self {
        let mut command = Command::new(script("nginx-rtmp.sh"));
        command.arg(dir).arg(port.to_string()).stdout(Stdio::null());
        let tls_port = options.tls.then(free_port);
        if let Some(tls_port) = tls_port {
            command.args(["--tls", &tls_port.to_string()]);
        }
        if let Some(key) = options.only_key {
            command.args(["--only-key", &free_port().to_string(), key]);
        }
        let server = Self {
            _process: Reaped::spawn(&mut command),
            dir: dir.to_owned(),
            port,
            tls_port,
        };
        wait_for_port(port, "nginx-rtmp");
        if let Some(tls_port) = tls_port {
            wait_for_port(tls_port, "nginx's TLS proxy");
        }
        server
    }

    /// The publish URL for a stream key.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.server())
    }

    /// The server part of the publish URL (what a streamer pastes beside the key).
    pub fn server(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live", self.port)
    }

    /// The server part of the `rtmps://` publish URL.
    ///
    /// # Panics
    /// When started without [`IngestOptions::tls`].
    pub fn tls_server(&self) -> String {
        let port = self.tls_port.expect("started with IngestOptions::tls");
        format!("rtmps://127.0.0.1:{port}/live")
    }

    /// Where nginx records a stream key.
    pub fn recording(&self, key: &str) -> PathBuf {
        self.dir.join("recordings").join(format!("{key}.flv"))
    }
}
