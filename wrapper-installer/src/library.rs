//! Finding `libwarden.so` (shared with `warden preload`) and proving that it loads.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The preload library's file name.
pub const LIBRARY_FILE: &str = "libwarden.so";

/// How long loading the library into `true` may take before it counts as broken.
const LOAD_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the library search depends on, read by the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct LibrarySearch<'a> {
    /// `$WARDEN_LIB`: when set, the only place looked at.
    pub explicit: Option<&'a Path>,
    /// The running `warden` executable.
    pub exe: Option<&'a Path>,
    /// `$HOME`.
    pub home: Option<&'a Path>,
}

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(
        "{LIBRARY_FILE} not found (looked at {}); install it with `make install`, \
         or set WARDEN_LIB to its absolute path",
        display_list(.tried)
    )]
    NotFound { tried: Vec<PathBuf> },
    #[error("WARDEN_LIB points to {}, which does not exist; fix or unset it", .0.display())]
    ExplicitMissing(PathBuf),
    #[error("{} cannot be preloaded: {detail}; reinstall it with `make install`", .path.display())]
    NotLoadable { path: PathBuf, detail: String },
    #[error("cannot run {} to test-load {}: {source}", .program.display(), .library.display())]
    Probe {
        program: PathBuf,
        library: PathBuf,
        source: std::io::Error,
    },
}

fn display_list(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

/// The places searched, in order: `$WARDEN_LIB` alone when set; otherwise
/// `<exe dir>/../lib/warden/`, `~/.local/lib/warden/`, and `<exe dir>/` (a build tree).
pub fn library_candidates(search: &LibrarySearch) -> Vec<PathBuf> {
    if let Some(explicit) = search.explicit {
        return vec![explicit.to_path_buf()];
    }
    let exe_dir = search.exe.and_then(Path::parent);
    let prefix = exe_dir.and_then(Path::parent);
    [
        prefix.map(|p| p.join("lib/warden").join(LIBRARY_FILE)),
        search
            .home
            .map(|h| h.join(".local/lib/warden").join(LIBRARY_FILE)),
        exe_dir.map(|d| d.join(LIBRARY_FILE)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The first existing candidate of [`library_candidates`], made absolute and canonical so
/// that it stays valid as an `LD_PRELOAD` entry in any working directory.
pub fn find_library(search: &LibrarySearch) -> Result<PathBuf, LibraryError> {
    let exe = search
        .exe
        .map(|exe| exe.canonicalize().unwrap_or_else(|_| exe.to_path_buf()));
    let search = LibrarySearch {
        exe: exe.as_deref(),
        ..*search
    };
    let tried = library_candidates(&search);
    let found = tried.iter().find(|candidate| candidate.is_file());
    match (found, search.explicit) {
        (Some(found), _) => {
            let absolute = std::path::absolute(found).unwrap_or_else(|_| found.clone());
            Ok(absolute.canonicalize().unwrap_or(absolute))
        }
        (None, Some(explicit)) => Err(LibraryError::ExplicitMissing(explicit.to_path_buf())),
        (None, None) => Err(LibraryError::NotFound { tried }),
    }
}

/// Runs `true` with `library` preloaded. The dynamic loader only warns about a preload it
/// cannot load (and `true` still succeeds), so its stderr is what tells.
pub fn check_loadable(library: &Path) -> Result<(), LibraryError> {
    let program = true_program();
    let probe_error = |source| LibraryError::Probe {
        program: program.clone(),
        library: library.to_path_buf(),
        source,
    };
    let mut child = Command::new(&program)
        .env_clear()
        .env("LD_PRELOAD", library)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(probe_error)?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.take(16 * 1024).read_to_end(&mut text);
        text
    });
    let deadline = Instant::now() + LOAD_CHECK_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(probe_error)? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(LibraryError::NotLoadable {
                path: library.to_path_buf(),
                detail: format!("`true` did not finish within {LOAD_CHECK_TIMEOUT:?}"),
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    let loader_complained = stderr.contains("ld.so") || stderr.contains("LD_PRELOAD");
    if status.success() && !loader_complained {
        return Ok(());
    }
    let detail = match stderr.trim() {
        "" => format!("`true` failed with {status}"),
        text => text.to_owned(),
    };
    Err(LibraryError::NotLoadable {
        path: library.to_path_buf(),
        detail,
    })
}

fn true_program() -> PathBuf {
    ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/bin/true"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{build_shared_object, Scratch};

    #[test]
    fn candidates_follow_the_documented_order() {
        let search = LibrarySearch {
            explicit: None,
            exe: Some(Path::new("/opt/warden/bin/warden")),
            home: Some(Path::new("/home/u")),
        };
        assert_eq!(
            library_candidates(&search),
            [
                PathBuf::from("/opt/warden/lib/warden/libwarden.so"),
                PathBuf::from("/home/u/.local/lib/warden/libwarden.so"),
                PathBuf::from("/opt/warden/bin/libwarden.so"),
            ]
        );
    }

    #[test]
    fn explicit_path_is_the_only_candidate() {
        let search = LibrarySearch {
            explicit: Some(Path::new("/x/libwarden.so")),
            exe: Some(Path::new("/opt/bin/warden")),
            home: Some(Path::new("/home/u")),
        };
        assert_eq!(
            library_candidates(&search),
            [PathBuf::from("/x/libwarden.so")]
        );
        let err = find_library(&search).unwrap_err();
        assert!(matches!(err, LibraryError::ExplicitMissing(_)), "{err}");
    }

    #[test]
    fn a_relative_explicit_path_comes_back_absolute() {
        let s = Scratch::new("relative");
        std::fs::write(s.0.join(LIBRARY_FILE), "").unwrap();
        // Relative to the working directory, wherever the tests run.
        let cwd = std::env::current_dir().unwrap();
        let relative: PathBuf = std::iter::repeat_n("..", cwd.components().count())
            .collect::<PathBuf>()
            .join(s.0.strip_prefix("/").unwrap())
            .join(LIBRARY_FILE);
        let search = LibrarySearch {
            explicit: Some(&relative),
            ..LibrarySearch::default()
        };
        let found = find_library(&search).unwrap();
        assert!(found.is_absolute());
        assert_eq!(found, s.0.canonicalize().unwrap().join(LIBRARY_FILE));
    }

    #[test]
    fn find_library_returns_the_first_existing_candidate() {
        let s = Scratch::new("findlib");
        let bin = s.dir("bin");
        let home_lib = s.dir("home/.local/lib/warden");
        std::fs::write(bin.join(LIBRARY_FILE), "").unwrap();
        let exe = bin.join("warden");
        let home = s.0.join("home");
        let search = LibrarySearch {
            explicit: None,
            exe: Some(&exe),
            home: Some(&home),
        };
        assert_eq!(find_library(&search).unwrap(), bin.join(LIBRARY_FILE));
        std::fs::write(home_lib.join(LIBRARY_FILE), "").unwrap();
        assert_eq!(find_library(&search).unwrap(), home_lib.join(LIBRARY_FILE));
        let err = find_library(&LibrarySearch::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("WARDEN_LIB"), "{err}");
    }

    #[test]
    fn a_missing_or_non_elf_library_is_not_loadable() {
        let s = Scratch::new("loadable");
        let text_file = s.0.join("libwarden.so");
        std::fs::write(&text_file, "not a shared object").unwrap();
        for bad in [text_file, s.0.join("missing.so")] {
            let err = check_loadable(&bad).unwrap_err();
            assert!(matches!(err, LibraryError::NotLoadable { .. }), "{err}");
            assert!(err.to_string().contains("cannot be preloaded"), "{err}");
        }
    }

    /// A real shared object, compiled here from an empty C file, loads.
    #[test]
    fn a_real_shared_object_is_loadable() {
        let s = Scratch::new("cc");
        check_loadable(&build_shared_object(&s.0)).unwrap();
    }
}
