//! Everything `warden setup` can refuse or fail at, each with what to do about it.

use std::path::PathBuf;

use crate::library::LibraryError;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("unknown agent `{name}`; supported: {supported}")]
    UnknownAgent { name: String, supported: String },
    #[error(
        "no {program} found on PATH outside {}; install {program} first, or set {env}=/path/to/{program}",
        .wrapper_dir.display()
    )]
    AgentNotFound {
        program: &'static str,
        env: &'static str,
        wrapper_dir: PathBuf,
    },
    #[error("{env}={}: {problem}", .path.display())]
    BadOverride {
        env: &'static str,
        path: PathBuf,
        problem: &'static str,
    },
    #[error(
        "{} is the wrapper itself, so it would run itself forever; point {env} at the real {program}",
        .real.display()
    )]
    PointsAtItself {
        real: PathBuf,
        env: &'static str,
        program: &'static str,
    },
    #[error("no home directory: HOME is not set; pass --bin-dir")]
    NoHome,
    #[error("{} is not an absolute path", .0.display())]
    RelativeBinDir(PathBuf),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(
        "{} exists and is not a warden wrapper; left untouched (run again with --force to \
         replace it and keep a backup at {})",
        .path.display(), .backup.display()
    )]
    ForeignFile { path: PathBuf, backup: PathBuf },
    #[error("{} is a directory, not a place for the wrapper; pass another --bin-dir", .0.display())]
    NotAFile(PathBuf),
    #[error(
        "backup {} already exists; move it away first, so that --force does not overwrite it",
        .0.display()
    )]
    BackupExists(PathBuf),
    #[error("{} is not a warden wrapper; left untouched (delete it yourself if you mean to)", .0.display())]
    NotOurs(PathBuf),
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SetupError {
    /// An I/O failure while doing `action` to `path`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| SetupError::Io {
            action,
            path,
            source,
        }
    }
}
