//! The exported entry points. Each one finds the program that would start, asks the daemon
//! (only when that program exists and is executable), then either calls the real function with
//! warden's restored environment or fails in the function's own convention:
//! exec family `-1` + `errno = EPERM`; `posix_spawn*`/`pidfd_spawn*` return `EPERM`;
//! `popen` returns NULL + `errno = EPERM`; `system` returns `127 << 8`.
//!
//! `execl`, `execlp` and `execle` are variadic; the C shim (`shim.c`) collects their
//! arguments and calls `execv`, `execvp` and `execve` here.

use core::ffi::{c_char, c_int};
use core::ptr;

use libc::{pid_t, posix_spawn_file_actions_t, posix_spawnattr_t, FILE};

use crate::buf;
use crate::checked::Start;
use crate::environ::SNAPSHOT;
use crate::preflight::{self, Starter, Verdict};
use crate::request::Exec;
use crate::resolve::{self, PathStorage, Program, TooLong};
use crate::shell;
use crate::sys::{self, bytes, current_environ, set_errno};
use crate::syscall;
use crate::{ensure_initialised, memo, real};

type Argv = *const *const c_char;

/// Stack room for the working directory and the program's path, enough for the usual
/// lengths: every stack page a hook touches is a page fault in a fork child. Longer paths
/// are looked up again in a mapping.
const PATHS_STACK: usize = 512;

/// Where the program comes from, for resolving its absolute path.
#[derive(Clone, Copy)]
enum Target {
    /// A path, searched in the caller's `PATH` when `search` is set and it has no slash.
    File { file: *const c_char, search: bool },
    /// `execveat(dirfd, pathname, …, flags)`.
    At {
        dirfd: c_int,
        pathname: *const c_char,
        flags: c_int,
    },
    /// An open descriptor (`fexecve`).
    Fd(c_int),
}

/// Asks about the program and runs `run` with the restored environment when allowed.
/// `Err(errno)` when refused (or when memory for the environment ran out).
///
/// # Safety
/// The pointers come from the hooked call and follow its contract.
unsafe fn guard(
    hook: &str,
    start: Start,
    target: Target,
    argv: Argv,
    envp: Argv,
    run: &mut dyn FnMut(Argv) -> c_int,
) -> Result<c_int, c_int> {
    ensure_initialised();
    let mut stack = buf::uninit::<PATHS_STACK>();
    let mut mapping = None;
    let (cwd, program) = resolve::in_storage(&mut stack, &mut mapping, |storage| {
        let (cwd, rest) = resolve::cwd(storage)?;
        let program = match target {
            Target::File { file, search } => {
                let path_var = search.then(|| sys::lookup(current_environ(), b"PATH"));
                resolve::program(bytes(file), path_var, cwd, rest)
            }
            Target::At {
                dirfd,
                pathname,
                flags,
            } => at_program(dirfd, bytes(pathname), flags, cwd, rest),
            Target::Fd(fd) => resolve::fd_program(fd, rest),
        };
        Ok((cwd, program?))
    })?;
    let Some(program) = program else {
        // Nothing executable there: the real call fails by itself, no question needed.
        return Ok(run(envp));
    };
    let key = memo::Key::of(program.file, argv);
    if memo::recently_denied(key) {
        return Err(libc::EPERM);
    }
    let exec = Exec {
        hook,
        path: program.path,
        argv,
        shell: None,
    };
    let result = allowed(&exec, start, cwd, envp, run);
    if let Err(libc::EPERM) = result {
        memo::remember_denial(key);
    }
    result
}

fn allowed<R>(
    exec: &Exec,
    start: Start,
    cwd: &[u8],
    envp: Argv,
    run: &mut dyn FnMut(Argv) -> R,
) -> Result<R, c_int> {
    match preflight::judge(exec, Starter::ThisProcess, cwd) {
        Verdict::Deny => Err(libc::EPERM),
        Verdict::Allow => start_restored(exec.argv, start, envp, run),
    }
}

/// Runs `run` with the environment the allowed program gets. Out of line, so that the
/// storage for that environment is no part of the frame the daemon exchange runs under
/// (every stack page a hook touches is a page fault in a fork child).
#[inline(never)]
fn start_restored<R>(
    argv: Argv,
    start: Start,
    envp: Argv,
    run: &mut dyn FnMut(Argv) -> R,
) -> Result<R, c_int> {
    // SAFETY: `argv` comes from the hooked call.
    let checked = unsafe { start.marker(argv) };
    SNAPSHOT
        .get()
        .with_restored(envp, &checked, run)
        .ok_or(libc::ENOMEM)
}

/// The program `execveat` would run, if it is executable.
fn at_program<'o>(
    dirfd: c_int,
    name: &[u8],
    flags: c_int,
    cwd: &[u8],
    out: &'o mut PathStorage,
) -> Result<Option<Program<'o>>, TooLong> {
    if name.is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
        return resolve::fd_program(dirfd, out);
    }
    if name.starts_with(b"/") || dirfd == libc::AT_FDCWD {
        return resolve::program(name, None, cwd, out);
    }
    let (dir_storage, out) = out.split_at_mut(out.len() / 2);
    match resolve::fd_path(dirfd, dir_storage)? {
        Some(dir) => resolve::program(name, None, dir, out),
        None => Ok(None),
    }
}

/// The exec family's convention: -1 with errno.
fn exec_result(result: Result<c_int, c_int>) -> c_int {
    result.unwrap_or_else(|err| {
        set_errno(err);
        -1
    })
}

/// The spawn family's convention: the error number is the return value.
fn spawn_result(result: Result<c_int, c_int>) -> c_int {
    result.unwrap_or_else(|err| err)
}

fn missing() -> c_int {
    set_errno(libc::ENOSYS);
    -1
}

/// # Safety
/// As `execve(2)`.
#[no_mangle]
pub unsafe extern "C" fn execve(path: *const c_char, argv: Argv, envp: Argv) -> c_int {
    let target = Target::File {
        file: path,
        search: false,
    };
    exec_result(guard(
        "execve",
        Start::InPlace,
        target,
        argv,
        envp,
        &mut |envp| real::execve().map_or_else(missing, |f| f(path, argv, envp)),
    ))
}

/// # Safety
/// As `execv(3)`.
#[no_mangle]
pub unsafe extern "C" fn execv(path: *const c_char, argv: Argv) -> c_int {
    let target = Target::File {
        file: path,
        search: false,
    };
    exec_result(guard(
        "execv",
        Start::InPlace,
        target,
        argv,
        current_environ(),
        &mut |envp| real::execve().map_or_else(missing, |f| f(path, argv, envp)),
    ))
}

/// # Safety
/// As `execvp(3)`.
#[no_mangle]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: Argv) -> c_int {
    let target = Target::File { file, search: true };
    exec_result(guard(
        "execvp",
        Start::InPlace,
        target,
        argv,
        current_environ(),
        &mut |envp| real::execvpe().map_or_else(missing, |f| f(file, argv, envp)),
    ))
}

/// # Safety
/// As `execvpe(3)`.
#[no_mangle]
pub unsafe extern "C" fn execvpe(file: *const c_char, argv: Argv, envp: Argv) -> c_int {
    let target = Target::File { file, search: true };
    exec_result(guard(
        "execvpe",
        Start::InPlace,
        target,
        argv,
        envp,
        &mut |envp| real::execvpe().map_or_else(missing, |f| f(file, argv, envp)),
    ))
}

/// # Safety
/// As `execveat(2)`.
#[no_mangle]
pub unsafe extern "C" fn execveat(
    dirfd: c_int,
    pathname: *const c_char,
    argv: Argv,
    envp: Argv,
    flags: c_int,
) -> c_int {
    let target = Target::At {
        dirfd,
        pathname,
        flags,
    };
    exec_result(guard(
        "execveat",
        Start::InPlace,
        target,
        argv,
        envp,
        &mut |envp| match real::execveat() {
            Some(f) => f(dirfd, pathname, argv, envp, flags),
            // glibc before 2.34 has no wrapper; the system call is the same.
            None => exec_result(syscall::execveat(dirfd, pathname, argv, envp, flags).map(|_| 0)),
        },
    ))
}

/// # Safety
/// As `fexecve(3)`.
#[no_mangle]
pub unsafe extern "C" fn fexecve(fd: c_int, argv: Argv, envp: Argv) -> c_int {
    exec_result(guard(
        "fexecve",
        Start::InPlace,
        Target::Fd(fd),
        argv,
        envp,
        &mut |envp| real::fexecve().map_or_else(missing, |f| f(fd, argv, envp)),
    ))
}

/// Exports a spawn-family hook: `$name(out, file, actions, attr, argv, envp)`, where `out`
/// receives a pid (`posix_spawn*`) or a pidfd (`pidfd_spawn*`), and `$search` says whether
/// `file` is searched in `PATH`.
macro_rules! spawn_hook {
    ($name:ident, $out:ty, $search:expr) => {
        /// # Safety
        /// As the libc function of the same name; `pidfd_spawn*` answer ENOSYS where the
        /// running glibc lacks them (before 2.39).
        #[no_mangle]
        pub unsafe extern "C" fn $name(
            out: *mut $out,
            file: *const c_char,
            actions: *const posix_spawn_file_actions_t,
            attr: *const posix_spawnattr_t,
            argv: Argv,
            envp: Argv,
        ) -> c_int {
            let Some(real) = real::$name() else {
                return libc::ENOSYS;
            };
            let target = Target::File {
                file,
                search: $search,
            };
            spawn_result(guard(
                stringify!($name),
                Start::Child,
                target,
                argv,
                envp,
                &mut |envp| real(out, file, actions, attr, argv, envp),
            ))
        }
    };
}

spawn_hook!(posix_spawn, pid_t, false);
spawn_hook!(posix_spawnp, pid_t, true);
spawn_hook!(pidfd_spawn, c_int, false);
spawn_hook!(pidfd_spawnp, c_int, true);

/// Asks about `/bin/sh -c COMMAND` for `system`/`popen`.
fn shell_allowed<R>(
    hook: &str,
    command: *const c_char,
    run: &mut dyn FnMut(Argv) -> R,
) -> Result<R, c_int> {
    ensure_initialised();
    let argv = [c"sh".as_ptr(), c"-c".as_ptr(), command, ptr::null()];
    let mut stack = buf::uninit::<PATHS_STACK>();
    let mut mapping = None;
    let cwd = resolve::in_storage(&mut stack, &mut mapping, |storage| {
        resolve::cwd(storage).map(|(cwd, _)| cwd)
    })?;
    let exec = Exec {
        hook,
        path: b"/bin/sh",
        argv: argv.as_ptr(),
        // SAFETY: `command` is the caller's non-null C string.
        shell: Some(unsafe { bytes(command) }),
    };
    allowed(&exec, Start::Child, cwd, current_environ(), run)
}

/// # Safety
/// As `system(3)`.
#[no_mangle]
pub unsafe extern "C" fn system(command: *const c_char) -> c_int {
    if command.is_null() {
        // Only asks whether a shell exists; nothing runs.
        return real::system().map_or(0, |f| f(command));
    }
    shell_allowed("system", command, &mut |envp| shell::system(command, envp)).unwrap_or_else(
        |err| {
            set_errno(err);
            shell::NO_SHELL
        },
    )
}

/// `popen` must come from the real function so that `pclose` works on its FILE. It reads
/// `environ`, so when the caller's environment lacks warden's entries, `environ` points at
/// the restored array for the duration of the call. (A thread calling `getenv` meanwhile sees
/// the same variables plus warden's.)
///
/// # Safety
/// As `popen(3)`.
#[no_mangle]
pub unsafe extern "C" fn popen(command: *const c_char, mode: *const c_char) -> *mut FILE {
    let Some(real_popen) = real::popen() else {
        set_errno(libc::ENOSYS);
        return ptr::null_mut();
    };
    if command.is_null() {
        return real_popen(command, mode);
    }
    let result = shell_allowed("popen", command, &mut |envp| {
        let previous = sys::swap_environ(envp);
        let file = real_popen(command, mode);
        let errno = sys::errno();
        sys::swap_environ(previous);
        set_errno(errno);
        file
    });
    result.unwrap_or_else(|err| {
        set_errno(err);
        ptr::null_mut()
    })
}
