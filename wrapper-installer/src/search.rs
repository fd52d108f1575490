//! Walking `PATH` the way a shell does: finding the real agent behind the wrapper, and
//! checking whether the wrapper wins.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::wrapper::file_marker;

/// The directories of a `PATH` value, in order. Empty and relative entries are dropped: they
/// name the current directory, which changes, while a wrapper must record a fixed path.
pub fn path_dirs(path_var: &OsStr) -> Vec<PathBuf> {
    std::env::split_paths(path_var)
        .filter(|dir| dir.is_absolute())
        .collect()
}

/// Whether `a` and `b` name the same directory (`/usr/bin` and a symlink to it do).
pub fn same_dir(a: &Path, b: &Path) -> bool {
    canonical(a) == canonical(b)
}

/// `path` with symlinks resolved as far as it exists: a file not created yet still compares
/// equal to itself through a symlinked parent directory.
pub fn canonical(path: &Path) -> PathBuf {
    if let Ok(resolved) = path.canonicalize() {
        return resolved;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => canonical(parent).join(name),
        _ => path.to_path_buf(),
    }
}

/// A regular file (after following symlinks) that someone may execute.
pub fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The first `program` on `dirs` that is not in `wrapper_dir` and not a warden wrapper,
/// kept as found (symlinks unresolved, so an update of the agent keeps working).
pub fn find_real(program: &str, dirs: &[PathBuf], wrapper_dir: &Path) -> Option<PathBuf> {
    dirs.iter()
        .filter(|dir| !same_dir(dir, wrapper_dir))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate) && file_marker(candidate).is_none())
}

/// What a shell runs for a plain `program`: the first executable on `dirs`.
pub fn first_on_path(program: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter()
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
}

/// Whether a plain agent command reaches the wrapper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathOrder {
    /// The wrapper's directory comes first: the agent runs guarded.
    WrapperFirst,
    /// Another executable of that name comes earlier on `PATH`.
    Shadowed { by: PathBuf },
    /// The wrapper's directory is not on `PATH` at all.
    NotOnPath,
}

/// Where `wrapper_dir` stands on `dirs` relative to other executables called `program`.
pub fn path_order(program: &str, dirs: &[PathBuf], wrapper_dir: &Path) -> PathOrder {
    let mut earlier = None;
    for dir in dirs {
        if same_dir(dir, wrapper_dir) {
            return earlier.map_or(PathOrder::WrapperFirst, |by| PathOrder::Shadowed { by });
        }
        let candidate = dir.join(program);
        if earlier.is_none() && is_executable_file(&candidate) {
            earlier = Some(candidate);
        }
    }
    PathOrder::NotOnPath
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{write_executable, Scratch};

    #[test]
    fn path_dirs_keeps_order_and_drops_relative_entries() {
        let dirs = path_dirs(OsStr::new("/a::b:./c:/d"));
        assert_eq!(dirs, [PathBuf::from("/a"), PathBuf::from("/d")]);
    }

    #[test]
    fn find_real_skips_wrapper_dir_and_marked_files_and_keeps_symlinks() {
        let s = Scratch::new("find");
        let (bin, marked, other, real) = (s.dir("bin"), s.dir("marked"), s.dir("o"), s.dir("r"));
        write_executable(&bin.join("codex"), "#!/bin/sh\n");
        write_executable(
            &marked.join("codex"),
            "#!/bin/sh\n# warden-wrapper: codex\n",
        );
        std::fs::write(other.join("codex"), "not executable").unwrap();
        write_executable(&real.join("codex-1.2"), "#!/bin/sh\n");
        std::os::unix::fs::symlink(real.join("codex-1.2"), real.join("codex")).unwrap();
        // The wrapper dir is reached through a symlink: still skipped.
        let bin_link = s.0.join("bin-link");
        std::os::unix::fs::symlink(&bin, &bin_link).unwrap();

        let dirs = [bin_link, marked, other, real.clone()];
        assert_eq!(find_real("codex", &dirs, &bin), Some(real.join("codex")));
        assert_eq!(find_real("nonesuch", &dirs, &bin), None);
    }

    #[test]
    fn path_order_reports_shadowing_and_absence() {
        let s = Scratch::new("order");
        let (bin, usr) = (s.dir("bin"), s.dir("usr"));
        write_executable(&usr.join("codex"), "#!/bin/sh\n");
        let first = [bin.clone(), usr.clone()];
        let later = [usr.clone(), bin.clone()];
        assert_eq!(path_order("codex", &first, &bin), PathOrder::WrapperFirst);
        assert_eq!(
            path_order("codex", &later, &bin),
            PathOrder::Shadowed {
                by: usr.join("codex")
            }
        );
        assert_eq!(path_order("codex", &[usr], &bin), PathOrder::NotOnPath);
    }

    #[test]
    fn canonical_handles_files_that_do_not_exist_yet() {
        let s = Scratch::new("canon");
        let real = s.dir("real");
        let link = s.0.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(canonical(&link.join("new")), canonical(&real).join("new"));
    }
}
