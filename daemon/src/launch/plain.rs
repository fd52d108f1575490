//! [`Supervision::Reap`](super::Supervision::Reap): `warden preload` becomes a child
//! subreaper (orphans stay in the session's tree, where the daemon recognises them), starts
//! the agent, forwards signals and reaps until the agent ends.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};

use super::{signals, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND};

/// Starts `program` with `argv` and `environment` set, forwards signals to it and reaps
/// until it ends; returns its status.
pub fn run(
    program: &Path,
    argv: &[OsString],
    environment: &[(&str, OsString)],
    forwarded: &libc::sigset_t,
) -> anyhow::Result<ExitCode> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        bail!(
            "cannot become a child subreaper: {}",
            std::io::Error::last_os_error()
        );
    }
    let mut child = Command::new(program);
    child
        .arg0(&argv[0])
        .args(&argv[1..])
        .envs(environment.iter().map(|(name, value)| (name, value)));
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
        Err(err) => return Ok(ExitCode::from(not_started(&argv[0], &err))),
    };
    let pid = child.id() as libc::pid_t;
    signals::forward_to(pid, *forwarded);
    Ok(ExitCode::from(reap_until(pid)?))
}

/// Says why the agent did not start; returns the shell's status for it.
pub fn not_started(program: &OsStr, err: &std::io::Error) -> u8 {
    eprintln!("warden: cannot run {}: {err}", program.to_string_lossy());
    match err.kind() {
        std::io::ErrorKind::NotFound => EXIT_NOT_FOUND,
        _ => EXIT_NOT_EXECUTABLE,
    }
}

/// Reaps every child (the agent and orphans re-parented to us) until the agent itself has
/// ended; returns its exit status, or 128+signal.
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
