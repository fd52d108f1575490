//! `warden preload`: runs an agent command with every program it starts guarded.
//!
//! [`run`] is a straight sequence, and each choice of the [`Plan`] supplies one step:
//! 1. find `libwarden.so` and check that it loads ([`library`]): the dynamic loader only
//!    warns when a preload entry cannot be loaded, and would run the agent unguarded;
//! 2. make sure a daemon answers, starting one detached when none does, before anything
//!    else: it must never run under the library nor inside the session;
//! 3. block the forwarded signals ([`signals`]) once the daemon is started (it must not
//!    inherit the mask) and before any thread exists, so only the forwarding thread gets them;
//! 4. prepare where the agent starts, by the plan's [`Isolation`]: nothing to do beside the
//!    user's processes ([`plain`]), or the session's init cloned in namespaces of its own,
//!    waiting ([`isolate`]);
//! 5. register the session with the daemon (for namespaces: the init is the root, and the
//!    daemon learns the session's pid namespace before any process of the agent exists);
//! 6. start the agent with its environment ([`child_env`]) and wait for it: how it is waited
//!    for is the plan's [`Supervision`];
//! 7. discard what the agent may have pushed into the terminal's input ([`terminal`]), end
//!    the session and return the agent's exit status.

mod child_env;
pub mod init;
pub mod isolate;
mod library;
mod plain;
mod signals;
mod terminal;

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::client::{self, Client};
use crate::wire::{self, FailMode, Mode};

/// Status when the agent command cannot be found, as in shells.
pub const EXIT_NOT_FOUND: u8 = 127;
/// Status when the agent command exists but cannot be executed.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// Status when warden cannot set the session up (warden's usual error status).
pub const EXIT_SETUP_FAILED: u8 = 3;

/// Everything `warden preload` was asked to do, decided up front.
pub struct Plan {
    /// The agent command and its arguments (never empty).
    pub command: Vec<OsString>,
    /// The agent name recorded with the session.
    pub agent: String,
    pub mode: Mode,
    pub fail: FailMode,
    pub isolation: Isolation,
    pub supervision: Supervision,
}

/// Where the agent runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Beside the user's other processes, seeing warden's daemon and files
    /// (`--no-isolate`, or where user namespaces are unavailable).
    Shared,
    /// In user, pid and mount namespaces of its own, with warden's state hidden.
    Namespaces,
}

/// How the agent's process tree is watched over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Supervision {
    /// Reap until the agent ends (orphans come to `warden preload`, a subreaper, or to the
    /// session's init, which ends them with the session).
    Reap,
}

/// The agent's process once started, or the status it ended with without starting.
pub enum Launched {
    Running(libc::pid_t),
    NotStarted(u8),
}

pub fn run(plan: Plan) -> anyhow::Result<ExitCode> {
    let library = library::find()?;
    library::check_loadable(&library)?;
    client::ensure_daemon().context("cannot start the warden daemon")?;
    let forwarded = signals::block_forwarded()?;
    let start = Start::prepare(plan.isolation, &library)?;

    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let session = Client::from_env()
        .register_session(&wire::SessionRequest {
            agent: plan.agent.clone(),
            root_pid: start.root_pid(),
            cwd: wire::Bytes(cwd.as_os_str().as_bytes().to_vec()),
            mode: plan.mode,
            fail: plan.fail,
            isolation: start.isolation(),
        })
        .context("cannot register a session with the warden daemon")?;

    let environment = child_env::for_agent(&library, &session.id, plan.fail, start.sockets());
    let status = start
        .launch(&plan.command, &environment, &forwarded)
        .and_then(|launched| match launched {
            Launched::NotStarted(status) => Ok(status),
            Launched::Running(pid) => {
                signals::forward_to(pid, forwarded);
                match plan.supervision {
                    Supervision::Reap => plain::reap_until(pid),
                }
            }
        });
    if plan.isolation == Isolation::Shared {
        plain::report_leftovers();
    }
    terminal::discard_pending_input();
    if let Err(err) = Client::from_env().end_session(&session.id) {
        eprintln!("warden: could not end session {}: {err}", session.id);
    }
    status.map(ExitCode::from)
}

/// Step 4 done: where the agent is about to start.
enum Start {
    Shared,
    Namespaces(isolate::Prepared),
}

impl Start {
    fn prepare(isolation: Isolation, library: &std::path::Path) -> anyhow::Result<Start> {
        Ok(match isolation {
            Isolation::Shared => Start::Shared,
            Isolation::Namespaces => Start::Namespaces(isolate::prepare(library)?),
        })
    }

    /// The session's root: `warden preload` itself, or the init of the session's namespace.
    fn root_pid(&self) -> i32 {
        match self {
            Start::Shared => std::process::id() as i32,
            Start::Namespaces(prepared) => prepared.init_pid(),
        }
    }

    fn isolation(&self) -> wire::Isolation {
        match self {
            Start::Shared => wire::Isolation::None,
            Start::Namespaces(_) => wire::Isolation::Namespaces,
        }
    }

    fn sockets(&self) -> (PathBuf, PathBuf) {
        match self {
            Start::Shared => child_env::shared_sockets(),
            Start::Namespaces(prepared) => prepared.agent_sockets(),
        }
    }

    /// Starts the agent: spawned here, or the init let go (it forks the agent itself); the
    /// pid returned is the one to wait for.
    fn launch(
        self,
        command: &[OsString],
        environment: &[(&str, OsString)],
        forwarded: &libc::sigset_t,
    ) -> anyhow::Result<Launched> {
        match self {
            Start::Shared => plain::start(command, environment, forwarded),
            Start::Namespaces(prepared) => prepared
                .release(command, environment)
                .map(Launched::Running),
        }
    }
}
