//! `warden preload` keeps its daemon alive: sessions fail closed, so a daemon that is gone
//! would stop the agent; and an agent that kills the daemon must not switch warden off.
//!
//! Before the agent starts, [`Keepalive::prepare`] takes everything a restart needs, so that
//! nothing the agent does later changes it: the `warden serve` arguments of the daemon that
//! answers (its policy file, mode, limits: `serve_args` in its status) and the identity of
//! `$WARDEN_HOME`. A thread then watches the daemon's process through a pidfd. When it ends
//! (killed, crashed, stopped, or stepping down because its socket was removed), the thread
//! starts `warden serve --background` with those arguments at once, detached as any daemon,
//! from this very binary (`/proc/self/exe`, whatever now lies at its path). Programs the
//! agent starts meanwhile wait for it (the library retries for a moment before refusing);
//! waiting approvals reconnect. The new daemon records in the audit log which pid ran before
//! and how it ended.
//!
//! A daemon an operator stopped with `warden stop` (its lock file says so) is not replaced:
//! the session stays refused until a daemon runs again, and is then watched. A
//! `$WARDEN_HOME` that was moved or replaced during the session is not used either: a daemon
//! started there would run without the policy, audit log and sessions of the real one. The
//! session then stays refused (fail closed) until the directory is back.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::client::Client;
use crate::paths;
use crate::server::access::{Channel, Peer};
use crate::server::previous_daemon;
use crate::server::process::open_pidfd;

/// Pause between two attempts to start a daemon that would not start.
const RETRY: Duration = Duration::from_secs(1);

/// What a restart needs, taken before the agent runs.
pub struct Keepalive {
    /// `warden serve` arguments of the daemon in force at session start.
    serve_args: Vec<OsString>,
    socket: PathBuf,
    /// The daemon's lock file, which says how the last daemon ended.
    lock: PathBuf,
    home: PathBuf,
    /// `$WARDEN_HOME`'s device and inode at session start.
    home_file: (u64, u64),
}

impl Keepalive {
    /// Learns how the daemon that answers now was started. A daemon that does not say (an
    /// older one) is restarted with the default settings.
    pub fn prepare() -> anyhow::Result<Keepalive> {
        let home = std::path::absolute(paths::home()).context("cannot resolve WARDEN_HOME")?;
        let home_file = identity(&home)
            .with_context(|| format!("cannot inspect the state directory {}", home.display()))?;
        let serve_args = Client::from_env()
            .status()
            .map(|status| {
                let args = status.serve_args.into_iter();
                args.map(|arg| OsString::from_vec(arg.0)).collect()
            })
            .unwrap_or_default();
        Ok(Keepalive {
            serve_args,
            socket: paths::socket(),
            lock: paths::serve_lock(),
            home,
            home_file,
        })
    }

    /// Watches the daemon on a thread of its own for as long as this process lives.
    pub fn start(self) -> anyhow::Result<()> {
        std::thread::Builder::new()
            .name("warden-keepalive".into())
            .spawn(move || self.watch())
            .map(drop)
            .context("cannot start the thread that keeps the warden daemon alive")
    }

    fn watch(self) {
        loop {
            let ended = match self.daemon() {
                Some((pid, pidfd)) => {
                    wait_for_exit(&pidfd);
                    Some(pid)
                }
                None => None,
            };
            if previous_daemon(&self.lock).is_some_and(|p| p.stopped_by_operator()) {
                eprintln!(
                    "warden: the warden daemon was stopped with \"warden stop\"; programs of \
                     this session are refused until one runs again (warden serve --background)"
                );
                while self.answering().is_none() {
                    std::thread::sleep(RETRY);
                }
                continue;
            }
            let started = self.restart();
            let before = ended.map_or("was not answering".to_string(), |pid| {
                format!("(pid {pid}) ended")
            });
            let now = started.map_or(String::new(), |pid| format!(" (pid {pid})"));
            eprintln!("warden: the warden daemon {before}; a new one answers{now}");
        }
    }

    /// The pid of the daemon answering on the socket, with a pidfd for it; `None` when none
    /// answers.
    fn daemon(&self) -> Option<(i32, OwnedFd)> {
        let pid = self.answering()?;
        let pidfd = open_pidfd(pid)?;
        // The pidfd names a process that lived after the pid was read: still the daemon
        // when the socket is still answered from that pid.
        (self.answering() == Some(pid)).then_some((pid, pidfd))
    }

    /// The pid of the process listening on the socket (`SO_PEERCRED`).
    fn answering(&self) -> Option<i32> {
        let stream = std::os::unix::net::UnixStream::connect(&self.socket).ok()?;
        Peer::of(&stream, Channel::Socket).pid
    }

    /// Starts a daemon and returns its pid once one answers, trying again every second
    /// (with one line per distinct reason) while it cannot.
    fn restart(&self) -> Option<i32> {
        let mut said = None;
        loop {
            let outcome = match identity(&self.home) {
                Ok(file) if file == self.home_file => self.start_daemon(),
                _ => Err(format!(
                    "{} was moved or replaced during this session, so no daemon is started \
                     there; every program of the session is refused until it is back",
                    self.home.display()
                )),
            };
            match outcome {
                Ok(()) => return self.answering(),
                Err(reason) if said.as_ref() != Some(&reason) => {
                    eprintln!("warden: cannot restart the warden daemon: {reason}");
                    said = Some(reason);
                }
                Err(_) => {}
            }
            std::thread::sleep(RETRY);
        }
    }

    /// `warden serve --background` with the daemon's arguments, from this binary.
    fn start_daemon(&self) -> Result<(), String> {
        let exe = std::env::current_exe().unwrap_or_else(|_| "warden".into());
        let mut command = Command::new("/proc/self/exe");
        command
            .arg0(&exe)
            .args(["serve", "--background"])
            .args(&self.serve_args)
            .env_remove("LD_PRELOAD")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // SAFETY: between fork and exec the closure only calls sigemptyset and sigprocmask,
        // both async-signal-safe: the daemon must not inherit the signals this process
        // blocks for its forwarding thread.
        unsafe {
            command.pre_exec(|| {
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                if libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        // Its stderr ends when it exits. It is not waited for: this process reaps every
        // child it has (it is the session's subreaper), so the main thread may reap it first.
        let mut said = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
        }
        // A daemon answering is what counts, also when another session's warden preload
        // started it first.
        if self.answering().is_some() {
            return Ok(());
        }
        let said = said.trim().trim_start_matches("warden: error: ");
        Err(match said {
            "" => format!("{} serve --background started no daemon", exe.display()),
            said => said.to_string(),
        })
    }
}

/// A file's device and inode.
fn identity(path: &Path) -> std::io::Result<(u64, u64)> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// Blocks until the pidfd's process has exited (its pidfd turns readable then).
fn wait_for_exit(pidfd: &OwnedFd) {
    let mut poll = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one pollfd we own, with no timeout; EINTR is retried.
    while unsafe { libc::poll(&mut poll, 1, -1) } < 0
        && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
    {}
}
