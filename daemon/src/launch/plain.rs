//! The agent started beside the user's other processes ([`Isolation::Shared`]), and the
//! waiting both isolations share ([`Supervision::Reap`]).
//!
//! Shared: `warden preload` becomes a child subreaper (orphans stay in the session's tree,
//! where the daemon recognises them) and spawns the agent. When the agent ends, what it left
//! running is reported, not ended: without a pid namespace of its own, warden cannot tell the
//! agent's leftovers from a process that was meant to outlive the session (a daemon it
//! started on purpose), and they stay guarded by the library anyway.
//!
//! [`Isolation::Shared`]: super::Isolation::Shared
//! [`Supervision::Reap`]: super::Supervision::Reap

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use super::{Launched, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND};
use crate::procfs;

/// Starts `program` with `argv` and `environment` set, as a child of this process, made a
/// subreaper.
pub fn start(
    program: &Path,
    argv: &[OsString],
    environment: &[(&str, OsString)],
    forwarded: &libc::sigset_t,
) -> anyhow::Result<Launched> {
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
    Ok(match child.spawn() {
        Ok(child) => Launched::Running(child.id() as libc::pid_t),
        Err(err) => Launched::NotStarted(not_started(&argv[0], &err)),
    })
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
pub fn reap_until(pid: libc::pid_t) -> anyhow::Result<u8> {
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

/// One line naming what the agent left running (orphans re-parented to us, each the top of
/// what it started), or nothing.
pub fn report_leftovers() {
    let leftovers = procfs::children_of(std::process::id() as i32);
    if leftovers.is_empty() {
        return;
    }
    let named: Vec<String> = leftovers
        .iter()
        .map(|&pid| match procfs::command_name(pid) {
            Some(name) => format!("{pid} ({name})"),
            None => pid.to_string(),
        })
        .collect();
    eprintln!(
        "warden: the agent left {} process{} running, not ended without session isolation: {}",
        leftovers.len(),
        if leftovers.len() == 1 { "" } else { "es" },
        named.join(", ")
    );
}
