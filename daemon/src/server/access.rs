//! Who may call what. Agent-side endpoints are open to every peer of our own uid; operator
//! endpoints are refused on door connections and to any process inside a guarded session,
//! so an agent can never approve its own request or switch warden off.

use std::os::fd::AsRawFd;

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
        if let Some(id) = sessions.session_containing(pid) {
            return Err(format!(
                "refused: the caller (pid {pid}) runs inside guarded session {id}; \
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
    use std::io::Read;
    let file = std::fs::File::open(format!("/proc/{pid}/environ")).ok()?;
    let mut block = Vec::new();
    file.take(ENVIRON_LIMIT + 1).read_to_end(&mut block).ok()?;
    if block.len() as u64 > ENVIRON_LIMIT {
        return None;
    }
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

/// A process's parent and start time (clock ticks since boot), from `/proc/<pid>/stat`.
/// The start time tells a live process apart from a later one that reuses its pid.
pub fn proc_stat(pid: i32) -> Option<(i32, u64)> {
    use std::io::Read;
    // One open and one read (this runs for every preflight; `read_to_string` would stat the
    // file and read it in growing chunks). A line that fills the buffer is refused, not cut.
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let mut storage = [0u8; STAT_MAX];
    let len = file.read(&mut storage).ok()?;
    if len == storage.len() {
        return None;
    }
    parse_stat(std::str::from_utf8(&storage[..len]).ok()?)
}

/// Room for one `/proc/<pid>/stat` line (52 numeric fields of at most 20 digits, plus the
/// name).
const STAT_MAX: usize = 1536;

/// Parent and start time from the text of `/proc/<pid>/stat`.
fn parse_stat(stat: &str) -> Option<(i32, u64)> {
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest starts at field 3 (state): ppid is field 4, starttime field 22.
    let mut fields = rest.split_ascii_whitespace();
    let ppid = fields.nth(1)?.parse().ok()?;
    let start = fields.nth(17)?.parse().ok()?;
    Some((ppid, start))
}

/// Whether `ancestor` is `pid` itself or one of its ancestors.
pub fn is_self_or_ancestor(ancestor: i32, pid: i32) -> bool {
    ancestry(pid).any(|(current, _)| current == ancestor)
}

/// `pid` and then each of its ancestors, with their start times, as long as /proc tells.
pub fn ancestry(pid: i32) -> impl Iterator<Item = (i32, u64)> {
    let mut next = Some(pid);
    let walk = std::iter::from_fn(move || {
        let current = next.take()?;
        let (ppid, start) = proc_stat(current)?;
        next = (ppid > 0 && ppid != current).then_some(ppid);
        Some((current, start))
    });
    walk.take(ANCESTRY_LIMIT)
}

/// Most processes an ancestry walk visits, so a corrupt or racing /proc cannot loop forever.
const ANCESTRY_LIMIT: usize = 4096;

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
    fn ancestry_starts_with_the_process_and_its_start_time() {
        let own = std::process::id() as i32;
        let chain: Vec<(i32, u64)> = ancestry(own).collect();
        assert_eq!(chain[0], (own, proc_stat(own).unwrap().1));
        assert_eq!(chain[1].0 as u32, std::os::unix::process::parent_id());
        assert_eq!(ancestry(i32::MAX).count(), 0);
    }

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

    #[test]
    fn stat_is_parsed_after_the_last_parenthesis() {
        let line = "42 (a) b) (c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3\n";
        assert_eq!(parse_stat(line), Some((7, 987654)));
        assert_eq!(parse_stat("42 (x) S 7"), None);
    }

    #[test]
    fn missing_process_has_no_stat() {
        assert_eq!(proc_stat(i32::MAX), None);
    }
}
