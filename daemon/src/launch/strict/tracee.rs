//! What a tracee stopped at its exec is about to run, from the kernel's own record in `/proc`:
//! the program (`exe`), its arguments (`cmdline`, the kernel's copy: no other thread can
//! rewrite them between this read and the run), its working directory, and, as the caller,
//! its parent's command line (as the library's load check sends it).
//!
//! The parents' command lines are remembered: a parent is usually a tracee whose own exec
//! was read moments before (a shell running one command after another), and reading a
//! `cmdline` costs about as much as the rest of the request together.

use std::collections::HashMap;

use crate::procfs;
use crate::server::process::parent_of;
use crate::server::BODY_LIMIT;
use crate::wire::{Bytes, ExecRequest};

/// The hook name of the supervisor's questions in the audit log.
pub const HOOK: &str = "strict";

/// Why a tracee's start cannot be asked about.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// Larger than any request the daemon evaluates: refused, never shortened.
    #[error("the request is too large to be checked")]
    TooLarge,
    #[error("cannot read what pid {pid} starts from /proc: {source}")]
    Proc { pid: i32, source: std::io::Error },
}

/// The command lines of the tree's processes as their last exec left them, by pid.
#[derive(Default)]
pub struct Tracees {
    cmdlines: HashMap<i32, Vec<Bytes>>,
}

impl Tracees {
    /// The arguments tracee `pid` runs with now; remembered as its command line, for when it
    /// starts programs of its own.
    pub fn argv(&mut self, pid: i32) -> Result<Vec<Bytes>, Unreadable> {
        let argv = cmdline(pid).map_err(|source| unreadable(pid, source))?;
        self.cmdlines.insert(pid, argv.clone());
        Ok(argv)
    }

    /// The preflight for the start of tracee `pid`, running `argv`, in `session`.
    pub fn exec_request(
        &self,
        pid: i32,
        argv: Vec<Bytes>,
        session: &str,
    ) -> Result<ExecRequest, Unreadable> {
        let path = procfs::exe(pid).map_err(|source| unreadable(pid, source))?;
        let cwd = procfs::cwd(pid).map_err(|source| unreadable(pid, source))?;
        let ppid = parent_of(pid).unwrap_or(0);
        let caller = match self.cmdlines.get(&ppid) {
            Some(caller) => caller.clone(),
            // The parent may have gone already: then no caller, as for the load check.
            None => match cmdline(ppid) {
                Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                    return Err(Unreadable::TooLarge)
                }
                found => found.unwrap_or_default(),
            },
        };
        Ok(ExecRequest {
            session: Some(session.to_string()),
            hook: HOOK.into(),
            path: Bytes(path),
            argv,
            cwd: Bytes(cwd),
            pid,
            ppid,
            caller,
            shell: None,
        })
    }

    /// Process `pid` ended: its pid may name another process next.
    pub fn forget(&mut self, pid: i32) {
        self.cmdlines.remove(&pid);
    }
}

fn unreadable(pid: i32, source: std::io::Error) -> Unreadable {
    match source.kind() {
        std::io::ErrorKind::FileTooLarge => Unreadable::TooLarge,
        _ => Unreadable::Proc { pid, source },
    }
}

fn cmdline(pid: i32) -> std::io::Result<Vec<Bytes>> {
    let args = procfs::cmdline(pid, BODY_LIMIT as u64)?;
    Ok(args.into_iter().map(Bytes).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_describes_the_running_program_and_its_parent() {
        let own = std::process::id() as i32;
        let mut tracees = Tracees::default();
        let argv = tracees.argv(own).unwrap();
        let request = tracees.exec_request(own, argv, "s1").unwrap();
        let exe = std::env::current_exe().unwrap();
        assert_eq!(request.path.as_slice(), exe.as_os_str().as_encoded_bytes());
        let args: Vec<Bytes> = std::env::args().map(|a| Bytes::from(a.as_str())).collect();
        assert_eq!(request.argv, args);
        assert_eq!(request.ppid as u32, std::os::unix::process::parent_id());
        assert!(!request.caller.is_empty());
        assert_eq!(
            (request.hook.as_str(), request.session.as_deref()),
            (HOOK, Some("s1"))
        );
        assert!(matches!(
            tracees.argv(i32::MAX),
            Err(Unreadable::Proc { .. })
        ));
        assert!(matches!(
            tracees.exec_request(i32::MAX, vec![], "s1"),
            Err(Unreadable::Proc { .. })
        ));
    }

    #[test]
    fn a_parent_seen_at_its_exec_is_the_caller_of_its_children() {
        let own = std::process::id() as i32;
        let parent = std::os::unix::process::parent_id() as i32;
        let mut tracees = Tracees::default();
        tracees
            .cmdlines
            .insert(parent, vec![Bytes::from("remembered")]);
        let argv = tracees.argv(own).unwrap();
        assert_eq!(tracees.cmdlines.get(&own), Some(&argv));
        let request = tracees.exec_request(own, argv.clone(), "s1").unwrap();
        assert_eq!(request.caller, [Bytes::from("remembered")]);
        tracees.forget(parent);
        let request = tracees.exec_request(own, argv, "s1").unwrap();
        assert_ne!(request.caller, [Bytes::from("remembered")]);
    }
}
