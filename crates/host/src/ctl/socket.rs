//! The control socket: a same-user local socket beside the game socket;
//! one JSON request line in, one JSON reply line out. The server hands
//! requests to the host loop; [`call`] is the client `ctl` uses.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use interprocess::local_socket::traits::{ListenerExt as _, Stream as _};
use interprocess::local_socket::{GenericFilePath, ListenerOptions, Stream, ToFsName};
use livestream_control::{CtlReply, CtlRequest};
use livestream_ipc::{ForeignPeer, SocketDirError, check_same_user, check_socket_dir};
use livestream_protocol::Backoff;
use tracing::{debug, warn};

/// Longest request line accepted.
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024;
/// Clients served at once; more are told the host is busy. Each has its
/// own thread, so a slow one never holds up the others.
pub const MAX_CLIENTS: usize = 16;
/// Time a client has to send its whole request (a deadline, however
/// slowly the bytes trickle in).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(2);

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
                    let clients = Arc::new(AtomicUsize::new(0));
                    let mut accept_backoff = Backoff::new(ACCEPT_RETRY, ACCEPT_RETRY_MAX);
                    for stream in listener.incoming() {
                        if stop.load(Ordering::Acquire) {
                            return;
                        }
                        match stream {
                            Ok(stream) => {
                                accept_backoff.reset();
                                serve_apart(stream, &requests, &clients);
                            }
                            Err(err) => {
                                // Out of file descriptors, say: wait rather than spin.
                                warn!("ctl accept failed: {err}");
                                std::thread::sleep(accept_backoff.next_delay());
                            }
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

/// First wait after a failed accept; doubles up to [`ACCEPT_RETRY_MAX`].
const ACCEPT_RETRY: Duration = Duration::from_millis(10);
/// Longest wait after failed accepts.
const ACCEPT_RETRY_MAX: Duration = Duration::from_secs(1);

/// Serves `stream` on a thread of its own, or tells it the host is busy
/// when [`MAX_CLIENTS`] are being served.
fn serve_apart(stream: Stream, requests: &Sender<PendingCtl>, clients: &Arc<AtomicUsize>) {
    if let Err(foreign) = check_same_user(&stream) {
        warn!("ctl connection refused: {foreign}");
        return;
    }
    if clients.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
        clients.fetch_sub(1, Ordering::AcqRel);
        answer(
            &stream,
            &CtlReply::Error {
                message: format!("busy: {MAX_CLIENTS} control clients already connected"),
            },
        );
        return;
    }
    let requests = requests.clone();
    let clients_done = clients.clone();
    let spawned = std::thread::Builder::new()
        .name("livestream-ctl-client".into())
        .spawn(move || {
            serve(&stream, &requests);
            clients_done.fetch_sub(1, Ordering::AcqRel);
        });
    if let Err(err) = spawned {
        warn!("cannot serve a ctl client: {err}");
        clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Reads one request line, all of it before `deadline`.
fn read_request(stream: &Stream, deadline: Instant) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.set_recv_timeout(Some(left))?;
        let read = (&*stream).read(&mut chunk)?;
        if read == 0 {
            break;
        }
        line.extend_from_slice(&chunk[..read]);
        if line.contains(&b'\n') {
            break;
        }
        if line.len() as u64 > MAX_REQUEST_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request too long",
            ));
        }
    }
    String::from_utf8(line).map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))
}

/// Writes `reply` as one line, within a bounded time.
fn answer(stream: &Stream, reply: &CtlReply) {
    let _ = stream.set_send_timeout(Some(REQUEST_DEADLINE));
    if let Ok(mut text) = serde_json::to_string(reply) {
        text.push('\n');
        let _ = (&*stream).write_all(text.as_bytes());
    }
}

fn serve(stream: &Stream, requests: &Sender<PendingCtl>) {
    let read = read_request(stream, Instant::now() + REQUEST_DEADLINE);
    let reply = match read {
        Ok(line) if line.is_empty() => return, // a wake-up connection or a client that left
        Ok(line) => match serde_json::from_str::<CtlRequest>(line.trim()) {
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
    answer(stream, &reply);
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
    /// Another user could have put the socket there: nothing is sent.
    #[error("not connecting: {0}")]
    UnsafeSocket(#[from] SocketDirError),
    /// The process at the socket runs as another user: nothing is sent.
    #[error("not talking to {path}: {source}")]
    ForeignHost {
        /// The control socket.
        path: PathBuf,
        /// Who it runs as.
        source: ForeignPeer,
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
    if ctl_path.parent().is_some_and(Path::exists) {
        check_socket_dir(ctl_path)?;
    }
    let stream = Stream::connect(name).map_err(no_host)?;
    check_same_user(&stream).map_err(|source| CtlError::ForeignHost {
        path: ctl_path.to_owned(),
        source,
    })?;
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
