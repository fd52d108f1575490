//! Which file the agent command names, found as `execvp` finds it, so that the file judged
//! is the file started.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use warden_wrapper_installer::search::is_executable_file;

/// The shell's `PATH` when none is set (glibc's `execvp` default).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// The file `name` runs: a name with a slash is that path (relative ones from `cwd`); a
/// bare name is the first executable file on `path` (empty entries are the current
/// directory). `None` when a bare name is on no `PATH` entry.
pub fn locate(name: &OsStr, path: Option<&OsStr>, cwd: &Path) -> Option<PathBuf> {
    if name.as_bytes().contains(&b'/') {
        return Some(cwd.join(name));
    }
    if name.is_empty() {
        return None;
    }
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    path.as_bytes()
        .split(|&b| b == b':')
        .map(|dir| match dir {
            b"" => cwd.to_path_buf(),
            dir => cwd.join(OsStr::from_bytes(dir)),
        })
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_is_found_on_path_and_a_path_is_taken_as_given() {
        let cwd = Path::new("/tmp");
        let sh = locate(OsStr::new("sh"), Some(OsStr::new("/nonexistent:/bin")), cwd);
        assert_eq!(sh, Some(PathBuf::from("/bin/sh")));
        let none = locate(OsStr::new("sh"), Some(OsStr::new("/nonexistent")), cwd);
        assert_eq!(none, None);
        let relative = locate(OsStr::new("./x"), None, cwd);
        assert_eq!(relative, Some(PathBuf::from("/tmp/./x")));
        assert_eq!(
            locate(OsStr::new("sh"), Some(OsStr::new("")), Path::new("/bin")),
            Some(PathBuf::from("/bin/sh")),
            "an empty entry is the current directory"
        );
    }
}
