//! Recent denials. Some callers retry a refused exec under every `PATH` entry (Python's
//! subprocess does; with a merged /usr, /usr/bin/x and /bin/x are one file). The same program
//! file (device and inode) with the same argv, refused moments ago in this process, is refused
//! again without asking the daemon, so the person is not asked twice and the log stays clean.
//! Lock-free: a race between threads costs at most one more question.

use core::ffi::c_char;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::resolve::FileId;
use crate::sys::{hash_args, now_ms, strings};

/// How long a denial is remembered.
const REMEMBER_MS: i64 = 2_000;

/// device, inode, argv hash, expiry (ms on the monotonic clock).
static LAST: [AtomicU64; 4] = [
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
];

/// What identifies a request for this purpose. The argv is hashed only when it matters (a
/// denial to remember, or one remembered for the same file): most hooks need neither.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    file: FileId,
    argv: *const *const c_char,
}

impl Key {
    /// The key of running `file` with `argv` (the hooked call's).
    pub fn of(file: FileId, argv: *const *const c_char) -> Key {
        Key { file, argv }
    }

    fn argv_hash(&self) -> u64 {
        // SAFETY: argv comes from the hooked call.
        hash_args(unsafe { strings(self.argv) })
    }
}

pub fn remember_denial(key: Key) {
    LAST[3].store(0, Ordering::Release);
    LAST[0].store(key.file.device, Ordering::Relaxed);
    LAST[1].store(key.file.inode, Ordering::Relaxed);
    LAST[2].store(key.argv_hash(), Ordering::Relaxed);
    LAST[3].store((now_ms() + REMEMBER_MS) as u64, Ordering::Release);
}

pub fn recently_denied(key: Key) -> bool {
    let expires = LAST[3].load(Ordering::Acquire) as i64;
    // The clock only when a denial is remembered at all (the usual case is none).
    expires != 0
        && expires > now_ms()
        && LAST[0].load(Ordering::Relaxed) == key.file.device
        && LAST[1].load(Ordering::Relaxed) == key.file.inode
        && LAST[2].load(Ordering::Relaxed) == key.argv_hash()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_file_and_argv_is_remembered() {
        let touch = c"touch";
        let x = c"x";
        let y = c"y";
        let argv_x = [touch.as_ptr(), x.as_ptr(), core::ptr::null()];
        let argv_y = [touch.as_ptr(), y.as_ptr(), core::ptr::null()];
        let sh = FileId {
            device: 1,
            inode: 2,
        };
        let other = FileId {
            device: 1,
            inode: 3,
        };
        let key = Key::of(sh, argv_x.as_ptr());
        assert!(!recently_denied(key));
        remember_denial(key);
        assert!(recently_denied(key));
        assert!(!recently_denied(Key::of(sh, argv_y.as_ptr())));
        assert!(!recently_denied(Key::of(other, argv_x.as_ptr())));
    }
}
