//! A process of another user cannot connect to the host socket.
//!
//! Runs `livestream-testsrc`, and a raw client that skips the game's own
//! checks, as uid/gid 65534 (nobody) through `setpriv`, which needs root;
//! elsewhere the test says it was skipped and why.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use livestream_ipc::{Server, ServerConfig, ServerEvent};

const BIN: &str = env!("CARGO_BIN_EXE_livestream-testsrc");
const NOBODY: &str = "65534";

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn as_nobody() -> Command {
    let mut command = Command::new("setpriv");
    command.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
    ]);
    command
}

fn run_as_nobody(exe: &Path, socket: &Path) -> std::process::Output {
    as_nobody()
        .arg(exe)
        .args(["--connect-timeout", "0", "--duration", "1", "--socket"])
        .arg(socket)
        .env_remove("LIVESTREAM_SOCKET")
        .output()
        .unwrap()
}

/// A client of another user that skips the game's own checks: connects and
/// sends a few bytes.
fn raw_client_as_nobody(socket: &Path) -> std::process::Output {
    as_nobody()
        .args(["/usr/bin/python3", "-c"])
        .arg("import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'BLSP'); s.recv(1)")
        .arg(socket)
        .output()
        .unwrap()
}

#[test]
fn another_user_cannot_connect() {
    let root = nix::unistd::geteuid().is_root();
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !root || !setpriv {
        eprintln!("skipped: needs root and setpriv to run a client as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    // A copy of the client that nobody can execute (the target dir may be private).
    let exe = dir.path().join("livestream-testsrc");
    std::fs::copy(BIN, &exe).unwrap();
    chmod(&exe, 0o755);
    let server = Server::bind(ServerConfig::new(dir.path().join("private/host.sock"))).unwrap();

    // 1. The game refuses a directory that is not its user's; and the
    //    private directory keeps out a client that does not check.
    let output = run_as_nobody(&exe, server.socket());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a directory owned by this user"),
        "{stderr}"
    );
    let output = raw_client_as_nobody(server.socket());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PermissionError"), "{stderr}");
    assert!(
        server.events().try_recv().is_err(),
        "nothing reached the host"
    );

    // 2. Even with the directory and socket opened by hand, the uid check refuses.
    chmod(server.socket().parent().unwrap(), 0o755);
    chmod(server.socket(), 0o777);
    let _ = raw_client_as_nobody(server.socket());
    match server
        .events()
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
    {
        ServerEvent::Refused { peer, reason } => {
            assert!(peer.contains("uid 65534"), "{peer}");
            assert!(reason.contains("uid 65534"), "{reason}");
        }
        ServerEvent::Connected(c) => panic!("another user got in: {:?}", c.hello),
    }
}
