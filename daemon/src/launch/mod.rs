//! `warden preload`: runs an agent command with every program it starts guarded.
//!
//! [`run`] is a straight sequence, and each choice of the [`Plan`] supplies one step:
//! 1. inside a guarded session already, join it ([`join`]): run the command in place, judged
//!    by the library like any program, with no second session;
//! 2. find `libwarden.so` and check that it loads ([`library`]): the dynamic loader only
//!    warns when a preload entry cannot be loaded, and would run the agent unguarded;
//! 3. make sure a daemon answers, starting one detached when none does, before anything
//!    else: it must never run under the library nor inside the session; and learn how to
//!    start it again ([`keepalive`]) before the agent can change anything;
//! 4. register the session with the daemon;
//! 5. find the command's file ([`program`]) and judge it ([`judge`]) as the session's root:
//!    a static command is never judged otherwise; an `ask` waits here, where Ctrl-C still
//!    ends `warden preload`;
//! 6. block the forwarded signals ([`signals`]) before any thread exists, so only the
//!    forwarding thread gets them; then start the thread that restarts the daemon whenever
//!    it ends ([`keepalive`]);
//! 7. start the agent with its environment ([`child_env`]) and the proof that it was judged
//!    ([`proof`], so a dynamic agent does not judge itself again at load), and wait for it:
//!    how it starts and how it is waited for is the plan's [`Supervision`] ([`plain`]: a
//!    subreaper that reaps until the agent ends);
//! 8. end the session and return the agent's exit status.

mod child_env;
mod join;
mod judge;
mod keepalive;
mod library;
mod plain;
mod program;
mod proof;
mod signals;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::client::{self, Client};
use crate::paths;
use crate::wire::{self, FailMode, Mode};
use judge::Judged;
use warden_wrapper_installer::search::is_executable_file;

/// Status when the agent command cannot be found, as in shells.
pub const EXIT_NOT_FOUND: u8 = 127;
/// Status when the agent command exists but cannot be executed.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// Status when the policy refuses the agent command (as the library's load check exits).
pub const EXIT_REFUSED: u8 = 126;

/// Everything `warden preload` was asked to do, decided up front.
pub struct Plan {
    /// The agent command and its arguments (never empty).
    pub command: Vec<OsString>,
    /// The agent name recorded with the session.
    pub agent: String,
    /// The session's own mode; `None`: the daemon's (enforce unless `serve --monitor`).
    pub mode: Option<Mode>,
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
    if let Some(session) = join::current_session() {
        return Ok(join::run(&plan, &session));
    }
    let library = library::find()?;
    library::check_loadable(&library)?;
    client::ensure_daemon().context("cannot start the warden daemon")?;
    let keepalive = keepalive::Keepalive::prepare()?;

    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let client = Client::from_env();
    let session = client
        .register_session(&wire::SessionRequest {
            agent: plan.agent.clone(),
            root_pid: std::process::id() as i32,
            cwd: wire::Bytes(cwd.as_os_str().as_bytes().to_vec()),
            mode: plan.mode,
            fail: plan.fail,
            isolation: wire::Isolation::None,
            home: std::env::var_os("HOME").map(|home| wire::Bytes(home.into_vec())),
        })
        .context("cannot register a session with the warden daemon")?;

    let status = judged_start(&plan, &library, &session.id, &cwd, &client, keepalive);
    if let Err(err) = client.end_session(&session.id) {
        eprintln!("warden: could not end session {}: {err}", session.id);
    }
    status
}

/// Judges the agent command, then starts it (with the daemon kept alive) and waits for it;
/// returns its status.
fn judged_start(
    plan: &Plan,
    library: &Path,
    session: &str,
    cwd: &Path,
    client: &Client,
    keepalive: keepalive::Keepalive,
) -> anyhow::Result<ExitCode> {
    let name = &plan.command[0];
    let Some(program) = program::locate(name, std::env::var_os("PATH").as_deref(), cwd) else {
        let err = std::io::Error::from(std::io::ErrorKind::NotFound);
        return Ok(ExitCode::from(plain::not_started(name, &err)));
    };
    // Like the library, no question about a file that cannot run: its start fails by itself.
    if is_executable_file(&program)
        && judge::agent_command(client, session, &program, &plan.command, cwd)? == Judged::Refused
    {
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    let forwarded = signals::block_forwarded()?;
    keepalive.start()?;
    let mut environment = child_env::for_agent(library, session, plan.fail);
    environment.push((paths::env::CHECKED, proof::for_child(&plan.command)));
    match plan.supervision {
        Supervision::Reap => plain::run(&program, &plan.command, &environment, &forwarded),
    }
}
