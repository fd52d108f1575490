//! Scratch directories and fake executables for the unit tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("warden-wrapper-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Canonical, so that paths the code canonicalises compare equal to the expected ones.
        Scratch(dir.canonicalize().unwrap())
    }

    /// A new subdirectory.
    pub fn dir(&self, name: &str) -> PathBuf {
        let dir = self.0.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `body` to `path` with mode 0755, creating parent directories. A child `sh` does
/// the writing: a write descriptor held by this process could leak into a concurrent test's
/// fork, and exec of a file open for writing fails with ETXTBSY.
pub fn write_executable(path: &Path, body: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut child = std::process::Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_ref())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// A real (empty) shared object compiled with `cc` into `dir`: loadable by the dynamic loader.
pub fn build_shared_object(dir: &Path) -> PathBuf {
    let source = dir.join("empty.c");
    std::fs::write(&source, "int warden_probe_marker;\n").unwrap();
    let lib = dir.join("libwarden.so");
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&source)
        .status()
        .expect("cc runs");
    assert!(built.success());
    lib
}
