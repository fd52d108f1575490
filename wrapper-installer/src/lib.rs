//! The library behind `warden setup`: installs a small POSIX `sh` wrapper (e.g.
//! `~/.local/bin/codex`) so that a plain agent command always runs under
//! `warden preload`, and takes it away again.
//!
//! The agent-specific part is data ([`agents::AGENTS`]); everything else is shared.
//! Environment variables are read by the caller and passed in ([`Context`]), so the
//! functions here only touch the file system and, for the library check, run `true`.

pub mod agents;
mod atomic;
mod error;
pub mod library;
pub mod operations;
pub mod search;
pub mod shell;
pub mod wrapper;

#[cfg(test)]
mod test_support;

pub use agents::{by_name, Agent, AGENTS};
pub use error::SetupError;
pub use library::{check_loadable, find_library, LibraryError, LibrarySearch};
pub use operations::{
    default_bin_dir, install, list, remove, AgentStatus, Change, Context, InstallOptions,
    InstallReport, RemoveReport, WrapperState,
};
pub use search::PathOrder;
pub use wrapper::FailMode;
