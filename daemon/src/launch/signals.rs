//! The signals that stop an agent (SIGINT, SIGTERM, SIGHUP, SIGQUIT) go to the agent, not to
//! `warden preload`: they are blocked here and passed on by one thread.

use anyhow::bail;

/// Signals that stop the agent: forwarded to it instead of ending warden first.
const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Blocks the forwarded signals in this thread (and the threads it starts later); returns
/// the set, which the agent's process unblocks before its exec.
pub fn block_forwarded() -> anyhow::Result<libc::sigset_t> {
    block(set_of(&FORWARDED))
}

fn block(set: libc::sigset_t) -> anyhow::Result<libc::sigset_t> {
    // SAFETY: pthread_sigmask with a valid set and no old-set pointer.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        bail!(
            "cannot block signals: {}",
            std::io::Error::from_raw_os_error(rc)
        );
    }
    Ok(set)
}

/// A thread that passes the forwarded signals on to `pid`. Signals the terminal sent to the
/// whole foreground group already reached the agent and are not sent twice.
pub fn forward_to(pid: libc::pid_t, set: libc::sigset_t) {
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

/// Blocks the forwarded signals and SIGCHLD, for the session's init, which waits for all of
/// them with `sigwaitinfo`; returns the set.
pub fn block_with_children() -> anyhow::Result<libc::sigset_t> {
    let mut waited = FORWARDED.to_vec();
    waited.push(libc::SIGCHLD);
    block(set_of(&waited))
}

/// Unblocks every signal (in the agent's process, before its exec).
pub fn unblock_all() -> anyhow::Result<()> {
    // SAFETY: sigemptyset initialises the set before sigprocmask reads it.
    let rc = unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut())
    };
    if rc != 0 {
        bail!(
            "cannot unblock signals: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// The signals `warden preload` forwards, as a set.
pub fn forwarded() -> libc::sigset_t {
    set_of(&FORWARDED)
}

/// The set holding `signals`.
pub fn set_of(signals: &[libc::c_int]) -> libc::sigset_t {
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
