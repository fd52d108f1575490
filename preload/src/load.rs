//! The load check: a process whose start no hook judged judges itself before `main` runs.
//!
//! `LD_PRELOAD` does nothing in a static program (Codex is one), so what a static program
//! starts — `bash -lc '<command>'` for every Codex tool call — never passed a hook, and neither
//! did a program started with a raw system call. When such a program is dynamic and inherited
//! `LD_PRELOAD`, the library's constructor finds no valid proof of a check (`checked.rs`) and
//! asks the daemon about the process itself (hook `load`), exactly as a hook would: same
//! transport, fail mode and approval wait. Denied: one line on stderr and exit status 126,
//! before `main`.

use core::ffi::c_char;

use crate::buf;
use crate::checked;
use crate::environ::SNAPSHOT;
use crate::preflight::{self, Starter, Verdict};
use crate::request::Exec;
use crate::resolve::{self, PathStorage, PATH_MAX};
use crate::sys;
use crate::syscall;

/// The exit status of a program refused at load (the shell's "cannot execute").
const REFUSED_STATUS: i32 = 126;

/// Judges this process unless its start was judged already; never returns when denied.
///
/// # Safety
/// Only from the library constructor, with the `argv` and `envp` it received.
pub unsafe fn check(argv: *const *const c_char, envp: *const *const c_char) {
    if SNAPSHOT.get().guarded && !checked::take_proof(argv, envp) {
        judge_self(argv);
    }
}

/// Out of line: its buffers would otherwise be in the constructor's frame (and their stack
/// pages touched) in every process, checked or not.
#[inline(never)]
fn judge_self(argv: *const *const c_char) {
    // Room for PATH_MAX-long paths: this runs once per process, and only when unchecked.
    let mut storage = buf::uninit::<{ 2 * PATH_MAX }>();
    let (path_storage, cwd_storage) = storage.split_at_mut(PATH_MAX);
    let path = own_program(path_storage);
    let cwd = resolve::cwd(cwd_storage).map_or(&[][..], |(cwd, _)| cwd);
    let exec = Exec {
        hook: "load",
        path,
        argv,
        shell: None,
    };
    if preflight::judge(&exec, Starter::Parent, cwd) == Verdict::Deny {
        syscall::exit(REFUSED_STATUS);
    }
}

/// The program this process runs: `/proc/self/exe`, else the name given to `execve`.
fn own_program(out: &mut PathStorage) -> &[u8] {
    let len = syscall::readlink(c"/proc/self/exe".as_ptr(), out).unwrap_or(0);
    if len > 0 && len < out.len() {
        // SAFETY: readlink wrote the first `len` bytes.
        return unsafe { buf::assume_init(&out[..len]) };
    }
    // SAFETY: AT_EXECFN is the kernel's NUL-terminated copy of the execve name (or 0).
    unsafe { sys::bytes(libc::getauxval(libc::AT_EXECFN) as *const c_char) }
}
