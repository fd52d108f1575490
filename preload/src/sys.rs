//! Small raw helpers over libc for the hook path: C strings, argv/envp arrays, `environ`,
//! the monotonic clock and stderr. Nothing here allocates or locks.

use core::ffi::{c_char, c_int};

use crate::buf::Buf;
use crate::syscall;

extern "C" {
    /// The process environment that `getenv` and the `environ`-using exec calls read.
    static mut environ: *const *const c_char;
}

/// The current environment array (may be null).
pub fn current_environ() -> *const *const c_char {
    // SAFETY: reading a pointer-sized global; glibc never leaves it half-written.
    unsafe { core::ptr::addr_of!(environ).read() }
}

/// Points `environ` at `envp` and returns the previous value.
///
/// # Safety
/// `envp` must stay valid until the previous value is put back.
pub unsafe fn swap_environ(envp: *const *const c_char) -> *const *const c_char {
    let old = current_environ();
    core::ptr::addr_of_mut!(environ).write(envp);
    old
}

/// The bytes of a NUL-terminated string (empty for null).
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string that outlives the result.
pub unsafe fn bytes<'a>(ptr: *const c_char) -> &'a [u8] {
    if ptr.is_null() {
        return &[];
    }
    // Counted here rather than with libc's `strlen` (which `CStr` calls): one page of libc
    // code less to fault in inside a fork child. A volatile read, because the optimiser
    // turns a plain loop back into a call to `strlen`.
    let mut len = 0;
    while ptr.add(len).read_volatile() != 0 {
        len += 1;
    }
    core::slice::from_raw_parts(ptr.cast(), len)
}

/// Iterates the entries of a NULL-terminated array of C strings (argv or envp) without
/// measuring them; a null array is empty.
pub struct Pointers {
    next: *const *const c_char,
}

/// # Safety
/// `array` is null or a NULL-terminated array of valid C strings that outlives the iterator.
pub unsafe fn pointers(array: *const *const c_char) -> Pointers {
    Pointers { next: array }
}

impl Iterator for Pointers {
    type Item = *const c_char;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next.is_null() {
            return None;
        }
        // SAFETY: `pointers` requires a NULL-terminated array; we stop at the NULL.
        unsafe {
            let item = *self.next;
            if item.is_null() {
                self.next = core::ptr::null();
                return None;
            }
            self.next = self.next.add(1);
            Some(item)
        }
    }
}

/// The strings of a NULL-terminated array, as [`pointers`].
///
/// # Safety
/// As [`pointers`].
pub unsafe fn strings(array: *const *const c_char) -> impl Iterator<Item = &'static [u8]> {
    // SAFETY: the caller's contract: every entry is a valid C string.
    pointers(array).map(|entry| unsafe { bytes(entry) })
}

/// The value of `name` in an envp-style array.
pub fn lookup(envp: *const *const c_char, name: &[u8]) -> Option<&'static [u8]> {
    // SAFETY: callers pass `environ` or an envp handed to an exec function.
    unsafe { pointers(envp).find_map(|entry| value_of(entry, name)) }
}

/// `Some(value)` when the C string `entry` is `name=value`. Compares no further than
/// `name=` before measuring the value: environments hold long entries (LS_COLORS), and most
/// are not the one sought.
///
/// # Safety
/// `entry` is a valid C string that outlives the result.
pub unsafe fn value_of(entry: *const c_char, name: &[u8]) -> Option<&'static [u8]> {
    let entry = entry.cast::<u8>();
    for (i, &expected) in name.iter().enumerate() {
        // A shorter entry stops here at its NUL, which no name contains.
        if *entry.add(i) != expected {
            return None;
        }
    }
    if *entry.add(name.len()) != b'=' {
        return None;
    }
    Some(bytes(entry.add(name.len() + 1).cast()))
}

pub use crate::fnv::hash_args;

pub fn errno() -> c_int {
    // SAFETY: the thread's errno slot is always valid.
    unsafe { *libc::__errno_location() }
}

pub fn set_errno(value: c_int) {
    // SAFETY: the thread's errno slot is always valid.
    unsafe { *libc::__errno_location() = value };
}

/// Milliseconds on the monotonic clock.
pub fn now_ms() -> i64 {
    let ts = syscall::monotonic();
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

pub fn sleep_ms(ms: i64) {
    let ts = libc::timespec {
        tv_sec: ms / 1000,
        tv_nsec: (ms % 1000) * 1_000_000,
    };
    syscall::nanosleep(&ts);
}

/// Longest line warden writes to a program's stderr; longer commands are shortened for display.
const LINE_MAX: usize = 1024;

/// Writes one `warden: …` line to stderr in a single `write`, shortening it if it is too long
/// (display only: what is judged is never shortened).
pub fn stderr_line(write: impl Fn(&mut Buf)) {
    let mut storage = [0u8; LINE_MAX];
    let mut buf = Buf::new(&mut storage[..LINE_MAX - 4]);
    buf.push(b"warden: ");
    write(&mut buf);
    let len = buf.len().min(LINE_MAX - 4);
    let overflowed = buf.overflowed();
    let mut end = len;
    if overflowed {
        storage[end..end + 3].copy_from_slice("…".as_bytes());
        end += 3;
    }
    storage[end] = b'\n';
    // A failed write to stderr is ignored.
    let _ = syscall::write(2, &storage[..end + 1]);
}

/// A command for people: argv shell-quoted and joined with spaces.
pub fn push_command(buf: &mut Buf, argv: *const *const c_char) {
    // SAFETY: argv comes from the hooked call.
    for (i, arg) in unsafe { strings(argv) }.enumerate() {
        if i > 0 {
            buf.byte(b' ');
        }
        buf.shell_word(arg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_null_terminated_arrays() {
        let a = c"a";
        let b = c"bc";
        let array = [a.as_ptr(), b.as_ptr(), core::ptr::null()];
        let items: Vec<&[u8]> = unsafe { strings(array.as_ptr()) }.collect();
        assert_eq!(items, vec![&b"a"[..], &b"bc"[..]]);
        assert_eq!(unsafe { strings(core::ptr::null()) }.count(), 0);
    }

    #[test]
    fn looks_up_exact_names() {
        let p = c"PATHX=1";
        let q = c"PATH=/bin";
        let array = [p.as_ptr(), q.as_ptr(), core::ptr::null()];
        assert_eq!(lookup(array.as_ptr(), b"PATH"), Some(&b"/bin"[..]));
        assert_eq!(lookup(array.as_ptr(), b"HOME"), None);
        assert_eq!(lookup(array.as_ptr(), b"PATHXY"), None);
        assert_eq!(lookup(array.as_ptr(), b"PATH="), None);
    }
}
