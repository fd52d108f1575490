//! pid 1 of an isolated session's pid namespace: bubblewrap's `do_init` in Rust.
//!
//! `warden preload` clones a child in new user, pid and mount namespaces, which execs
//! `warden __session-init <fd>` (never a command for people: it refuses to run anywhere but
//! as pid 1 of a new pid namespace). The init, in order:
//! 1. becomes undumpable, so that no process of the session can ptrace it or read its
//!    `/proc` entries (it keeps the capability to mount, below);
//! 2. reads its setup (the layout, the agent's command and environment) from the pipe;
//! 3. makes the mounts of the plan and enters the working directory again by its path, so
//!    that a directory hidden by the mounts is not kept open;
//! 4. forks the agent, which enters a nested user and mount namespace (locking the mounts),
//!    checks that they are locked, drops every capability and execs the agent's command;
//! 5. gives up every capability but `CAP_SYS_ADMIN` in the session's first user namespace;
//! 6. reaps every process that ends (orphans come to pid 1), passes on the signals that
//!    `warden preload` forwards, binds the daemon's new sockets when it was restarted (see
//!    `mounts::Follower`), and when the agent ends, ends what is left (below).
//!
//! **Leftovers.** Nothing started in a session outlives it unjudged: when the agent's
//! command exits, every process left in the namespace (a daemonised `sleep &`, a double
//! fork, Codex's `app-server`) gets SIGTERM and [`LEFTOVER_GRACE`] to exit, then SIGKILL.
//! Only then does the init exit, with the agent's status (128+signal when it was killed).
//! When there is nothing left, it exits at once.

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::isolate::{caps, mounts, plan, userns, Setup};
use super::{plain, signals, EXIT_SETUP_FAILED};

/// The hidden argument that makes `warden` a session's init.
pub const ARGUMENT: &str = "__session-init";

/// How long leftovers get between SIGTERM and SIGKILL once the agent's command has ended.
pub const LEFTOVER_GRACE: Duration = Duration::from_secs(2);

/// Largest setup read from `warden preload` (the agent's command and environment).
const SETUP_LIMIT: u64 = 16 << 20;

/// Runs the init when `warden` was started as one (`warden __session-init <fd>`).
pub fn main_if_requested() -> Option<ExitCode> {
    let mut args = std::env::args_os();
    if args.nth(1)? != ARGUMENT {
        return None;
    }
    // SAFETY: getpid and getppid have no preconditions. A new pid namespace's init has no
    // parent it can see.
    if unsafe { (libc::getpid(), libc::getppid()) } != (1, 0) {
        eprintln!(
            "warden: error: `warden {ARGUMENT}` is the init of a session started by \
             `warden preload`; it runs only as pid 1 of a new pid namespace"
        );
        return Some(ExitCode::from(EXIT_SETUP_FAILED));
    }
    let code = run(args.next()).unwrap_or_else(|err| {
        eprintln!(
            "warden: error: {err:#} (`warden preload --no-isolate` runs the agent without \
             session isolation)"
        );
        EXIT_SETUP_FAILED
    });
    Some(ExitCode::from(code))
}

fn run(fd: Option<OsString>) -> anyhow::Result<u8> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        bail!(
            "cannot make the session's init undumpable: {}",
            std::io::Error::last_os_error()
        );
    }
    let setup = read_setup(fd)?;
    let steps = plan::mounts(&setup.layout)?;
    let applied = mounts::apply(&steps)?;
    let followed = plan::followed(&setup.layout);
    let mut follower = mounts::Follower::new(applied, &setup.layout.state_dir, &followed)?;
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    std::env::set_current_dir(&cwd).with_context(|| {
        format!(
            "cannot enter the working directory {} in the session",
            cwd.display()
        )
    })?;
    let waited = signals::block_with_children()?;
    // The agent's process needs the init's capabilities for a moment: mapping root (when
    // the user is root) into its nested user namespace requires CAP_SETFCAP where it was
    // created. It gives them up itself before its exec; the init right after the fork.
    let agent = start_agent(&setup)?;
    caps::keep_only(&[caps::CAP_SYS_ADMIN])?;
    let status = wait_for(agent, &waited, &mut follower);
    end_leftovers();
    Ok(status)
}

/// The setup `warden preload` writes into the pipe `fd` and closes.
fn read_setup(fd: Option<OsString>) -> anyhow::Result<Setup> {
    let fd: RawFd = fd
        .and_then(|fd| fd.into_string().ok())
        .and_then(|fd| fd.parse().ok())
        .filter(|fd| *fd > 2)
        .context("the session's init expects the setup pipe's descriptor")?;
    // SAFETY: `warden preload` passed this descriptor, open, for us alone.
    let pipe = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut text = Vec::new();
    pipe.take(SETUP_LIMIT)
        .read_to_end(&mut text)
        .context("cannot read the session's setup from warden preload")?;
    if text.is_empty() {
        bail!("warden preload ended before the session started");
    }
    serde_json::from_slice(&text).context("invalid session setup from warden preload")
}

/// Forks the agent: the child locks the mounts, drops its capabilities and execs.
fn start_agent(setup: &Setup) -> anyhow::Result<libc::pid_t> {
    let bytes = |b: &crate::wire::Bytes| OsString::from_vec(b.0.clone());
    let (name, args) = setup
        .argv
        .split_first()
        .context("invalid session setup from warden preload: no command")?;
    let mut command = Command::new(bytes(&setup.program));
    command.arg0(bytes(name)).args(args.iter().map(bytes)).envs(
        setup
            .environment
            .iter()
            .map(|(name, value)| (name, bytes(value))),
    );
    let maps = plan::id_maps(&setup.layout);
    let locked = plan::locked(&setup.layout);
    let bounding = plan::bounding_set(&setup.layout);
    // SAFETY: the init is single-threaded, so the child may allocate; it only returns
    // through _exit.
    match unsafe { libc::fork() } {
        -1 => bail!(
            "cannot start the agent: {}",
            std::io::Error::last_os_error()
        ),
        0 => {
            let status = become_agent(command, &maps, &locked, &bounding);
            // SAFETY: _exit ends the child without running the init's exit path.
            unsafe { libc::_exit(status) }
        }
        pid => Ok(pid),
    }
}

/// The agent's side of the fork; returns only when the agent could not start, with the
/// status to exit with.
fn become_agent(
    mut command: Command,
    maps: &plan::IdMaps,
    locked: &plan::Locked,
    bounding: &[u32],
) -> i32 {
    let locked_in = || -> anyhow::Result<()> {
        // The init is undumpable and its child inherits that until exec, which would make
        // its own /proc files (the uid map) unwritable to it.
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) } != 0 {
            bail!(
                "cannot make the agent's process dumpable again: {}",
                std::io::Error::last_os_error()
            );
        }
        signals::unblock_all()?;
        userns::enter_nested(maps)?;
        mounts::verify_locked(locked)?;
        caps::drop_all(bounding)?;
        Ok(())
    };
    if let Err(err) = locked_in() {
        eprintln!("warden: error: {err:#}");
        return EXIT_SETUP_FAILED.into();
    }
    let err = command.exec();
    plain::not_started(command.get_program(), &err).into()
}

/// How often the init looks whether the daemon was restarted (two `fstatat` calls).
const FOLLOW_INTERVAL: Duration = Duration::from_millis(250);

/// Reaps every process that ends until the agent has; passes on the signals forwarded from
/// outside the namespace (the terminal's reached the agent already, and processes inside
/// may not steer it through pid 1); follows a daemon restart. Returns the agent's status,
/// or 128+signal. No allocation in the loop.
fn wait_for(agent: libc::pid_t, waited: &libc::sigset_t, follower: &mut mounts::Follower) -> u8 {
    let interval = libc::timespec {
        tv_sec: 0,
        tv_nsec: FOLLOW_INTERVAL.as_nanos() as libc::c_long,
    };
    let mut next_look = Instant::now();
    let mut follow_failed = false;
    loop {
        // A stream of signals must not keep the init from looking.
        if Instant::now() >= next_look {
            next_look = Instant::now() + FOLLOW_INTERVAL;
            if follower.follow().is_err() && !follow_failed {
                follow_failed = true;
                eprintln!("warden: cannot bind the restarted daemon's sockets into the session");
            }
        }
        // SAFETY: siginfo_t is plain data that sigtimedwait fills.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `waited` is a valid set of signals blocked in this (only) thread, and the
        // timeout a valid timespec.
        let signal = unsafe { libc::sigtimedwait(waited, &mut info, &interval) };
        if signal == libc::SIGCHLD {
            if let Some(status) = reap(Some(agent)).agent {
                return status;
            }
        } else if signal > 0 && from_outside(&info) {
            // SAFETY: kill with the pid of our child, reaped only by this loop.
            unsafe { libc::kill(agent, signal) };
        }
    }
}

/// Whether a signal was sent from outside the session's pid namespace (by `warden preload`,
/// which the kernel shows as pid 0), not by the terminal or a process of the session.
fn from_outside(info: &libc::siginfo_t) -> bool {
    // SAFETY: si_pid is valid for the user-sent codes, the only ones accepted.
    info.si_code != libc::SI_KERNEL
        && (info.si_code == libc::SI_USER || info.si_code == libc::SI_QUEUE)
        && unsafe { info.si_pid() } == 0
}

/// What a round of reaping found.
struct Reaped {
    /// The agent's status, if it was among the processes reaped.
    agent: Option<u8>,
    /// Whether processes are left in the namespace.
    others_left: bool,
}

/// Reaps every process that has ended, without waiting.
fn reap(agent: Option<libc::pid_t>) -> Reaped {
    let mut reaped = Reaped {
        agent: None,
        others_left: false,
    };
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match pid {
            0 => {
                reaped.others_left = true;
                return reaped;
            }
            -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            -1 => return reaped,
            pid if Some(pid) == agent => reaped.agent = Some(exit_status(status)),
            _ => {}
        }
    }
}

fn exit_status(status: libc::c_int) -> u8 {
    if libc::WIFSIGNALED(status) {
        128u8.wrapping_add(libc::WTERMSIG(status) as u8)
    } else {
        libc::WEXITSTATUS(status) as u8
    }
}

/// Ends what the agent left behind: SIGTERM to every process of the namespace, up to
/// [`LEFTOVER_GRACE`] to exit, then SIGKILL; returns once none is left.
fn end_leftovers() {
    if !reap(None).others_left {
        return;
    }
    // SAFETY: kill(-1) from pid 1 signals every other process of its pid namespace.
    unsafe { libc::kill(-1, libc::SIGTERM) };
    let children = signals::set_of(&[libc::SIGCHLD]);
    let deadline = Instant::now() + LEFTOVER_GRACE;
    while reap(None).others_left {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let timeout = libc::timespec {
            tv_sec: left.as_secs() as libc::time_t,
            tv_nsec: left.subsec_nanos() as libc::c_long,
        };
        // SAFETY: a valid set and timeout; SIGCHLD is blocked, so it waits here.
        unsafe { libc::sigtimedwait(&children, std::ptr::null_mut(), &timeout) };
    }
    // SAFETY: as above; SIGKILL cannot be caught or ignored.
    unsafe { libc::kill(-1, libc::SIGKILL) };
    // SAFETY: waitpid with a null status pointer blocks until a child ends (or none is left).
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) } > 0
        || std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
    {}
}
