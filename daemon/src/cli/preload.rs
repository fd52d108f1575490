//! `warden preload [--agent NAME] [--monitor] [--fail-closed] -- CMD ARGS…`: runs CMD (an
//! agent) with `libwarden.so` loaded, so every program it starts is asked about first.
//!
//! Order matters: the daemon is started (detached) before anything else, so it never runs
//! under the library nor inside the session; only then does this process register the
//! session, become a child subreaper (orphans stay in the session's tree, where the daemon
//! recognises them) and start CMD.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};

use crate::client::{self, Client};
use crate::paths;
use crate::wire::{self, FailMode, Mode};

/// Status when CMD cannot be found, as in shells.
const EXIT_NOT_FOUND: u8 = 127;
/// Status when CMD exists but cannot be executed.
const EXIT_NOT_EXECUTABLE: u8 = 126;

/// Signals that stop the agent: forwarded to CMD instead of ending warden first.
const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

#[derive(clap::Args)]
pub struct Args {
    /// Agent name recorded with the session (default: CMD's file name).
    #[arg(long, value_name = "NAME")]
    agent: Option<String>,
    /// Decide and log every program start, but block nothing and never wait for approval
    /// (default: the daemon's mode, enforce unless `warden serve --monitor`).
    #[arg(long)]
    monitor: bool,
    /// Deny every program start while the daemon cannot be reached (default: allow them).
    #[arg(long)]
    fail_closed: bool,
    /// The command to run, with its arguments. Every `-` word before `--` or before CMD is
    /// one of warden's flags (an unknown one is a usage error); everything from CMD on is
    /// CMD's.
    #[arg(value_name = "CMD", required = true, trailing_var_arg = true)]
    command: Vec<OsString>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let library = find_library()?;
    check_loadable(&library)?;
    client::ensure_daemon().context("cannot start the warden daemon")?;
    // Block the forwarded signals once the daemon is started (it must not inherit the mask)
    // and before the forwarding thread exists, so that only that thread receives them.
    let forwarded = signal_set(&FORWARDED);
    set_signal_mask(libc::SIG_BLOCK, &forwarded)?;

    let program = &args.command[0];
    let agent = args.agent.clone().unwrap_or_else(|| {
        Path::new(program)
            .file_name()
            .unwrap_or(program)
            .to_string_lossy()
            .into_owned()
    });
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let fail = if args.fail_closed {
        FailMode::Closed
    } else {
        FailMode::Open
    };
    let session = Client::from_env()
        .register_session(&wire::SessionRequest {
            agent,
            root_pid: std::process::id() as i32,
            cwd: wire::Bytes(cwd.as_os_str().as_bytes().to_vec()),
            // Without --monitor, the daemon's own mode (`warden serve --monitor`).
            mode: args.monitor.then_some(Mode::Monitor),
            fail,
        })
        .context("cannot register a session with the warden daemon")?;

    let status = supervise(&args.command, &library, &session.id, fail, &forwarded);
    if let Err(err) = Client::from_env().end_session(&session.id) {
        eprintln!("warden: could not end session {}: {err}", session.id);
    }
    status
}

/// Becomes a subreaper, starts CMD under the library, forwards signals and reaps until CMD
/// ends; returns CMD's status.
fn supervise(
    command: &[OsString],
    library: &Path,
    session: &str,
    fail: FailMode,
    forwarded: &libc::sigset_t,
) -> anyhow::Result<ExitCode> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        bail!(
            "cannot become a child subreaper: {}",
            std::io::Error::last_os_error()
        );
    }
    let mut child = Command::new(&command[0]);
    child
        .args(&command[1..])
        .env("LD_PRELOAD", preload_list(library))
        .env(paths::env::SOCKET, absolute(&paths::socket()))
        .env(paths::env::DOOR, absolute(&paths::door()))
        .env(paths::env::SESSION, session)
        .env(
            paths::env::FAIL,
            match fail {
                FailMode::Open => "open",
                FailMode::Closed => "closed",
            },
        );
    let unblock = *forwarded;
    // SAFETY: the closure only calls sigprocmask, which is async-signal-safe.
    unsafe {
        child.pre_exec(move || {
            if libc::sigprocmask(libc::SIG_UNBLOCK, &unblock, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = match child.spawn() {
        Ok(child) => child,
        Err(err) => {
            let name = command[0].to_string_lossy();
            eprintln!("warden: cannot run {name}: {err}");
            return Ok(ExitCode::from(match err.kind() {
                std::io::ErrorKind::NotFound => EXIT_NOT_FOUND,
                _ => EXIT_NOT_EXECUTABLE,
            }));
        }
    };
    let pid = child.id() as libc::pid_t;
    forward_signals(pid, *forwarded);
    Ok(ExitCode::from(reap_until(pid)?))
}

/// Reaps every child (CMD and orphans re-parented to us) until CMD itself has ended; returns
/// its exit status, or 128+signal.
fn reap_until(pid: libc::pid_t) -> anyhow::Result<u8> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer.
        let reaped = unsafe { libc::waitpid(-1, &mut status, 0) };
        if reaped < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err).context("cannot wait for the command");
        }
        if reaped != pid {
            continue;
        }
        if libc::WIFEXITED(status) {
            return Ok(libc::WEXITSTATUS(status) as u8);
        }
        if libc::WIFSIGNALED(status) {
            return Ok(128u8.wrapping_add(libc::WTERMSIG(status) as u8));
        }
    }
}

/// A thread that passes SIGINT/SIGTERM/SIGHUP/SIGQUIT on to CMD. Signals the terminal sent
/// to the whole foreground group already reached CMD and are not sent twice.
fn forward_signals(pid: libc::pid_t, set: libc::sigset_t) {
    std::thread::spawn(move || loop {
        // SAFETY: siginfo_t is plain data filled by sigwaitinfo.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid signal set; the signals are blocked in every thread.
        let sig = unsafe { libc::sigwaitinfo(&set, &mut info) };
        if sig < 0 || info.si_code == libc::SI_KERNEL {
            continue;
        }
        // SAFETY: kill with a pid we spawned; it is reaped only by the main thread.
        unsafe { libc::kill(pid, sig) };
    });
}

fn signal_set(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &sig in signals {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

fn set_signal_mask(how: libc::c_int, set: &libc::sigset_t) -> anyhow::Result<()> {
    // SAFETY: pthread_sigmask with a valid set and no old-set pointer.
    let rc = unsafe { libc::pthread_sigmask(how, set, std::ptr::null_mut()) };
    if rc != 0 {
        bail!(
            "cannot block signals: {}",
            std::io::Error::from_raw_os_error(rc)
        );
    }
    Ok(())
}

/// `LD_PRELOAD` for CMD: warden's library first, entries already present kept.
fn preload_list(library: &Path) -> OsString {
    let mut list = OsString::from(library);
    if let Some(existing) = std::env::var_os("LD_PRELOAD") {
        for entry in existing
            .as_bytes()
            .split(|&b| b == b':' || b == b' ')
            .filter(|e| !e.is_empty() && *e != library.as_os_str().as_bytes())
        {
            list.push(":");
            list.push(OsStr::from_bytes(entry));
        }
    }
    list
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `libwarden.so`, searched like `warden setup` does: `$WARDEN_LIB`, next to an installed
/// binary (`<prefix>/lib/warden/`), `~/.local/lib/warden/`, or beside the running binary.
fn find_library() -> anyhow::Result<PathBuf> {
    let explicit = std::env::var_os(paths::env::LIB).filter(|v| !v.is_empty());
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty());
    let exe = std::env::current_exe().ok();
    let search = warden_wrapper_installer::LibrarySearch {
        explicit: explicit.as_deref().map(Path::new),
        exe: exe.as_deref(),
        home: home.as_deref().map(Path::new),
    };
    Ok(warden_wrapper_installer::find_library(&search)?)
}

/// Loads the library once here, because the dynamic loader only warns (and runs CMD
/// unguarded) when a preload entry cannot be loaded.
fn check_loadable(library: &Path) -> anyhow::Result<()> {
    let c_path = CString::new(library.as_os_str().as_bytes())
        .with_context(|| format!("invalid library path {}", library.display()))?;
    // SAFETY: dlopen/dlsym/dlerror with valid C strings; the handle is closed below.
    unsafe {
        let handle = libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if handle.is_null() {
            let reason = std::ffi::CStr::from_ptr(libc::dlerror()).to_string_lossy();
            bail!("cannot load {}: {reason}", library.display());
        }
        // Through the handle, execve is the library's own when it hooks it, else libc's.
        let hooked = libc::dlsym(handle, c"execve".as_ptr());
        let hooks =
            !hooked.is_null() && hooked != libc::dlsym(libc::RTLD_DEFAULT, c"execve".as_ptr());
        libc::dlclose(handle);
        if !hooks {
            bail!(
                "{} is not warden's preload library (it has no execve hook)",
                library.display()
            );
        }
    }
    Ok(())
}
