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
//! 4. prepare where the agent starts, by the plan's [`Isolation`]: nothing to do beside the
//!    user's processes ([`plain`]), or the session's init cloned in namespaces of its own,
//!    waiting ([`isolate`]);
//! 5. register the session with the daemon (with namespaces, it learns the session's pid
//!    namespace from the init before any process of the agent exists);
//! 6. find the command's file ([`program`]) and judge it ([`judge`], in the library's own
//!    words: [`lines`]) as the session's root:
//!    a static command is never judged otherwise; an `ask` waits here, where Ctrl-C still
//!    ends `warden preload`;
//! 7. block the forwarded signals ([`signals`]) before any thread exists, so only the
//!    forwarding thread gets them; then start the thread that restarts the daemon whenever
//!    it ends ([`keepalive`]);
//! 8. start the agent with its environment ([`child_env`]) and the proof that it was judged
//!    ([`proof`], so a dynamic agent does not judge itself again at load): spawned here, or
//!    by the init once it has its setup; wait for it as the plan's [`Supervision`] says;
//! 9. discard what the agent may have pushed into the terminal's input ([`terminal`]), end
//!    the session and return the agent's exit status.

mod child_env;
pub mod init;
pub mod isolate;
mod join;
mod judge;
mod keepalive;
mod library;
mod lines;
mod plain;
mod program;
mod proof;
mod signals;
mod terminal;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
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
/// Status when warden cannot set the session up (warden's usual error status).
pub const EXIT_SETUP_FAILED: u8 = 3;

/// Everything `warden preload` was asked to do, decided up front.
pub struct Plan {
    /// The agent command and its arguments (never empty).
    pub command: Vec<OsString>,
    /// The agent name recorded with the session.
    pub agent: String,
    /// The session's own mode; `None`: the daemon's (enforce unless `serve --monitor`).
    pub mode: Option<Mode>,
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
    if let Some(session) = join::current_session() {
        return Ok(join::run(&plan, &session));
    }
    let library = library::find()?;
    library::check_loadable(&library)?;
    client::ensure_daemon().context("cannot start the warden daemon")?;
    let keepalive = keepalive::Keepalive::prepare()?;
    let start = Start::prepare(plan.isolation, &library)?;

    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let client = Client::from_env();
    let session = client
        .register_session(&wire::SessionRequest {
            agent: plan.agent.clone(),
            root_pid: std::process::id() as i32,
            cwd: wire::Bytes(cwd.as_os_str().as_bytes().to_vec()),
            mode: plan.mode,
            fail: plan.fail,
            isolation: start.isolation(),
            init_pid: start.init_pid(),
            home: std::env::var_os("HOME").map(|home| wire::Bytes(home.into_vec())),
        })
        .context("cannot register a session with the warden daemon")?;

    let status = judged_start(
        &plan,
        start,
        &library,
        &session.id,
        &cwd,
        &client,
        keepalive,
    );
    terminal::discard_pending_input();
    if let Err(err) = client.end_session(&session.id) {
        eprintln!("warden: could not end session {}: {err}", session.id);
    }
    status
}

/// Judges the agent command, then starts it (with the daemon kept alive) and waits for it;
/// returns its status.
fn judged_start(
    plan: &Plan,
    start: Start,
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
    let mut environment = child_env::for_agent(library, session, plan.fail, start.sockets());
    if let Some(proof) = start.proof(&program, &plan.command) {
        environment.push((paths::env::CHECKED, proof));
    }
    let shared = matches!(start, Start::Shared);
    let status = match start.launch(&program, &plan.command, &environment, &forwarded)? {
        Launched::NotStarted(status) => status,
        Launched::Running(pid) => {
            signals::forward_to(pid, forwarded);
            match plan.supervision {
                Supervision::Reap => plain::reap_until(pid)?,
            }
        }
    };
    if shared {
        plain::report_leftovers();
    }
    Ok(ExitCode::from(status))
}

/// Step 4 done: where the agent is about to start.
enum Start {
    Shared,
    Namespaces(isolate::Prepared),
}

impl Start {
    fn prepare(isolation: Isolation, library: &Path) -> anyhow::Result<Start> {
        Ok(match isolation {
            Isolation::Shared => Start::Shared,
            Isolation::Namespaces => Start::Namespaces(isolate::prepare(library)?),
        })
    }

    fn isolation(&self) -> wire::Isolation {
        match self {
            Start::Shared => wire::Isolation::None,
            Start::Namespaces(_) => wire::Isolation::Namespaces,
        }
    }

    /// The init of the session's pid namespace (in `warden preload`'s pid namespace).
    fn init_pid(&self) -> Option<i32> {
        match self {
            Start::Shared => None,
            Start::Namespaces(prepared) => Some(prepared.init_pid()),
        }
    }

    fn sockets(&self) -> (PathBuf, PathBuf) {
        match self {
            Start::Shared => child_env::shared_sockets(),
            Start::Namespaces(prepared) => prepared.agent_sockets(),
        }
    }

    /// The proof of judgement for the agent, bound to its parent's pid as the agent sees
    /// it: `warden preload`'s own, or 1 (the init) in the session's pid namespace. There, a
    /// static agent would keep it for its children, and pid 1 is the parent of every
    /// namespace's first process (Codex's sandbox makes some): it gets a proof only when it
    /// loads the library, which spends the proof at once.
    fn proof(&self, program: &Path, argv: &[OsString]) -> Option<OsString> {
        match self {
            Start::Shared => Some(proof::for_child_of(std::process::id(), argv)),
            Start::Namespaces(_) => {
                proof::loads_the_library(program).then(|| proof::for_child_of(1, argv))
            }
        }
    }

    /// Starts the agent: spawned here, or the init let go (it forks the agent itself); the
    /// pid returned is the one to wait for.
    fn launch(
        self,
        program: &Path,
        argv: &[OsString],
        environment: &[(&str, OsString)],
        forwarded: &libc::sigset_t,
    ) -> anyhow::Result<Launched> {
        match self {
            Start::Shared => plain::start(program, argv, environment, forwarded),
            Start::Namespaces(prepared) => prepared
                .release(program, argv, environment)
                .map(Launched::Running),
        }
    }
}
