//! Replacing a file so that readers see the old or the new one, never a partial one.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::SetupError;

/// Writes `bytes` to a temporary file next to `path` (same file system), sets mode 0755,
/// flushes it to disk and renames it over `path`. On failure `path` is unchanged.
pub fn write_executable(path: &Path, bytes: &[u8]) -> Result<(), SetupError> {
    let temp = temp_path(path);
    let result = write_temp(&temp, bytes).and_then(|()| {
        std::fs::rename(&temp, path).map_err(SetupError::io("rename into place", path))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result?;
    sync_parent(path);
    Ok(())
}

fn write_temp(temp: &Path, bytes: &[u8]) -> Result<(), SetupError> {
    let io = || SetupError::io("write", temp);
    // A leftover from a crashed run with the same pid is ours to replace.
    let _ = std::fs::remove_file(temp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(temp)
        .map_err(io())?;
    file.write_all(bytes).map_err(io())?;
    // The mode given to open() is reduced by the umask; a wrapper must be executable.
    file.set_permissions(Permissions::from_mode(0o755))
        .map_err(io())?;
    file.sync_all().map_err(io())
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.warden-tmp-{}", std::process::id()))
}

/// Makes the rename durable; a failure here loses nothing that is not already on disk.
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Scratch;

    #[test]
    fn replaces_content_with_mode_0755_and_leaves_no_temp_file() {
        let s = Scratch::new("atomic");
        let target = s.0.join("codex");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, Permissions::from_mode(0o600)).unwrap();
        write_executable(&target, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        let names: Vec<_> = std::fs::read_dir(&s.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["codex"]);
    }

    #[test]
    fn failure_leaves_the_target_alone() {
        let s = Scratch::new("atomic-fail");
        let missing_dir = s.0.join("missing").join("codex");
        let err = write_executable(&missing_dir, b"x").unwrap_err();
        assert!(err.to_string().contains("cannot write"), "{err}");
        assert!(!missing_dir.exists());
    }
}
