//! Creating the session's namespaces. `warden preload` has threads (the signal forwarder,
//! the client's), and a user namespace can only be entered by a single-threaded process, so
//! the namespaces are created by `clone(2)` for a new child: a new user, pid and mount
//! namespace at once. The parent writes the child's uid and gid maps, then lets it exec
//! `warden` again as the session's init (see `launch/init.rs`), which reads its setup from
//! the same pipe once the parent has registered the session.

use std::ffi::{CString, OsStr};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::caps;
use super::plan::IdMaps;

#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("cannot create the session's namespaces: {}", clone_cause(.0))]
    Clone(io::Error),
    #[error("cannot create a pipe for the session's init: {0}")]
    Pipe(io::Error),
    #[error("{step} (the session's init, before it ran): {error}")]
    Child {
        step: &'static str,
        error: io::Error,
    },
    #[error("cannot write {}: {error}", path.display())]
    Map { path: PathBuf, error: io::Error },
    #[error("cannot create the agent's nested user and mount namespaces: {0}")]
    Nested(io::Error),
}

/// ENOSPC is clone's one confusing answer: no space is involved, a limit is reached.
fn clone_cause(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ENOSPC) => "the limit on user namespaces (user.max_user_namespaces) or on \
                               nested pid namespaces is reached"
            .into(),
        _ => err.to_string(),
    }
}

/// What the child does between clone and exec, in order; a failure reports its step.
#[derive(Clone, Copy)]
#[repr(i32)]
enum ChildStep {
    Signals = 1,
    DeathSignal = 2,
    KeepAdmin = 3,
    SetupFd = 4,
    Wait = 5,
    Exec = 6,
}

impl ChildStep {
    fn from_code(code: i32) -> Option<ChildStep> {
        [
            Self::Signals,
            Self::DeathSignal,
            Self::KeepAdmin,
            Self::SetupFd,
            Self::Wait,
            Self::Exec,
        ]
        .into_iter()
        .find(|step| *step as i32 == code)
    }

    fn describe(self) -> &'static str {
        match self {
            ChildStep::Signals => "cannot block the forwarded signals",
            ChildStep::DeathSignal => "cannot ask to end with warden preload",
            ChildStep::KeepAdmin => "cannot keep CAP_SYS_ADMIN through the exec",
            ChildStep::SetupFd => "cannot hand over the setup pipe",
            ChildStep::Wait => "warden preload ended before the session started",
            ChildStep::Exec => "cannot run /proc/self/exe",
        }
    }
}

/// Everything the child needs for its exec, allocated before the clone: the child of a
/// multi-threaded process must not allocate.
struct InitExec {
    argv: Vec<CString>,
    envp: Vec<CString>,
}

/// The session's init, cloned in new user, pid and mount namespaces, waiting to exec.
pub struct Cloned {
    pub pid: i32,
    report: OwnedFd,
}

/// Clones the session's init in new user, pid and mount namespaces. The child waits for one
/// byte on `setup` (the read end of a pipe) before it execs, so that its uid and gid maps
/// are written first (an exec before them would lose the capabilities the init needs); it
/// is killed if this thread ends first.
pub fn clone_init(setup: &OwnedFd, argument: &str) -> Result<Cloned, UsernsError> {
    let exec = InitExec::new(argument, setup.as_raw_fd());
    let argv = pointers(&exec.argv);
    let envp = pointers(&exec.envp);
    let forwarded = super::super::signals::forwarded();
    let (report_read, report_write) = pipe().map_err(UsernsError::Pipe)?;
    let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::SIGCHLD;
    // SAFETY: clone without CLONE_VM or a new stack works like fork: the child runs on a copy
    // of this thread's stack and memory. Between clone and exec the child calls only
    // async-signal-safe functions: sigprocmask, prctl, capget, capset (in
    // `caps::keep_admin_across_exec`), fcntl, read, execve, write and _exit; `argv`, `envp`
    // and `forwarded` were made above and stay valid.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags as libc::c_ulong, 0, 0, 0, 0) };
    if pid == 0 {
        in_child(
            setup.as_raw_fd(),
            report_write.as_raw_fd(),
            &forwarded,
            &argv,
            &envp,
        );
    }
    if pid < 0 {
        return Err(UsernsError::Clone(io::Error::last_os_error()));
    }
    Ok(Cloned {
        pid: pid as i32,
        report: report_read,
    })
}

impl Cloned {
    /// Lets the child exec (one byte on the setup pipe) and waits until it did.
    pub fn exec(self, setup: &OwnedFd) -> Result<(), UsernsError> {
        let go = std::fs::File::from(setup.try_clone().map_err(UsernsError::Pipe)?);
        if let Err(error) = (&go).write_all(b"g") {
            return Err(UsernsError::Child {
                step: ChildStep::Wait.describe(),
                error,
            });
        }
        match read_report(self.report) {
            None => Ok(()),
            Some((step, error)) => Err(UsernsError::Child {
                step: step.describe(),
                error,
            }),
        }
    }
}

/// The clone child: blocks the signals the init waits for (a terminal's Ctrl-C would
/// otherwise end the namespace's pid 1), asks to be killed when its parent thread ends, keeps
/// the one capability the init needs, hands the setup pipe over, waits to go and execs. Only
/// async-signal-safe calls.
fn in_child(
    setup: RawFd,
    report: RawFd,
    forwarded: &libc::sigset_t,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> ! {
    let fail = |step: ChildStep| -> ! {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        let record = [step as i32, errno];
        // SAFETY: write and _exit are async-signal-safe; the record lives on our stack.
        unsafe {
            libc::write(
                report,
                record.as_ptr().cast(),
                std::mem::size_of_val(&record),
            );
            libc::_exit(127)
        }
    };
    // SAFETY: sigprocmask with a set made before the clone.
    if unsafe { libc::sigprocmask(libc::SIG_BLOCK, forwarded, std::ptr::null_mut()) } != 0 {
        fail(ChildStep::Signals);
    }
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
        fail(ChildStep::DeathSignal);
    }
    if caps::keep_admin_across_exec().is_err() {
        fail(ChildStep::KeepAdmin);
    }
    // SAFETY: fcntl on a descriptor inherited from the parent; clears close-on-exec.
    if unsafe { libc::fcntl(setup, libc::F_SETFD, 0) } != 0 {
        fail(ChildStep::SetupFd);
    }
    let mut go = 0u8;
    // SAFETY: read of one byte into a local; 0 means the parent closed the pipe (it ended).
    if unsafe { libc::read(setup, (&mut go as *mut u8).cast(), 1) } != 1 {
        fail(ChildStep::Wait);
    }
    // SAFETY: both arrays end with a null pointer and point into CStrings that outlive us.
    unsafe { libc::execve(c"/proc/self/exe".as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    fail(ChildStep::Exec)
}

/// `None` when the child exec'd (the close-on-exec pipe closed without a word), else the
/// step that failed and why.
fn read_report(report: OwnedFd) -> Option<(ChildStep, io::Error)> {
    let mut record = [0u8; 8];
    let mut file = std::fs::File::from(report);
    let mut filled = 0;
    while filled < record.len() {
        match file.read(&mut record[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if filled < record.len() {
        return None;
    }
    let step = i32::from_ne_bytes(record[..4].try_into().unwrap());
    let errno = i32::from_ne_bytes(record[4..].try_into().unwrap());
    Some((
        ChildStep::from_code(step)?,
        io::Error::from_raw_os_error(errno),
    ))
}

/// Writes the uid and gid maps of the process `pid`, which is in a user namespace this
/// process created (`/proc/<pid>/…`).
pub fn write_maps(pid: i32, maps: &IdMaps) -> Result<(), UsernsError> {
    write_id_maps(&format!("/proc/{pid}"), maps)
}

/// Moves the calling (single-threaded) process into a new user namespace and a new mount
/// namespace owned by it, mapping the user to itself there too. The mounts it inherits are
/// now locked: they came from a more privileged user namespace.
pub fn enter_nested(maps: &IdMaps) -> Result<(), UsernsError> {
    // SAFETY: unshare with flags only.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) } != 0 {
        return Err(UsernsError::Nested(io::Error::last_os_error()));
    }
    write_id_maps("/proc/self", maps)
}

fn write_id_maps(process: &str, maps: &IdMaps) -> Result<(), UsernsError> {
    for (file, content) in [
        ("setgroups", maps.setgroups),
        ("uid_map", maps.uid_map.as_str()),
        ("gid_map", maps.gid_map.as_str()),
    ] {
        let path = PathBuf::from(format!("{process}/{file}"));
        std::fs::write(&path, content).map_err(|error| UsernsError::Map { path, error })?;
    }
    Ok(())
}

/// Kills and reaps a child that will not be used.
pub fn reap(pid: i32) {
    // SAFETY: kill and waitpid on our own child, not yet reaped.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

impl InitExec {
    /// `warden <argument> <fd>` with this process's environment minus `LD_PRELOAD`: the init
    /// must not load the library (the agent gets it back in its own environment).
    fn new(argument: &str, setup: RawFd) -> InitExec {
        // Neither arguments nor environment entries can hold a NUL byte (the kernel passes
        // them NUL-terminated), so nothing is dropped here.
        let c = |bytes: &[u8]| CString::new(bytes).ok();
        let argv = [
            b"warden".as_slice(),
            argument.as_bytes(),
            setup.to_string().as_bytes(),
        ]
        .into_iter()
        .filter_map(c)
        .collect();
        let envp = std::env::vars_os()
            .filter(|(name, _)| name != OsStr::new("LD_PRELOAD"))
            .filter_map(|(name, value)| {
                let mut entry = name.as_bytes().to_vec();
                entry.push(b'=');
                entry.extend_from_slice(value.as_bytes());
                c(&entry)
            })
            .collect();
        InitExec { argv, envp }
    }
}

/// A null-terminated array of pointers into `strings`.
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors nobody else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A pipe whose two ends are close-on-exec: the setup channel from `warden preload` to the
/// session's init.
pub fn setup_pipe() -> Result<(OwnedFd, OwnedFd), UsernsError> {
    pipe().map_err(UsernsError::Pipe)
}
