//! A `warden preload` started inside a guarded session joins that session: it runs the
//! command in place, through the library's exec hook, instead of registering a second
//! session (which the daemon refuses from inside one).
//!
//! This is what a `warden setup` wrapper does when the agent, or a `warden preload -- codex`
//! that found the wrapper first on `PATH`, starts it: the real agent runs directly in the
//! session that is already there, judged like any other program, with no nested session
//! and no approval to wait for. Joining gives a process nothing it did not have: the session
//! variables could be forged outside a session, but then the command runs under the library
//! named in `LD_PRELOAD`, as any program started with that environment would.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use super::{library, plain, Plan};
use crate::paths;
use crate::wire::FailMode;

/// The session this process runs in: `WARDEN_SESSION` is set and warden's library is loaded
/// here (so the exec below is judged, and the command keeps the library).
pub fn current_session() -> Option<String> {
    let session = std::env::var(paths::env::SESSION).ok()?;
    (!session.is_empty() && library::loaded_here()).then_some(session)
}

/// Runs the plan's command in place; returns only when it could not be started.
pub fn run(plan: &Plan, session: &str) -> ExitCode {
    if plan.mode.is_some() || plan.fail == FailMode::Open {
        eprintln!(
            "warden: already inside guarded session {session}: its mode and fail mode apply, \
             not this preload's flags"
        );
    }
    let program: &OsStr = &plan.command[0];
    let err = Command::new(program).args(&plan.command[1..]).exec();
    ExitCode::from(plain::not_started(program, &err))
}
