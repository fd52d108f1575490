//! The real libc functions behind the hooks, found with `dlsym(RTLD_NEXT, …)`. The
//! constructor resolves them all once; a hook that runs earlier (from another library's
//! constructor) resolves on first use. Functions this glibc lacks (`pidfd_spawn*` before
//! 2.39, `execveat` before 2.34) are remembered as absent.

use core::ffi::{c_char, c_int, CStr};
use core::sync::atomic::{AtomicUsize, Ordering};

use libc::{pid_t, posix_spawn_file_actions_t, posix_spawnattr_t, FILE};

type Argv = *const *const c_char;

const UNRESOLVED: usize = 0;
const ABSENT: usize = 1;

fn lookup(slot: &AtomicUsize, name: &CStr) -> Option<usize> {
    let mut addr = slot.load(Ordering::Acquire);
    if addr == UNRESOLVED {
        // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT finds the definition after
        // this library, never our own hook.
        addr = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) } as usize;
        if addr == UNRESOLVED {
            addr = ABSENT;
        }
        slot.store(addr, Ordering::Release);
    }
    (addr != ABSENT).then_some(addr)
}

/// Whether the running glibc is `major.minor` or newer.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string like "2.36".
    let version = unsafe { crate::sys::bytes(libc::gnu_get_libc_version()) };
    let mut parts = version.split(|&b| b == b'.').map(decimal);
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(have_major), Some(have_minor)) => (have_major, have_minor) >= (major, minor),
        _ => false,
    }
}

/// A short decimal number; `None` when `digits` is empty or holds anything else.
fn decimal(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

macro_rules! real_functions {
    ($($name:ident: fn($($arg:ty),*) -> $ret:ty;)*) => {
        $(
            pub fn $name() -> Option<unsafe extern "C" fn($($arg),*) -> $ret> {
                static SLOT: AtomicUsize = AtomicUsize::new(UNRESOLVED);
                let name = match CStr::from_bytes_with_nul(concat!(stringify!($name), "\0").as_bytes()) {
                    Ok(name) => name,
                    Err(_) => return None,
                };
                // SAFETY: the symbol of this name in libc has exactly this C signature.
                lookup(&SLOT, name).map(|addr| unsafe {
                    core::mem::transmute::<usize, unsafe extern "C" fn($($arg),*) -> $ret>(addr)
                })
            }
        )*

        /// Resolves every real function this glibc has now (from the constructor).
        pub fn resolve_all() {
            let has_pidfd_spawn = glibc_at_least(2, 39);
            $(
                // A failed dlsym formats an error message, which sets up malloc in every
                // process: what this glibc lacks stays unresolved until (unlikely) first use.
                if has_pidfd_spawn || !stringify!($name).starts_with("pidfd_spawn") {
                    let _ = $name();
                }
            )*
        }
    };
}

real_functions! {
    execve: fn(*const c_char, Argv, Argv) -> c_int;
    execvpe: fn(*const c_char, Argv, Argv) -> c_int;
    execveat: fn(c_int, *const c_char, Argv, Argv, c_int) -> c_int;
    fexecve: fn(c_int, Argv, Argv) -> c_int;
    posix_spawn: fn(*mut pid_t, *const c_char, *const posix_spawn_file_actions_t,
        *const posix_spawnattr_t, Argv, Argv) -> c_int;
    posix_spawnp: fn(*mut pid_t, *const c_char, *const posix_spawn_file_actions_t,
        *const posix_spawnattr_t, Argv, Argv) -> c_int;
    pidfd_spawn: fn(*mut c_int, *const c_char, *const posix_spawn_file_actions_t,
        *const posix_spawnattr_t, Argv, Argv) -> c_int;
    pidfd_spawnp: fn(*mut c_int, *const c_char, *const posix_spawn_file_actions_t,
        *const posix_spawnattr_t, Argv, Argv) -> c_int;
    system: fn(*const c_char) -> c_int;
    popen: fn(*const c_char, *const c_char) -> *mut FILE;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers() {
        assert_eq!(decimal(b"39"), Some(39));
        assert_eq!(decimal(b""), None);
        assert_eq!(decimal(b"3a"), None);
        assert!(glibc_at_least(2, 0));
        assert!(!glibc_at_least(99, 0));
    }
}
