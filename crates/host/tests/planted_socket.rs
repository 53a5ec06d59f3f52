//! Another local user plants the socket a game and `ctl` would use (no
//! `XDG_RUNTIME_DIR`: the default lives under `/tmp`, where anyone may
//! create the directory first). Neither talks to it: the planted
//! directory is refused before connecting, and a socket of another user in a
//! directory of ours is refused before anything is sent. The attacker is a
//! real process of uid 65534 (nobody), listening and counting the bytes it
//! receives; it runs through `setpriv`, which needs root (as CI has).
#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use livestream_testkit::{Reaped, wait_for};
use support::{HOST, testsrc_bin};

const NOBODY: u32 = 65534;

/// The attacker: listens at each path given, logs each connection and the
/// bytes it sent, as uid 65534.
const LISTENER: &str = r#"
import os, socket, sys, threading
log = open(sys.argv[1], "a", buffering=1)
def serve(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    os.chmod(path, 0o777)
    s.listen()
    log.write(f"listening {path}\n")
    while True:
        c, _ = s.accept()
        c.settimeout(3)
        got = 0
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                got += len(data)
        except OSError:
            pass
        log.write(f"connection {path} bytes {got}\n")
for path in sys.argv[2:]:
    threading.Thread(target=serve, args=(path,), daemon=True).start()
threading.Event().wait()
"#;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_to_nobody(path: &Path) {
    std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
}

/// Starts the attacker on the host and control socket paths in `dir`.
fn plant(dir: &Path, log: &Path) -> Reaped {
    let listener = Reaped::spawn(
        Command::new("setpriv")
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "/usr/bin/python3",
                "-c",
                LISTENER,
            ])
            .arg(log)
            .arg(dir.join("host.sock"))
            .arg(dir.join("host.ctl"))
            .stdout(Stdio::null()),
    );
    wait_for("the planted sockets", Duration::from_secs(10), || {
        std::fs::read_to_string(log).is_ok_and(|text| text.matches("listening").count() == 2)
    });
    listener
}

/// A game (`livestream-testsrc`) at `socket`: its exit success and error output.
fn game_at(socket: &Path) -> (bool, String) {
    let output = Command::new(testsrc_bin())
        .args(["--connect-timeout", "0", "--duration", "1", "--socket"])
        .arg(socket)
        .env_remove("LIVESTREAM_SOCKET")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `ctl status` at `socket`: its exit success and error output.
fn ctl_at(socket: &Path) -> (bool, String) {
    let output = Command::new(HOST)
        .args(["ctl", "--socket"])
        .arg(socket)
        .arg("status")
        .env_remove("LIVESTREAM_SOCKET")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn games_and_ctl_refuse_a_socket_another_user_planted() {
    let root = nix::unistd::geteuid().is_root();
    if !root || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv to run the attacker as another user");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);

    // 1. The attacker made the directory first (theirs, open to all).
    let planted = tmp.path().join("bevy_livestream-0");
    std::fs::create_dir(&planted).unwrap();
    chown_to_nobody(&planted);
    chmod(&planted, 0o777);
    let log = planted.join("attacker.log");
    let listener = plant(&planted, &log);
    let (ok, stderr) = game_at(&planted.join("host.sock"));
    assert!(
        !ok && stderr.contains("not a directory owned by this user"),
        "{stderr}"
    );
    let (ok, stderr) = ctl_at(&planted.join("host.sock"));
    assert!(
        !ok && stderr.contains("not a directory owned by this user"),
        "{stderr}"
    );
    drop(listener);
    let heard = std::fs::read_to_string(&log).unwrap();
    assert!(
        !heard.contains("connection"),
        "the attacker was reached: {heard}"
    );

    // 2. A socket of another user in a directory of ours (left open while
    //    it was planted, then closed): connected to, but sent nothing.
    let ours = tmp.path().join("ours");
    std::fs::create_dir(&ours).unwrap();
    chmod(&ours, 0o777);
    let log = tmp.path().join("attacker-2.log");
    std::fs::File::create(&log).unwrap();
    chown_to_nobody(&log);
    let listener = plant(&ours, &log);
    chmod(&ours, 0o755);
    let (ok, stderr) = game_at(&ours.join("host.sock"));
    assert!(!ok && stderr.contains("runs as uid 65534"), "{stderr}");
    let (ok, stderr) = ctl_at(&ours.join("host.sock"));
    assert!(!ok && stderr.contains("runs as uid 65534"), "{stderr}");
    wait_for(
        "the attacker's two connections",
        Duration::from_secs(10),
        || std::fs::read_to_string(&log).is_ok_and(|text| text.matches("connection").count() == 2),
    );
    drop(listener);
    let heard = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        heard.matches("bytes 0").count(),
        2,
        "the game and ctl sent the attacker nothing: {heard}"
    );
}
