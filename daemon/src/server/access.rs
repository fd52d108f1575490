//! Who may call what. Agent-side endpoints are open to every peer of our own uid; operator
//! endpoints are refused on door connections and to any process inside a guarded session,
//! so an agent can never approve its own request or switch warden off.
//!
//! "Inside a session" is asked three ways, strongest first: the peer's pid namespace is an
//! isolated session's or below one (no process leaves its pid namespace); the peer is in a
//! session root's process tree; the peer or an ancestor started with `WARDEN_SESSION` (an
//! agent without namespaces that killed its `warden preload` and was re-parented away).

use std::os::fd::AsRawFd;

use super::sessions::Sessions;
use crate::procfs::{self, ancestry, ANCESTRY_LIMIT};

/// How a connection reached the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Accepted on the stream socket.
    Socket,
    /// Handed over through the datagram door: agent side by construction.
    Door,
}

/// The process at the other end of a connection, from `SO_PEERCRED`.
#[derive(Clone, Debug)]
pub struct Peer {
    pub channel: Channel,
    pub pid: Option<i32>,
    pub uid: Option<u32>,
}

impl Peer {
    /// The process at the other end of `stream` (`SO_PEERCRED`); unknown when the kernel
    /// does not say.
    pub fn of(stream: &impl AsRawFd, channel: Channel) -> Peer {
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into a local ucred we own.
        let known = unsafe {
            libc::getsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        } == 0
            && len as usize == std::mem::size_of::<libc::ucred>();
        Peer {
            channel,
            pid: (known && cred.pid > 0).then_some(cred.pid),
            uid: known.then_some(cred.uid),
        }
    }

    /// Every endpoint requires the daemon's own uid (the socket is 0600 anyway; this also
    /// covers door connections, whose socketpair carries its creator's credentials).
    pub fn check_same_user(&self) -> Result<(), String> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let own = unsafe { libc::geteuid() };
        match self.uid {
            Some(uid) if uid == own => Ok(()),
            Some(uid) => Err(format!(
                "refused: the caller runs as uid {uid}, the daemon as uid {own}"
            )),
            None => Err("refused: the caller's credentials are unknown".to_string()),
        }
    }

    /// Operator endpoints: only from the stream socket and from outside every session.
    pub fn check_operator(&self, sessions: &Sessions) -> Result<(), String> {
        if self.channel == Channel::Door {
            return Err("refused: operator endpoints are not served through the door".into());
        }
        let Some(pid) = self.pid else {
            return Err("refused: the caller's process id is unknown".into());
        };
        // Fails closed: a caller whose pid namespace cannot be read may be inside one.
        if procfs::pid_namespace(pid).is_none() {
            return Err(format!(
                "refused: cannot read the pid namespace of the caller (pid {pid}); run this \
                 command from a terminal outside the agent"
            ));
        }
        if let Some((id, how)) = sessions.session_containing(pid) {
            return Err(format!(
                "refused: the caller (pid {pid}) runs inside guarded session {id} ({how}); \
                 run this command from a terminal outside the agent"
            ));
        }
        // An agent that killed its `warden preload` root is re-parented outside every
        // registered tree, but the library gave each of its processes the session variable.
        if started_in_a_session(pid) {
            return Err(format!(
                "refused: the caller (pid {pid}) was started by a guarded agent \
                 ({SESSION_VARIABLE} is in its environment); run this command from a \
                 terminal outside the agent"
            ));
        }
        Ok(())
    }
}

const SESSION_VARIABLE: &str = crate::paths::env::SESSION;

/// Largest environment block read from `/proc/<pid>/environ`; a larger one counts as guarded.
const ENVIRON_LIMIT: u64 = 32 << 20;

/// Whether `pid` or one of its ancestors started with `WARDEN_SESSION` in its environment.
/// Fails closed: a caller whose own environment cannot be read counts as guarded. Ancestors
/// that cannot be read (another user's, such as init) are skipped: they are not the agent's.
fn started_in_a_session(pid: i32) -> bool {
    if environ_has_session(pid) != Some(false) {
        return true;
    }
    let mut ancestors = 0;
    for (ancestor, _) in ancestry(pid).skip(1) {
        if environ_has_session(ancestor) == Some(true) {
            return true;
        }
        ancestors += 1;
    }
    // A chain as long as the walk's bound was cut short, not ended: count it as guarded.
    ancestors + 1 >= ANCESTRY_LIMIT
}

/// `Some(true)` when the process's initial environment defines the session variable; `None`
/// when it cannot be read or is implausibly large.
fn environ_has_session(pid: i32) -> Option<bool> {
    let block = procfs::environ(pid, ENVIRON_LIMIT)?;
    Some(defines_variable(&block, SESSION_VARIABLE.as_bytes()))
}

/// Whether a NUL-separated environment block defines `name` (with any value).
fn defines_variable(block: &[u8], name: &[u8]) -> bool {
    block.split(|&b| b == 0).any(|entry| {
        entry
            .strip_prefix(name)
            .is_some_and(|rest| rest.first() == Some(&b'='))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_variable_is_found_only_as_a_whole_name() {
        let name = SESSION_VARIABLE.as_bytes();
        assert!(defines_variable(b"A=1\0WARDEN_SESSION=ab12\0", name));
        assert!(defines_variable(b"WARDEN_SESSION=\0", name));
        assert!(!defines_variable(
            b"WARDEN_SESSIONS=1\0XWARDEN_SESSION=1\0",
            name
        ));
        assert!(!defines_variable(b"", name));
    }

    #[test]
    fn this_test_process_is_not_in_a_session() {
        // The test runner is started by cargo, outside any guarded session.
        if std::env::var_os(SESSION_VARIABLE).is_none() {
            assert!(!started_in_a_session(std::process::id() as i32));
        }
    }
}
