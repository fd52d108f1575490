//! What a tracee stopped at its exec is about to run, from the kernel's own record in `/proc`:
//! the program (`exe`), its arguments (`cmdline`, the kernel's copy: no other thread can
//! rewrite them between this read and the run), its working directory, and, as the caller,
//! its parent's command line (as the library's load check sends it).

use crate::procfs;
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

/// The preflight for the start of tracee `pid` in `session`.
pub fn exec_request(pid: i32, session: &str) -> Result<ExecRequest, Unreadable> {
    let proc_error = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::FileTooLarge => Unreadable::TooLarge,
        _ => Unreadable::Proc { pid, source },
    };
    let limit = BODY_LIMIT as u64;
    let argv = procfs::cmdline(pid, limit).map_err(proc_error)?;
    let path = procfs::exe(pid).map_err(proc_error)?;
    let cwd = procfs::cwd(pid).map_err(proc_error)?;
    let ppid = procfs::proc_stat(pid).map_or(0, |(ppid, _)| ppid);
    // The parent may have gone already: then no caller, as for the load check.
    let caller = match procfs::cmdline(ppid, limit) {
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => return Err(Unreadable::TooLarge),
        found => found.unwrap_or_default(),
    };
    Ok(ExecRequest {
        session: Some(session.to_string()),
        hook: HOOK.into(),
        path: Bytes(path),
        argv: argv.into_iter().map(Bytes).collect(),
        cwd: Bytes(cwd),
        pid,
        ppid,
        caller: caller.into_iter().map(Bytes).collect(),
        shell: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_describes_the_running_program_and_its_parent() {
        let own = std::process::id() as i32;
        let request = exec_request(own, "s1").unwrap();
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
            exec_request(i32::MAX, "s1"),
            Err(Unreadable::Proc { .. })
        ));
    }
}
