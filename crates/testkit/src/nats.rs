//! Private NATS servers with JetStream, started from `scripts/nats.sh`: the
//! message store clustered room servers (`livestream-room --cluster`) share.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Reaped, free_port, script, wait_for_port};

/// One `nats-server` on a loopback port, stopped (by pid) on drop.
pub struct NatsServer {
    process: Option<Reaped>,
    /// Its client port.
    pub port: u16,
    dir: PathBuf,
    cluster: Option<(u16, Vec<u16>)>,
}

impl NatsServer {
    /// A single node keeping its files in `dir`, on a free port; waits until
    /// it accepts connections.
    pub fn start(dir: &Path) -> Self {
        Self::launch(dir.to_owned(), free_port(), None)
    }

    fn launch(dir: PathBuf, port: u16, cluster: Option<(u16, Vec<u16>)>) -> Self {
        let mut server = Self {
            process: None,
            port,
            dir,
            cluster,
        };
        server.restart();
        server
    }

    /// Its `nats://` URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Its pid (0 while stopped).
    pub fn pid(&self) -> u32 {
        self.process.as_ref().map_or(0, Reaped::pid)
    }

    /// Kills it outright (SIGKILL), as a crash would: its files stay.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.signal("KILL");
            process.wait_timeout(std::time::Duration::from_secs(10));
        }
    }

    /// Starts it again (after [`kill`](Self::kill)) on the same ports and
    /// files; waits until it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        std::fs::create_dir_all(&self.dir).expect("NATS dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.with_extension("log"))
            .expect("NATS log");
        let mut command = Command::new(script("nats.sh"));
        command
            .arg(&self.dir)
            .arg(self.port.to_string())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some((cluster_port, routes)) = &self.cluster {
            command.arg("--cluster").arg(cluster_port.to_string());
            command.args(routes.iter().map(u16::to_string));
        }
        self.process = Some(Reaped::spawn(&mut command));
        wait_for_port(self.port, "nats-server");
    }

    /// What it has logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.with_extension("log")).unwrap_or_default()
    }
}

/// Three `nats-server`s routed into one JetStream cluster on loopback (a
/// stream there may keep 3 replicas), each stopped on drop.
pub struct NatsCluster {
    /// The nodes, each with its own files under the cluster's dir.
    pub nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts three nodes in `dir` (`dir/n1` …) on free ports.
    pub fn start(dir: &Path) -> Self {
        let cluster_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let nodes = cluster_ports
            .iter()
            .enumerate()
            .map(|(index, cluster_port)| {
                NatsServer::launch(
                    dir.join(format!("n{}", index + 1)),
                    free_port(),
                    Some((*cluster_port, cluster_ports.clone())),
                )
            })
            .collect();
        Self { nodes }
    }

    /// Every node's URL, comma-separated (`--cluster`'s form).
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every node's log, for a failing test.
    pub fn logs(&self) -> String {
        self.nodes.iter().map(NatsServer::log).collect()
    }
}
