//! A small disk that fills up: a private tmpfs of a few hundred KiB, for
//! tests of what happens when a recording runs out of space.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted at a directory of the test's own, unmounted on drop.
pub struct SmallDisk {
    /// Where it is mounted.
    pub dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `kib` KiB at `dir` (created). Needs root, as the
    /// project's CI and setup run; fails the test with that reason otherwise.
    pub fn mount(dir: &Path, kib: u32) -> Self {
        std::fs::create_dir_all(dir).expect("the mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k,mode=0700")])
            .arg("tmpfs")
            .arg(dir)
            .status()
            .expect("mount");
        assert!(
            status.success(),
            "mounting a {kib} KiB tmpfs at {} failed: this test needs root (as scripts/test.sh runs in CI)",
            dir.display()
        );
        Self {
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}
