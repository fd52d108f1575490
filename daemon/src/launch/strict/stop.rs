//! What a wait on the traced tree brings, decoded once: a tracee in one kind of ptrace-stop,
//! or a tracee that ended.
//!
//! Each kind of stop is its own type, and the only ways out of a stop consume it, so a stop
//! is resumed exactly once and only as its kind allows: an exec stop is allowed or killed, a
//! signal-delivery stop delivers its own signal (explicitly: resuming with 0 would swallow
//! it), a group-stop listens (`PTRACE_LISTEN`: it stays stopped until a `SIGCONT`, as it
//! would untraced, while we keep hearing about it), any other stop simply continues.
//!
//! Every tracee is attached with `PTRACE_SEIZE` (its descendants inherit that), which is what
//! makes group-stops visible as such and `PTRACE_LISTEN` possible. An exec by a thread other
//! than the main one arrives under the thread-group id: the kernel gives the execing thread
//! the leader's id before it reports the stop, so `/proc/<pid>` shows the new program.

/// Options of every tracee: a stop at each exec, every new process or thread traced from
/// birth, and the whole tree killed if the supervisor dies (strict mode fails closed).
pub const OPTIONS: libc::c_int = libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_EXITKILL;

/// One change in the traced tree.
pub enum Wait {
    Stopped(Stop),
    /// A tracee (process or thread) ended: its exit code, or 128 + the signal that killed it.
    Ended {
        pid: libc::pid_t,
        status: u8,
    },
}

/// A tracee in a ptrace-stop.
pub enum Stop {
    /// After an exec: the new program is loaded and has not run one instruction.
    Exec(ExecStop),
    /// A signal is about to be delivered.
    Signal(SignalStop),
    /// The tracee's whole process stopped (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU).
    Group(GroupStop),
    /// A fork, vfork or clone event, or a new tracee's first stop.
    Event(EventStop),
}

/// The next change in the traced tree, waiting for one.
pub fn wait() -> std::io::Result<Wait> {
    loop {
        // Without WNOHANG, waitpid returns a change or an error, never nothing.
        if let Some(wait) = next(libc::__WALL)? {
            return Ok(wait);
        }
    }
}

/// A change in the traced tree that has already happened, if any.
pub fn poll() -> std::io::Result<Option<Wait>> {
    next(libc::__WALL | libc::WNOHANG)
}

/// Waits with `flags` for a change strict mode asked to hear about; `None` when polling
/// finds none.
fn next(flags: libc::c_int) -> std::io::Result<Option<Wait>> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer; __WALL reports threads and tracees that
        // are not our children alike.
        let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
        if pid > 0 {
            match decode(pid, status) {
                Some(wait) => return Ok(Some(wait)),
                None => continue,
            }
        }
        if pid == 0 {
            return Ok(None);
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// What a wait status says; `None` for what strict mode does not ask to hear about.
fn decode(pid: libc::pid_t, status: libc::c_int) -> Option<Wait> {
    if libc::WIFEXITED(status) {
        let status = libc::WEXITSTATUS(status) as u8;
        return Some(Wait::Ended { pid, status });
    }
    if libc::WIFSIGNALED(status) {
        let status = 128u8.wrapping_add(libc::WTERMSIG(status) as u8);
        return Some(Wait::Ended { pid, status });
    }
    if !libc::WIFSTOPPED(status) {
        return None;
    }
    let signal = libc::WSTOPSIG(status);
    let stop = match status >> 16 {
        libc::PTRACE_EVENT_EXEC => Stop::Exec(ExecStop { pid }),
        // A seized tracee reports a group-stop with its stop signal, and its first stop (or
        // an interrupt) with SIGTRAP.
        libc::PTRACE_EVENT_STOP if is_stop_signal(signal) => Stop::Group(GroupStop { pid }),
        0 => Stop::Signal(SignalStop { pid, signal }),
        _ => Stop::Event(EventStop { pid }),
    };
    Some(Wait::Stopped(stop))
}

fn is_stop_signal(signal: libc::c_int) -> bool {
    matches!(
        signal,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    )
}

/// Resumes `pid` from its ptrace-stop with `request` (`PTRACE_CONT` or `PTRACE_LISTEN`) and
/// `signal` (0 for none). A tracee killed meanwhile is gone; its end is reported by a wait.
fn resume(pid: libc::pid_t, request: libc::c_uint, signal: libc::c_int) {
    // SAFETY: `pid` is our tracee in a ptrace-stop (the caller consumes the stop that says
    // so); the address is unused and the data is a signal number.
    unsafe { libc::ptrace(request, pid, 0usize, signal as usize) };
}

/// A tracee stopped right after its exec.
pub struct ExecStop {
    pid: libc::pid_t,
}

impl ExecStop {
    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Lets the new program run.
    pub fn allow(self) {
        resume(self.pid, libc::PTRACE_CONT, 0);
    }

    /// Kills the process before its new program runs one instruction.
    pub fn kill(self) {
        // SAFETY: kill with the thread-group id of our tracee; SIGKILL ends it even in a
        // ptrace-stop, and nothing resumes it first.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }
}

pub struct SignalStop {
    pid: libc::pid_t,
    signal: libc::c_int,
}

impl SignalStop {
    /// Delivers the signal the tracee was about to get.
    pub fn deliver(self) {
        resume(self.pid, libc::PTRACE_CONT, self.signal);
    }
}

pub struct GroupStop {
    pid: libc::pid_t,
}

impl GroupStop {
    /// Leaves the tracee stopped until a `SIGCONT`, as it would be untraced.
    pub fn listen(self) {
        resume(self.pid, libc::PTRACE_LISTEN, 0);
    }
}

pub struct EventStop {
    pid: libc::pid_t,
}

impl EventStop {
    pub fn resume(self) {
        resume(self.pid, libc::PTRACE_CONT, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stop status as the kernel writes it: the signal in bits 8-15, the event above.
    fn stopped(signal: libc::c_int, event: libc::c_int) -> libc::c_int {
        0x7f | (signal << 8) | (event << 16)
    }

    fn kind(status: libc::c_int) -> &'static str {
        match decode(42, status) {
            Some(Wait::Stopped(Stop::Exec(stop))) if stop.pid == 42 => "exec",
            Some(Wait::Stopped(Stop::Signal(stop))) if stop.signal == libc::SIGINT => "signal",
            Some(Wait::Stopped(Stop::Signal(_))) => "other signal",
            Some(Wait::Stopped(Stop::Group(_))) => "group",
            Some(Wait::Stopped(Stop::Event(_))) => "event",
            Some(Wait::Ended { status: 3, .. }) => "exited 3",
            Some(Wait::Ended { status: 137, .. }) => "killed",
            _ => "other",
        }
    }

    #[test]
    fn each_status_is_decoded_into_its_stop() {
        let trap = libc::SIGTRAP;
        assert_eq!(kind(stopped(trap, libc::PTRACE_EVENT_EXEC)), "exec");
        assert_eq!(kind(stopped(trap, libc::PTRACE_EVENT_FORK)), "event");
        assert_eq!(kind(stopped(trap, libc::PTRACE_EVENT_CLONE)), "event");
        assert_eq!(kind(stopped(trap, libc::PTRACE_EVENT_STOP)), "event");
        for signal in [libc::SIGSTOP, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
            assert_eq!(kind(stopped(signal, libc::PTRACE_EVENT_STOP)), "group");
        }
        assert_eq!(kind(stopped(libc::SIGINT, 0)), "signal");
        // A SIGSTOP on its way (not yet a group-stop) is a signal to deliver like any other.
        assert_eq!(kind(stopped(libc::SIGSTOP, 0)), "other signal");
        assert_eq!(kind(3 << 8), "exited 3");
        assert_eq!(kind(libc::SIGKILL), "killed");
        assert_eq!(kind(0xffff), "other", "continued: never asked for");
    }
}
