//! Starting the agent (the file `warden preload` judged) traced from birth. The child is forked and waits on a pipe before it
//! does anything; the parent seizes it (`PTRACE_SEIZE` with [`stop::OPTIONS`]) and only then
//! closes the pipe, so the agent's own exec is the first stop and everything it starts is
//! traced from its first instruction. Between `fork` and `exec` the child makes system calls
//! only: everything it needs (paths, argv, environment, the seccomp filter) is prepared
//! before the fork.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::{bail, Context};

use super::seccomp::Filter;
use super::stop;

/// How the agent's start ended.
pub enum Started {
    /// Traced, stopped at its exec.
    Traced(libc::pid_t),
    /// It did not start; the error says why.
    Failed(std::io::Error),
}

/// Which step of the child failed, as it reports it through the pipe.
const STEP_FILTER: u8 = 1;
const STEP_EXEC: u8 = 2;

/// Starts `program` with `argv` and `environment` set and the signals in `unblock`
/// unblocked, traced from birth.
pub fn agent(
    program: &Path,
    argv: &[OsString],
    environment: &[(&str, OsString)],
    unblock: &libc::sigset_t,
) -> anyhow::Result<Started> {
    let program = c_string(program.as_os_str())?;
    let args = argv
        .iter()
        .map(|arg| c_string(arg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let env = agent_environment(environment)?;
    let (argv, envp) = (pointers(&args), pointers(&env));
    let filter =
        Filter::new().context("strict mode knows the system calls of x86_64 and aarch64 only")?;
    let (release_read, release_write) = pipe()?;
    let (report_read, report_write) = pipe()?;

    // SAFETY: fork; the child below makes async-signal-safe system calls only (sigprocmask,
    // close, read, prctl, seccomp, execve, write, _exit) on data prepared above.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        bail!("cannot fork: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: see above; every pointer refers to data that outlives the exec.
        unsafe {
            libc::sigprocmask(libc::SIG_UNBLOCK, unblock, std::ptr::null_mut());
            libc::close(release_write.as_raw_fd());
            let mut byte = 0u8;
            while libc::read(release_read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) < 0
                && *libc::__errno_location() == libc::EINTR
            {}
            if let Err(err) = filter.install() {
                report(&report_write, STEP_FILTER, err.raw_os_error().unwrap_or(0));
            }
            libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
            report(&report_write, STEP_EXEC, *libc::__errno_location());
        }
    }
    drop((release_read, report_write));
    if let Err(err) = seize(pid) {
        end(pid);
        return Err(err);
    }
    drop(release_write);
    match read_report(&report_read) {
        None => Ok(Started::Traced(pid)),
        Some((step, errno)) => {
            end(pid);
            let err = std::io::Error::from_raw_os_error(errno);
            if step == STEP_FILTER {
                bail!("cannot install the seccomp filter that keeps every clone traced: {err}");
            }
            Ok(Started::Failed(err))
        }
    }
}

/// Traces `pid`, a child of ours that runs nothing of the agent yet (waiting on a pipe),
/// with [`stop::OPTIONS`]: everything it starts is traced from birth.
pub fn seize(pid: libc::pid_t) -> anyhow::Result<()> {
    // SAFETY: `pid` is our child, waiting; the address is unused and the data is the option
    // set.
    let seized = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0usize, stop::OPTIONS as usize) };
    if seized != 0 {
        bail!(
            "cannot trace the agent's process (pid {pid}): {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// The child's report of a failed step; it exits right after.
///
/// # Safety
/// Async-signal-safe: write and _exit only.
unsafe fn report(pipe: &OwnedFd, step: u8, errno: i32) -> ! {
    let mut message = [0u8; 5];
    message[0] = step;
    message[1..].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: write from a local buffer; _exit never returns.
    unsafe {
        libc::write(pipe.as_raw_fd(), message.as_ptr().cast(), message.len());
        libc::_exit(127)
    }
}

/// What the child reported: nothing when its exec succeeded (the pipe closed on exec).
fn read_report(pipe: &OwnedFd) -> Option<(u8, i32)> {
    let mut message = [0u8; 5];
    let mut len = 0;
    while len < message.len() {
        // SAFETY: read into the rest of a local buffer.
        let n = unsafe {
            libc::read(
                pipe.as_raw_fd(),
                message[len..].as_mut_ptr().cast(),
                message.len() - len,
            )
        };
        match n {
            n if n > 0 => len += n as usize,
            n if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
            _ => break,
        }
    }
    let errno = i32::from_ne_bytes(message[1..].try_into().expect("four bytes"));
    (len == message.len()).then_some((message[0], errno))
}

/// Kills and reaps a child that will not become the agent.
fn end(pid: libc::pid_t) {
    // SAFETY: kill and waitpid on our own child, not reaped yet.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        while libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL) < 0
            && *libc::__errno_location() == libc::EINTR
        {}
    }
}

/// This process's environment with `environment` set over it, as `NAME=value` strings.
fn agent_environment(environment: &[(&str, OsString)]) -> anyhow::Result<Vec<CString>> {
    let set = |name: &OsStr| environment.iter().any(|(n, _)| OsStr::new(n) == name);
    let inherited = std::env::vars_os().filter(|(name, _)| !set(name));
    let given = environment
        .iter()
        .map(|(name, value)| (OsString::from(name), value.clone()));
    inherited
        .chain(given)
        .map(|(name, value)| {
            let mut entry = name;
            entry.push("=");
            entry.push(value);
            c_string(&entry)
        })
        .collect()
}

fn c_string(text: &OsStr) -> anyhow::Result<CString> {
    CString::new(text.as_bytes())
        .with_context(|| format!("{} contains a NUL byte", text.to_string_lossy()))
}

/// A NULL-terminated array of the strings' pointers (valid while `strings` lives).
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

fn pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!("cannot create a pipe: {}", std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and ours alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
