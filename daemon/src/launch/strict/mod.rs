//! [`Supervision::Trace`](super::Supervision::Trace), strict mode: `warden preload` traces
//! the agent's whole tree with ptrace and judges every exec at the stop after it, where the
//! new program is loaded and has not run one instruction: static programs, raw `execve`
//! system calls and processes that lost the library included.
//!
//! One concern per module:
//! - [`probe`]: whether ptrace works here (checked before anything starts);
//! - [`notes`]: the socket on which the daemon tells of the starts it allowed after a hook;
//! - [`start`]: the agent forked, seized, then released into its exec, traced from birth
//!   (or, with namespaces, the session's init seized before it starts the agent);
//! - [`seccomp`]: the filter that keeps `clone(CLONE_UNTRACED)` from leaving the trace;
//! - [`stop`]: each wait status decoded once into a stop, and the ways to resume each kind;
//! - [`tracee`]: what a stopped tracee runs, from `/proc`, as a preflight;
//! - [`judge`]: the preflight through the daemon (unless a note told of the start),
//!   approvals waited for on threads;
//! - [`deny`]: the library's own lines on a tracee's stderr, and the kill.
//!
//! The supervisor stays outside whatever namespaces the tree enters: a tracer attached from
//! birth follows clone into new user, pid and mount namespaces, and the pids it waits for
//! are its own view of them. It marks itself non-dumpable, so that no process of the tree
//! (same user) can attach to it or read its memory.

mod deny;
mod judge;
mod notes;
mod probe;
pub(super) mod seccomp;
mod start;
mod stop;
mod tracee;

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context};

use super::{plain, Launched};
use crate::paths;
use crate::starts::{FileId, Runner, Start};
use crate::wire::{Bytes, FailMode};
use judge::{Answer, Judge};
use notes::Notes;
use start::Started;
use stop::{Stop, Wait};

/// What the loop hears next.
enum Event {
    Traced(Wait),
    Answered(Answer),
}

/// Strict mode made ready before the session is registered: ptrace works here, and the
/// socket on which the daemon will tell of allowed starts is open.
pub struct Supervisor {
    notes: Notes,
}

/// A [`Supervisor`] that hears of its tracees: `SIGCHLD` blocked (in this thread, and in
/// every thread started after) and read through a signalfd.
pub struct Armed {
    notes: Notes,
    children: OwnedFd,
    session: String,
    fail: FailMode,
}

impl Supervisor {
    pub fn prepare() -> anyhow::Result<Supervisor> {
        probe::ptrace()?;
        Ok(Supervisor {
            notes: Notes::open(paths::socket())?,
        })
    }

    /// The abstract address to register with the session (`SessionRequest::supervisor`).
    pub fn address(&self) -> &str {
        self.notes.name()
    }

    /// Blocks `SIGCHLD` for the signalfd: before any other thread exists (a thread that did
    /// not block it could take the signal, and the loop would not wake), and after the daemon
    /// was started (which must not inherit the mask).
    pub fn arm(self, session: &str, fail: FailMode) -> anyhow::Result<Armed> {
        Ok(Armed {
            notes: self.notes,
            children: child_signals()?,
            session: session.to_string(),
            fail,
        })
    }
}

impl Armed {
    /// Starts `program` with `argv`, a child of this process (a subreaper), traced from its
    /// first instruction.
    pub fn spawn(
        &mut self,
        program: &Path,
        argv: &[OsString],
        environment: &[(&str, OsString)],
        forwarded: &libc::sigset_t,
    ) -> anyhow::Result<Launched> {
        plain::become_subreaper()?;
        self.expect_agent(std::process::id() as libc::pid_t, program, argv);
        let mut unblock = *forwarded;
        // SAFETY: sigaddset on a valid set we own.
        unsafe { libc::sigaddset(&mut unblock, libc::SIGCHLD) };
        Ok(match start::agent(program, argv, environment, &unblock)? {
            Started::Traced(pid) => Launched::Running(pid),
            Started::Failed(err) => Launched::NotStarted(plain::not_started(&argv[0], &err)),
        })
    }

    /// Traces `init`, a child of this process that will start the agent (`program` with
    /// `argv`) once released, from before that: what it forks is traced from birth.
    pub fn adopt(
        &mut self,
        init: libc::pid_t,
        program: &Path,
        argv: &[OsString],
    ) -> anyhow::Result<()> {
        start::seize(init)?;
        self.expect_agent(init, program, argv);
        Ok(())
    }

    /// The agent's own start, a child of `parent` running `program` with `argv`, was judged
    /// by `warden preload` itself (hook `preload`): its exec stop asks nothing.
    fn expect_agent(&mut self, parent: libc::pid_t, program: &Path, argv: &[OsString]) {
        let own = std::process::id() as i32;
        let bytes = |s: &std::ffi::OsStr| Bytes(s.as_encoded_bytes().to_vec());
        if let Some(file) = FileId::seen_by(own, program.as_os_str().as_encoded_bytes()) {
            self.notes.expect(Start {
                runner: Runner::ChildOf(parent),
                file,
                argv: argv.iter().map(|arg| bytes(arg)).collect(),
            });
        }
    }

    /// Judges every exec of the tree until `agent` (the agent, or the init that started it)
    /// ends; returns its status (128 + signal when killed, as [`plain`] does).
    pub fn supervise(self, agent: libc::pid_t) -> anyhow::Result<u8> {
        // Only now: a child forked from a non-dumpable process is one too, and could not be
        // seized without CAP_SYS_PTRACE.
        forbid_attaching()?;
        let mut judge = Judge::new(self.session, self.fail, self.notes)?;
        loop {
            match next(&judge, &self.children).context("cannot wait for the agent's processes")? {
                Event::Traced(Wait::Stopped(Stop::Exec(stop))) => judge.exec(stop),
                Event::Traced(Wait::Stopped(Stop::Signal(stop))) => stop.deliver(),
                Event::Traced(Wait::Stopped(Stop::Group(stop))) => stop.listen(),
                Event::Traced(Wait::Stopped(Stop::Event(stop))) => stop.resume(),
                Event::Traced(Wait::Ended { pid, status }) if pid == agent => return Ok(status),
                Event::Traced(Wait::Ended { pid, .. }) => judge.forget(pid),
                Event::Answered(answer) => judge.settle(answer),
            }
        }
    }
}

/// The next event. While no exec stop waits for a person, only the tree can change, and a
/// blocking wait is the cheapest way to hear of it; otherwise an answer may come first, so
/// both are polled.
fn next(judge: &Judge, children: &OwnedFd) -> std::io::Result<Event> {
    loop {
        if !judge.is_waiting() {
            return stop::wait().map(Event::Traced);
        }
        if let Some(answer) = judge.answered() {
            return Ok(Event::Answered(answer));
        }
        if let Some(wait) = stop::poll()? {
            return Ok(Event::Traced(wait));
        }
        let mut fds = [children.as_raw_fd(), judge.wake_fd()].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        // SAFETY: poll on an array of two pollfds we own.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        drain(children);
    }
}

/// A descriptor that becomes readable when a `SIGCHLD` is pending: the kernel sends one to
/// the tracer at every stop and exit of a tracee. The signal is blocked here, and so in the
/// threads started later, so it waits for the signalfd.
fn child_signals() -> anyhow::Result<OwnedFd> {
    // SAFETY: sigemptyset/sigaddset on a set we own, then pthread_sigmask and signalfd with it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            bail!(
                "cannot block SIGCHLD: {}",
                std::io::Error::from_raw_os_error(rc)
            );
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            bail!(
                "cannot create a signalfd: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Reads every pending `SIGCHLD` off the signalfd, so it blocks `poll` again.
fn drain(children: &OwnedFd) {
    let mut info = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
    // SAFETY: non-blocking reads of whole signalfd_siginfo records into a local buffer.
    while unsafe { libc::read(children.as_raw_fd(), info.as_mut_ptr().cast(), info.len()) } > 0 {}
}

/// The tree runs as the same user as the supervisor: a non-dumpable process cannot be
/// attached to, nor its memory read, by processes without `CAP_SYS_PTRACE`.
fn forbid_attaching() -> anyhow::Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        bail!(
            "cannot make warden preload non-dumpable: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}
