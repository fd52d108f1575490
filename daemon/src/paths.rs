//! Where warden keeps its state. Everything lives under one directory, `WARDEN_HOME`
//! (default `~/.warden`), so that tests can relocate it wholesale.

use std::path::PathBuf;

/// Environment variables that warden itself reads. None contains `KEY`, `SECRET` or `TOKEN`:
/// Codex can be configured to strip such variables from the commands it runs.
pub mod env {
    /// State directory (default `~/.warden`).
    pub const HOME: &str = "WARDEN_HOME";
    /// The daemon's stream socket (default `$WARDEN_HOME/warden.sock`).
    pub const SOCKET: &str = "WARDEN_SOCKET";
    /// The daemon's datagram door (default `$WARDEN_HOME/door.sock`).
    pub const DOOR: &str = "WARDEN_DOOR";
    /// The session id handed to the preload library by `warden preload`.
    pub const SESSION: &str = "WARDEN_SESSION";
    /// `open` or `closed`: what the library does when the daemon is unreachable (unset: closed
    /// inside a session, open for a library loaded outside any).
    pub const FAIL: &str = "WARDEN_FAIL";
    /// Explicit path of `libwarden.so`.
    pub const LIB: &str = "WARDEN_LIB";
    /// The proof that a program's start was judged (`preload/src/checked.rs`), which
    /// `warden preload` hands the agent command it judged itself.
    pub const CHECKED: &str = "WARDEN_CHECKED";
}

/// The state directory: `$WARDEN_HOME`, else `$HOME/.warden`.
pub fn home() -> PathBuf {
    if let Some(dir) = std::env::var_os(env::HOME).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let user_home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    user_home.join(".warden")
}

/// The daemon's stream socket: `$WARDEN_SOCKET`, else `<home>/warden.sock`.
pub fn socket() -> PathBuf {
    std::env::var_os(env::SOCKET)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join("warden.sock"))
}

/// The daemon's datagram door: `$WARDEN_DOOR`, else `<home>/door.sock`.
pub fn door() -> PathBuf {
    std::env::var_os(env::DOOR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join("door.sock"))
}

/// The operator's policy file, layered over the built-in default policy.
pub fn user_policy() -> PathBuf {
    home().join("policy.toml")
}

/// The policy in force and whether loosening changes are held (`server/reload.rs`).
pub fn policy_state() -> PathBuf {
    home().join("policy-state.json")
}

/// Pending approvals, persisted across daemon restarts.
pub fn pending() -> PathBuf {
    home().join("pending.json")
}

/// The hash-chained audit log directory.
pub fn audit_dir() -> PathBuf {
    home().join("audit")
}

/// The daemon's lock, held while it runs; it holds the daemon's pid.
pub fn serve_lock() -> PathBuf {
    home().join("serve.lock")
}

/// Log file of a daemon started with `--background`.
pub fn serve_log() -> PathBuf {
    home().join("serve.log")
}
