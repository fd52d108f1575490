//! This process's command line, as `/proc/self/cmdline` shows it, read from its own memory.
//!
//! Every hook sends the caller's command line. Reading `/proc/self/cmdline` costs an open, a
//! read, a close and a procfs lookup of a pid directory that is new in every fork child:
//! about 10 µs per exec here. The kernel reads that text from the process's memory, between
//! the addresses where it laid out the argument strings; the constructor is handed the same
//! strings (glibc passes `argc`, `argv` and `envp` to every constructor), so it records their
//! range and a hook copies it, following the kernel's rules:
//! - normally the arguments, each ended by a NUL;
//! - when the last byte of that range is no longer a NUL (a `setproctitle` wrote a longer
//!   title over the arguments and into the environment), the text up to the first NUL, at
//!   most to the end of the environment strings.
//!
//! When the strings do not lie where the kernel puts them (one after another), nothing is
//! recorded and the hook reads `/proc/self/cmdline` as before.

use core::ffi::c_char;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::buf::Buf;
use crate::sys::{bytes, pointers};

/// Start and end of the argument strings and end of the environment strings (0: unknown).
static ARGS_START: AtomicUsize = AtomicUsize::new(0);
static ARGS_END: AtomicUsize = AtomicUsize::new(0);
static ENV_END: AtomicUsize = AtomicUsize::new(0);

/// Records where the argument strings lie. Only the arguments are measured (every process
/// pays for this at load): the environment strings end where the kernel put the program's
/// path right behind them, which the auxiliary vector names (`AT_EXECFN`).
///
/// # Safety
/// `argv` and `envp` are the vectors the loader handed the constructor: null or
/// NULL-terminated arrays of NUL-terminated strings.
pub unsafe fn record(argv: *const *const c_char, envp: *const *const c_char) {
    // SAFETY: getauxval only reads the auxiliary vector.
    let program_path = unsafe { libc::getauxval(libc::AT_EXECFN) } as usize;
    // SAFETY: passed on from the caller.
    unsafe { record_layout(argv, envp, program_path) }
}

/// [`record`] with the address of the program's path string given.
///
/// # Safety
/// As [`record`]; `program_path` is 0 or the address of the string right behind the
/// environment strings.
unsafe fn record_layout(
    argv: *const *const c_char,
    envp: *const *const c_char,
    program_path: usize,
) {
    // SAFETY: passed on from the caller.
    let Some((start, end)) = (unsafe { contiguous(argv) }) else {
        return;
    };
    // SAFETY: passed on from the caller.
    let env_start = unsafe { pointers(envp) }.next().map(|first| first as usize);
    let env_end = if env_start == Some(end) && program_path > end {
        program_path
    } else {
        end
    };
    ENV_END.store(env_end, Ordering::Relaxed);
    ARGS_END.store(end, Ordering::Relaxed);
    ARGS_START.store(start, Ordering::Release);
}

/// Appends this process's command line to `buf`; `false` when it is not known here.
pub fn copy(buf: &mut Buf) -> bool {
    let start = ARGS_START.load(Ordering::Acquire);
    let (end, env_end) = (
        ARGS_END.load(Ordering::Relaxed),
        ENV_END.load(Ordering::Relaxed),
    );
    if start == 0 || end <= start || env_end < end {
        return false;
    }
    // SAFETY: `record` saw these bytes as the program's argument strings and the
    // environment strings right behind them, which live in the initial stack area for the
    // whole life of the process.
    let area = unsafe { core::slice::from_raw_parts(start as *const u8, env_end - start) };
    let args = &area[..end - start];
    if args.last() == Some(&0) {
        buf.push(args);
    } else {
        // A title ran over the end of the arguments: up to its NUL, within the environment.
        let title = area.iter().position(|&b| b == 0).unwrap_or(area.len());
        buf.push(&area[..title]);
    }
    true
}

/// The range `[first string, end of the last)` of a vector's strings when each starts right
/// after the previous one's NUL, as the kernel lays them out; `None` for an empty vector.
///
/// # Safety
/// `strings` is null or a NULL-terminated array of NUL-terminated strings.
unsafe fn contiguous(strings: *const *const c_char) -> Option<(usize, usize)> {
    // SAFETY: passed on from the caller.
    let mut entries = unsafe { pointers(strings) };
    let first = entries.next()?;
    // SAFETY: every entry is a NUL-terminated string (caller).
    let after = |string| string as usize + unsafe { bytes(string) }.len() + 1;
    let mut end = after(first);
    for string in entries {
        if string as usize != end {
            return None;
        }
        end = after(string);
    }
    Some((first as usize, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings laid out one after another in `area`, with a vector pointing at them.
    fn vector(area: &[u8], split: &[usize]) -> Vec<*const c_char> {
        split
            .iter()
            .map(|&at| area[at..].as_ptr().cast())
            .chain([core::ptr::null()])
            .collect()
    }

    #[test]
    fn contiguous_strings_give_their_range() {
        let area = b"bash\0-c\0ls\0A=1\0";
        let argv = vector(area, &[0, 5, 8]);
        let (start, end) = unsafe { contiguous(argv.as_ptr()) }.unwrap();
        assert_eq!(start, area.as_ptr() as usize);
        assert_eq!(end - start, 11);
        // Strings elsewhere (a vector the program built itself) are not the kernel's layout.
        let apart = vector(area, &[0, 8]);
        assert!(unsafe { contiguous(apart.as_ptr()) }.is_none());
        assert!(unsafe { contiguous(core::ptr::null()) }.is_none());
    }

    #[test]
    fn the_recorded_line_is_what_procfs_shows() {
        // This test process's own vectors are not at hand; the area below stands in for the
        // initial stack: arguments, environment, then the program's path (AT_EXECFN).
        let area: &'static mut [u8] =
            Box::leak(b"prog\0--flag\0HOME=/root\0/bin/prog\0".to_vec().into());
        let argv = vector(area, &[0, 5]);
        let envp = vector(area, &[12]);
        unsafe { record_layout(argv.as_ptr(), envp.as_ptr(), area[23..].as_ptr() as usize) };
        let line = || {
            let mut storage = [0u8; 64];
            let mut buf = Buf::new(&mut storage);
            assert!(copy(&mut buf));
            buf.bytes().unwrap().to_vec()
        };
        assert_eq!(line(), b"prog\0--flag\0");
        // A title written over the arguments and into the environment ends at its NUL.
        area[..18].copy_from_slice(b"worker: idle state");
        assert_eq!(line(), b"worker: idle stateroot");
        // One that also overwrote the environment's last NUL stops at the end of the
        // environment, as the kernel's does.
        area[22] = b'!';
        assert_eq!(line(), b"worker: idle stateroot!");
    }
}
