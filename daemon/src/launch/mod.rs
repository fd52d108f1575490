//! `warden preload`: runs an agent command with every program it starts guarded.
//!
//! [`run`] is a straight sequence, and each choice of the [`Plan`] supplies one step:
//! 1. find `libwarden.so` and check that it loads ([`library`]): the dynamic loader only
//!    warns when a preload entry cannot be loaded, and would run the agent unguarded;
//! 2. make sure a daemon answers, starting one detached when none does, before anything
//!    else: it must never run under the library nor inside the session;
//! 3. block the forwarded signals ([`signals`]) once the daemon is started (it must not
//!    inherit the mask) and before any thread exists, so only the forwarding thread gets them;
//! 4. register the session with the daemon;
//! 5. start the agent with its environment ([`child_env`]) and wait for it: how it starts
//!    and how it is waited for is the plan's [`Supervision`] ([`plain`]: a subreaper that
//!    reaps until the agent ends);
//! 6. end the session and return the agent's exit status.

mod child_env;
mod library;
mod plain;
mod signals;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::ExitCode;

use anyhow::Context;

use crate::client::{self, Client};
use crate::wire::{self, FailMode, Mode};

/// Status when the agent command cannot be found, as in shells.
pub const EXIT_NOT_FOUND: u8 = 127;
/// Status when the agent command exists but cannot be executed.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;

/// Everything `warden preload` was asked to do, decided up front.
pub struct Plan {
    /// The agent command and its arguments (never empty).
    pub command: Vec<OsString>,
    /// The agent name recorded with the session.
    pub agent: String,
    pub mode: Mode,
    pub fail: FailMode,
    pub supervision: Supervision,
}

/// How the agent's process tree is watched over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Supervision {
    /// A child subreaper that reaps orphans (which stay in the session's tree, where the
    /// daemon recognises them) until the agent ends.
    Reap,
}

pub fn run(plan: Plan) -> anyhow::Result<ExitCode> {
    let library = library::find()?;
    library::check_loadable(&library)?;
    client::ensure_daemon().context("cannot start the warden daemon")?;
    let forwarded = signals::block_forwarded()?;

    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let session = Client::from_env()
        .register_session(&wire::SessionRequest {
            agent: plan.agent.clone(),
            root_pid: std::process::id() as i32,
            cwd: wire::Bytes(cwd.as_os_str().as_bytes().to_vec()),
            mode: plan.mode,
            fail: plan.fail,
            home: std::env::var_os("HOME").map(|home| wire::Bytes(home.into_vec())),
        })
        .context("cannot register a session with the warden daemon")?;

    let environment = child_env::for_agent(&library, &session.id, plan.fail);
    let status = match plan.supervision {
        Supervision::Reap => plain::run(&plan.command, &environment, &forwarded),
    };
    if let Err(err) = Client::from_env().end_session(&session.id) {
        eprintln!("warden: could not end session {}: {err}", session.id);
    }
    status
}
