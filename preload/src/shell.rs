//! `system()` for allowed commands: `/bin/sh -c COMMAND` started with the real `posix_spawn`
//! and warden's restored environment, with the signal handling POSIX specifies for `system`
//! (SIGINT and SIGQUIT ignored and SIGCHLD blocked in the caller while the shell runs).
//!
//! The real `system` cannot be used here: it always passes `environ`, and a caller that ran
//! `unsetenv("LD_PRELOAD")` would start its shell unguarded. (`popen` differs: its FILE must
//! come from the real `popen` for `pclose` to work, see `hooks::popen`.)

use core::ffi::{c_char, c_int};
use core::mem::MaybeUninit;
use core::ptr;

use crate::real;
use crate::sys::errno;

/// The status `system` reports when no shell could be started.
pub const NO_SHELL: c_int = 127 << 8;

/// Runs `command` with `/bin/sh` and environment `envp`; returns the wait status.
///
/// # Safety
/// `command` is a valid C string and `envp` a valid NULL-terminated environment.
pub unsafe fn system(command: *const c_char, envp: *const *const c_char) -> c_int {
    let Some(spawn) = real::posix_spawn() else {
        return NO_SHELL;
    };
    let mut ignore: libc::sigaction = core::mem::zeroed();
    ignore.sa_sigaction = libc::SIG_IGN;
    libc::sigemptyset(&mut ignore.sa_mask);
    let mut old_int: libc::sigaction = core::mem::zeroed();
    let mut old_quit: libc::sigaction = core::mem::zeroed();
    libc::sigaction(libc::SIGINT, &ignore, &mut old_int);
    libc::sigaction(libc::SIGQUIT, &ignore, &mut old_quit);
    let mut chld = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
    libc::sigemptyset(&mut chld);
    libc::sigaddset(&mut chld, libc::SIGCHLD);
    let mut old_mask = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
    libc::sigprocmask(libc::SIG_BLOCK, &chld, &mut old_mask);

    // The shell gets back the dispositions and mask the caller had.
    let mut defaults = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
    libc::sigemptyset(&mut defaults);
    if old_int.sa_sigaction != libc::SIG_IGN {
        libc::sigaddset(&mut defaults, libc::SIGINT);
    }
    if old_quit.sa_sigaction != libc::SIG_IGN {
        libc::sigaddset(&mut defaults, libc::SIGQUIT);
    }
    let mut attr = MaybeUninit::<libc::posix_spawnattr_t>::zeroed().assume_init();
    libc::posix_spawnattr_init(&mut attr);
    libc::posix_spawnattr_setsigdefault(&mut attr, &defaults);
    libc::posix_spawnattr_setsigmask(&mut attr, &old_mask);
    libc::posix_spawnattr_setflags(
        &mut attr,
        (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short,
    );
    let argv = [c"sh".as_ptr(), c"-c".as_ptr(), command, ptr::null()];
    let mut pid: libc::pid_t = 0;
    let rc = spawn(
        &mut pid,
        c"/bin/sh".as_ptr(),
        ptr::null(),
        &attr,
        argv.as_ptr(),
        envp,
    );
    libc::posix_spawnattr_destroy(&mut attr);
    let status = if rc == 0 {
        let mut status: c_int = 0;
        loop {
            if libc::waitpid(pid, &mut status, 0) == pid {
                break status;
            }
            if errno() != libc::EINTR {
                break -1;
            }
        }
    } else {
        NO_SHELL
    };
    libc::sigaction(libc::SIGINT, &old_int, ptr::null_mut());
    libc::sigaction(libc::SIGQUIT, &old_quit, ptr::null_mut());
    libc::sigprocmask(libc::SIG_SETMASK, &old_mask, ptr::null_mut());
    status
}
