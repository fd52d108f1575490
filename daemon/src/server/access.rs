//! Who may call what. Agent-side endpoints are open to every peer of our own uid; operator
//! endpoints are refused on door connections and to any process inside a guarded session,
//! so an agent can never approve its own request or switch warden off.

use super::sessions::Sessions;

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
        match sessions.session_containing(pid) {
            Some(id) => Err(format!(
                "refused: the caller (pid {pid}) runs inside guarded session {id}; \
                 run this command from a terminal outside the agent"
            )),
            None => Ok(()),
        }
    }
}

/// A process's parent and start time (clock ticks since boot), from `/proc/<pid>/stat`.
/// The start time tells a live process apart from a later one that reuses its pid.
pub fn proc_stat(pid: i32) -> Option<(i32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): ppid is field 4, starttime field 22.
    let ppid = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((ppid, start))
}

/// Whether `ancestor` is `pid` itself or one of its ancestors.
pub fn is_self_or_ancestor(ancestor: i32, pid: i32) -> bool {
    let mut current = pid;
    // A bound on the walk keeps a corrupt or racing /proc from looping forever.
    for _ in 0..4096 {
        if current == ancestor {
            return true;
        }
        match proc_stat(current) {
            Some((ppid, _)) if ppid > 0 && ppid != current => current = ppid,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_stat_names_the_parent() {
        let (ppid, _) = proc_stat(std::process::id() as i32).unwrap();
        assert_eq!(ppid as u32, std::os::unix::process::parent_id());
    }

    #[test]
    fn our_parent_is_our_ancestor_and_not_the_reverse() {
        let own = std::process::id() as i32;
        let parent = std::os::unix::process::parent_id() as i32;
        assert!(is_self_or_ancestor(own, own));
        assert!(is_self_or_ancestor(parent, own));
        assert!(!is_self_or_ancestor(own, parent));
    }

    #[test]
    fn missing_process_has_no_stat() {
        assert_eq!(proc_stat(i32::MAX), None);
    }
}
