//! The control socket: a same-user local socket beside the game socket;
//! one JSON request line in, one JSON reply line out. The server hands
//! requests to the host loop; [`call`] is the client `ctl` uses.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use interprocess::local_socket::traits::{ListenerExt as _, Stream as _};
use interprocess::local_socket::{GenericFilePath, ListenerOptions, Stream, ToFsName};
use livestream_control::{CtlReply, CtlRequest};
use tracing::{debug, warn};

/// Longest request line accepted.
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// A request waiting for the host loop, with where to send the answer.
#[derive(Debug)]
pub struct PendingCtl {
    /// What was asked.
    pub request: CtlRequest,
    /// Where the answer goes.
    pub reply: Sender<CtlReply>,
}

/// The control socket path that belongs to a host socket.
pub fn ctl_socket_path(host_socket: &Path) -> PathBuf {
    host_socket.with_extension("ctl")
}

/// The listening control socket; dropping it stops the listener and removes the file.
#[derive(Debug)]
pub struct CtlServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CtlServer {
    /// Listens at `path` (in the host socket's private directory), passing
    /// requests to the host loop through `requests`.
    pub fn bind(path: PathBuf, requests: Sender<PendingCtl>) -> std::io::Result<Self> {
        if path.exists() {
            std::fs::remove_file(&path)?;
        }
        let name = path.clone().to_fs_name::<GenericFilePath>()?;
        let options = ListenerOptions::new().name(name).reclaim_name(true);
        #[cfg(unix)]
        let options =
            interprocess::os::unix::local_socket::ListenerOptionsExt::mode(options, 0o600);
        let listener = options.create_sync()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("livestream-ctl".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::Acquire) {
                            return;
                        }
                        match stream {
                            Ok(stream) => serve(stream, &requests),
                            Err(err) => warn!("ctl accept failed: {err}"),
                        }
                    }
                })?
        };
        Ok(Self {
            path,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for CtlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Ok(name) = self.path.clone().to_fs_name::<GenericFilePath>() {
            let _ = Stream::connect(name);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: Stream, requests: &Sender<PendingCtl>) {
    let _ = stream.set_recv_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_send_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    let read = BufReader::new((&stream).take(MAX_REQUEST_BYTES)).read_line(&mut line);
    let reply = match read {
        Ok(0) => return, // a wake-up connection or a client that left
        Ok(_) => match serde_json::from_str::<CtlRequest>(line.trim()) {
            Ok(request) => {
                debug!(?request, "ctl request");
                let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
                let pending = PendingCtl {
                    request,
                    reply: reply_tx,
                };
                if requests.send(pending).is_err() {
                    return;
                }
                reply_rx
                    .recv_timeout(Duration::from_secs(10))
                    .unwrap_or(CtlReply::Error {
                        message: "host did not answer in time".into(),
                    })
            }
            Err(err) => CtlReply::Error {
                message: format!("bad request: {err}"),
            },
        },
        Err(err) => CtlReply::Error {
            message: format!("bad request: {err}"),
        },
    };
    if let Ok(mut text) = serde_json::to_string(&reply) {
        text.push('\n');
        let _ = (&stream).write_all(text.as_bytes());
    }
}

/// Why a control call failed.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// No host answers at the control socket.
    #[error("no host is running at {path}: {source}")]
    NoHost {
        /// The control socket.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The exchange failed midway.
    #[error("control socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The host answered something unreadable.
    #[error("unreadable reply: {0}")]
    Reply(#[from] serde_json::Error),
}

/// Sends one request to the host at `ctl_path` and returns its reply.
pub fn call(ctl_path: &Path, request: &CtlRequest) -> Result<CtlReply, CtlError> {
    let no_host = |source| CtlError::NoHost {
        path: ctl_path.to_owned(),
        source,
    };
    let name = ctl_path
        .to_path_buf()
        .to_fs_name::<GenericFilePath>()
        .map_err(no_host)?;
    let stream = Stream::connect(name).map_err(no_host)?;
    stream.set_recv_timeout(Some(Duration::from_secs(15)))?;
    let mut text = serde_json::to_string(request)?;
    text.push('\n');
    (&stream).write_all(text.as_bytes())?;
    let mut line = String::new();
    BufReader::new((&stream).take(16 * 1024 * 1024)).read_line(&mut line)?;
    Ok(serde_json::from_str(line.trim())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_reply_cross_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.ctl");
        let (tx, rx) = crossbeam_channel::unbounded();
        let server = CtlServer::bind(path.clone(), tx).unwrap();
        let host = std::thread::spawn(move || {
            let pending = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert_eq!(pending.request, CtlRequest::HideAll);
            pending
                .reply
                .send(CtlReply::Posted { id: "x".into() })
                .unwrap();
        });
        let reply = call(&path, &CtlRequest::HideAll).unwrap();
        host.join().unwrap();
        assert_eq!(reply, CtlReply::Posted { id: "x".into() });
        drop(server);
        assert!(!path.exists());
        assert!(matches!(
            call(&path, &CtlRequest::Status),
            Err(CtlError::NoHost { .. })
        ));
    }
}
