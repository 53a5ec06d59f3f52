//! Where the host socket lives, and the private directory that keeps other
//! users away from it.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Environment variable that overrides the host socket path for games and host alike.
pub const SOCKET_ENV: &str = "LIVESTREAM_SOCKET";
/// File name of the host socket inside its directory.
pub const SOCKET_FILE: &str = "host.sock";

/// Why the socket directory is not safe to use.
#[derive(Debug, Error)]
pub enum SocketDirError {
    /// Creating or inspecting the directory failed.
    #[error("socket directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The directory belongs to someone else (or is a symlink).
    #[error("socket directory {path} is not a directory owned by this user (uid {uid})")]
    NotOurs {
        /// The directory.
        path: PathBuf,
        /// Our uid.
        uid: u32,
    },
    /// Another user could put a socket of theirs there (the directory is
    /// writable by group or others).
    #[error(
        "socket directory {path} can be written by other users (mode {mode:o}): remove it, or make it yours alone with chmod 700"
    )]
    OpenToOthers {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The socket path has no parent directory.
    #[error("socket path {0} has no parent directory")]
    NoParent(PathBuf),
}

/// The per-user default: `$XDG_RUNTIME_DIR/bevy_livestream/host.sock`, or
/// `<tmp>/bevy_livestream-<uid>/host.sock` where there is no runtime dir.
pub fn default_socket_path() -> PathBuf {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute() && dir.is_dir());
    let dir = match runtime {
        Some(dir) => dir.join("bevy_livestream"),
        None => std::env::temp_dir().join(format!("bevy_livestream-{}", current_uid())),
    };
    dir.join(SOCKET_FILE)
}

/// The user's own host settings, `host.ron`, which every host the user
/// starts reads and games look at before one runs:
/// `$XDG_CONFIG_HOME/bevy_livestream/host.ron` on Linux (`~/.config/…`), the
/// platform's config directory elsewhere (`directories`).
pub fn user_host_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "bevy_livestream")
        .map(|dirs| dirs.config_dir().join("host.ron"))
}

/// The socket to use: `LIVESTREAM_SOCKET` if set, else `configured`, else the default.
pub fn resolve_socket_path(configured: Option<&Path>) -> PathBuf {
    resolve_with(std::env::var_os(SOCKET_ENV), configured)
}

fn resolve_with(env: Option<std::ffi::OsString>, configured: Option<&Path>) -> PathBuf {
    env.filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| configured.map(Path::to_path_buf))
        .unwrap_or_else(default_socket_path)
}

/// Our effective uid (0 where the platform has none).
pub fn current_uid() -> u32 {
    #[cfg(unix)]
    {
        nix::unistd::geteuid().as_raw()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// Creates the socket's directory as 0700 if needed, then checks it as
/// [`check_socket_dir`] does. An existing directory is never loosened or
/// tightened: it is refused when another user could plant a socket in it.
pub fn prepare_socket_dir(socket: &Path) -> Result<(), SocketDirError> {
    let dir = socket_dir(socket)?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| SocketDirError::Io {
        path: dir.to_owned(),
        source,
    })?;
    check_socket_dir(socket)
}

/// Checks that only this user could have put a socket at `socket`: its
/// directory is a real directory (not a symlink), owned by us, and no one
/// else may write in it. Games and `ctl` check before they connect (and
/// send frames, audio or commands), the host before it listens.
pub fn check_socket_dir(socket: &Path) -> Result<(), SocketDirError> {
    let dir = socket_dir(socket)?;
    let meta = std::fs::symlink_metadata(dir).map_err(|source| SocketDirError::Io {
        path: dir.to_owned(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = current_uid();
        if !meta.is_dir() || meta.uid() != uid {
            return Err(SocketDirError::NotOurs {
                path: dir.to_owned(),
                uid,
            });
        }
        if meta.mode() & 0o022 != 0 {
            return Err(SocketDirError::OpenToOthers {
                path: dir.to_owned(),
                mode: meta.mode() & 0o7777,
            });
        }
    }
    #[cfg(not(unix))]
    if !meta.is_dir() {
        return Err(SocketDirError::NotOurs {
            path: dir.to_owned(),
            uid: 0,
        });
    }
    Ok(())
}

/// The directory a socket path lives in.
fn socket_dir(socket: &Path) -> Result<&Path, SocketDirError> {
    socket
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| SocketDirError::NoParent(socket.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins_over_configuration() {
        let configured = Path::new("/cfg/host.sock");
        assert_eq!(
            resolve_with(Some("/env/host.sock".into()), Some(configured)),
            PathBuf::from("/env/host.sock")
        );
        assert_eq!(resolve_with(Some("".into()), Some(configured)), configured);
        assert_eq!(resolve_with(None, None), default_socket_path());
        assert!(default_socket_path().ends_with(SOCKET_FILE));
    }

    #[cfg(unix)]
    #[test]
    fn directory_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let socket = tmp.path().join("a/b/host.sock");
        prepare_socket_dir(&socket).unwrap();
        let mode = std::fs::metadata(socket.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        // An existing directory others may write in is refused, never changed.
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            prepare_socket_dir(&open.join("host.sock")),
            Err(SocketDirError::OpenToOthers { mode: 0o777, .. })
        ));
        let mode = std::fs::metadata(&open).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o777, "left as it was");
        // One others may only read (a home directory: 0755) is fine, and kept.
        let home = tmp.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare_socket_dir(&home.join("ls.sock")).unwrap();
        let mode = std::fs::metadata(&home).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "never tightened");
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            prepare_socket_dir(&link.join("host.sock")),
            Err(SocketDirError::NotOurs { .. })
        ));
    }
}
