//! Which process a preflight is about, resolved once where the request arrives.
//!
//! The library asks about its own process: a hook before that process starts a program, the
//! load check about the program the process already is. Its subject is the peer, whatever
//! the request claims. `warden preload --strict` asks, as its session's root, about a tracee
//! stopped at its exec: its subject is the tracee the request names, once the daemon has
//! found that tracee in the root's own session (the same shape as the root's exception for
//! ending its session in `routes::operator_allowed`). Everything downstream (session, mode,
//! grants, approvals, the audit record) follows from the subject, never from the hook name.

use super::access::{Channel, Peer};
use super::sessions::SessionView;
use super::Daemon;
use crate::wire::{ExecRequest, Supervision};

/// The process a preflight judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The library, in the process at the other end of the connection.
    Caller { pid: Option<i32>, asks: Asks },
    /// A tracee of its session's strict supervisor, stopped where its new program has not run
    /// one instruction yet.
    Tracee { pid: i32 },
}

/// What the library asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asks {
    /// A hook of the exec family: the program will run in the calling process itself.
    InPlace,
    /// A hook of the spawn family, `system`, `popen`: the program will run in a child.
    InChild,
    /// The load check: the program the calling process already is.
    Started,
}

impl Asks {
    /// From the hook that asks (`wire::ExecRequest::hook`): the library's own names for its
    /// entry points, `load` for its load check, and `preload` for `warden preload` asking
    /// about the agent command, which runs in its child.
    fn of(hook: &str) -> Asks {
        match hook {
            "load" => Asks::Started,
            "posix_spawn" | "posix_spawnp" | "pidfd_spawn" | "pidfd_spawnp" | "system"
            | "popen" | "preload" => Asks::InChild,
            _ => Asks::InPlace,
        }
    }
}

impl Subject {
    /// The subject of `request` sent by `peer`, whose session (found where its connection
    /// arrived) is `session`, and the subject's session; `Err` with the reason to refuse it
    /// when a session root names a process outside its session.
    pub fn resolve(
        daemon: &Daemon,
        peer: &Peer,
        session: Option<(String, SessionView)>,
        request: &ExecRequest,
    ) -> Result<(Subject, Option<(String, SessionView)>), String> {
        let caller = Subject::Caller {
            pid: peer.pid,
            asks: Asks::of(&request.hook),
        };
        // A library inside a pid namespace reports its own view of its pid, so a different
        // pid alone means nothing; only a session root speaks for another process.
        let Some(root) = peer.pid.filter(|&pid| pid != request.pid) else {
            return Ok((caller, session));
        };
        if peer.channel != Channel::Socket {
            return Ok((caller, session));
        }
        let Some((root_session, view)) = daemon.sessions.rooted_at(root) else {
            return Ok((caller, session));
        };
        if view.supervision != Supervision::Trace {
            return Err(format!(
                "refused: the root (pid {root}) of session {root_session} does not trace it, \
                 so it cannot ask about pid {}",
                request.pid
            ));
        }
        match daemon.sessions.for_process(Some(request.pid)) {
            Some((found, view)) if found == root_session => {
                Ok((Subject::Tracee { pid: request.pid }, Some((found, view))))
            }
            _ => Err(format!(
                "refused: pid {} is not in session {root_session}, which its root (pid {root}) \
                 supervises",
                request.pid
            )),
        }
    }

    /// The judged process's pid, as the daemon sees it.
    pub fn pid(&self) -> Option<i32> {
        match *self {
            Subject::Caller { pid, .. } => pid,
            Subject::Tracee { pid } => Some(pid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spawn_family_starts_programs_in_a_child() {
        for hook in [
            "posix_spawn",
            "posix_spawnp",
            "pidfd_spawnp",
            "system",
            "popen",
        ] {
            assert_eq!(Asks::of(hook), Asks::InChild, "{hook}");
        }
        for hook in ["execve", "execvp", "execl", "fexecve", "execveat"] {
            assert_eq!(Asks::of(hook), Asks::InPlace, "{hook}");
        }
        assert_eq!(Asks::of("load"), Asks::Started);
    }
}
