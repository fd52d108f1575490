//! The variables the agent starts with: the library in `LD_PRELOAD` and warden's own
//! `WARDEN_*` (absolute socket paths, the session, the fail mode). The library restores them
//! on every program it lets start, so they last through `env -i` and the like.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::library;
use crate::paths;
use crate::wire::FailMode;

/// Name and value of each variable set for the agent (the rest of the environment is
/// inherited). `sockets` are the daemon's socket and door where the agent finds them.
pub fn for_agent(
    library: &Path,
    session: &str,
    fail: FailMode,
    sockets: (PathBuf, PathBuf),
) -> Vec<(&'static str, OsString)> {
    let (socket, door) = sockets;
    vec![
        ("LD_PRELOAD", library::preload_list(library)),
        (paths::env::SOCKET, socket.into()),
        (paths::env::DOOR, door.into()),
        (paths::env::SESSION, session.into()),
        (
            paths::env::FAIL,
            match fail {
                FailMode::Open => "open",
                FailMode::Closed => "closed",
            }
            .into(),
        ),
    ]
}

/// The daemon's socket and door as `warden preload` sees them, absolute: where an agent
/// that shares its mounts finds them.
pub fn shared_sockets() -> (PathBuf, PathBuf) {
    (absolute(&paths::socket()), absolute(&paths::door()))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
