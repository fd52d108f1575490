//! The proof that a program's start was judged, so that the program does not judge itself
//! again at load (see `load.rs`).
//!
//! Every exec or spawn the library lets through passes `WARDEN_CHECKED` to the new program:
//! `e<pid>.<n>.<hash>` when the caller execs in place (the program keeps the caller's pid),
//! `s<pid>.<n>.<hash>` when the caller creates a child (the program's parent is the caller),
//! where `<hash>` covers the `<n>` arguments after argv[0] that were judged. A program proves
//! its own start judged only with `e` + its pid or `s` + its parent's pid, and only when its
//! last `<n>` arguments are the judged ones (the kernel keeps them last when it starts a
//! script's interpreter). So a value that a static (un-hooked) program inherits proves
//! nothing for the children it starts, nor for another command it execs in place. The proof
//! is also spent at load: a program that later execs without the library's help (a raw
//! system call) cannot hand its own valid value on to what it becomes.

use core::ffi::c_char;

use crate::buf::Buf;
use crate::environ::Entry;
use crate::sys::{hash_args, pointers, strings, value_of};
use crate::syscall;

pub const NAME: &[u8] = b"WARDEN_CHECKED";

type Argv = *const *const c_char;

/// How the program the library lets through will start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The exec family: the caller becomes the program and keeps its pid.
    InPlace,
    /// The spawn family, `system`, `popen`: the program is a child of the caller.
    Child,
}

/// Room for `s<pid>.<n>.<hash>` in decimal.
const TAG_MAX: usize = 64;

/// The judged arguments: those after argv[0], the last `count` of them.
struct Tail {
    count: usize,
    hash: u64,
}

impl Tail {
    /// The last `count` arguments of `argv` (none when argv has no more than `count`).
    ///
    /// # Safety
    /// `argv` is null or a valid NULL-terminated array.
    unsafe fn of(argv: Argv, count: usize) -> Option<Tail> {
        let total = strings(argv).count();
        let skip = total.checked_sub(count).filter(|&skip| skip >= 1)?;
        Some(Tail {
            count,
            hash: hash_args(strings(argv).skip(skip)),
        })
    }
}

fn tag<'o>(prefix: u8, pid: libc::pid_t, tail: &Tail, out: &'o mut [u8; TAG_MAX]) -> &'o [u8] {
    let mut buf = Buf::new(out);
    buf.byte(prefix);
    buf.num(pid.unsigned_abs() as u64);
    buf.byte(b'.');
    buf.num(tail.count as u64);
    buf.byte(b'.');
    buf.num(tail.hash);
    let len = buf.len();
    &out[..len]
}

impl Start {
    /// `WARDEN_CHECKED=<tag>` for the program with `argv` that the calling process starts now.
    ///
    /// # Safety
    /// `argv` is null or a valid NULL-terminated array.
    pub unsafe fn marker(self, argv: Argv) -> Entry {
        let count = strings(argv).count().saturating_sub(1);
        let Some(tail) = Tail::of(argv, count) else {
            // No arguments at all: no proof, the program judges itself.
            return Entry::EMPTY;
        };
        let prefix = match self {
            Start::InPlace => b'e',
            Start::Child => b's',
        };
        let mut storage = [0u8; TAG_MAX];
        // getpid is not cached, so it is right in vfork children too.
        let tag = tag(prefix, syscall::getpid(), &tail, &mut storage);
        Entry::new(NAME, &[tag]).unwrap_or(Entry::EMPTY)
    }
}

/// Whether `value` proves that the start of the process `pid` (child of `ppid`), running
/// `argv`, was judged.
///
/// # Safety
/// `argv` is null or a valid NULL-terminated array.
unsafe fn proves(value: &[u8], pid: libc::pid_t, ppid: libc::pid_t, argv: Argv) -> bool {
    let (prefix, pid) = match value.first() {
        Some(b'e') => (b'e', pid),
        Some(b's') => (b's', ppid),
        _ => return false,
    };
    let Some(count) = value.split(|&b| b == b'.').nth(1).and_then(decimal) else {
        return false;
    };
    let Some(tail) = Tail::of(argv, count) else {
        return false;
    };
    let mut storage = [0u8; TAG_MAX];
    value == tag(prefix, pid, &tail, &mut storage)
}

/// A small decimal number (no sign, no leading zeros needed).
fn decimal(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, &d| n * 10 + (d - b'0') as usize))
}

/// Whether `envp` proves that this process's start (running `argv`) was judged; every
/// `WARDEN_CHECKED` value in it is spent (its first byte overwritten), so nothing inherits a
/// valid proof from here.
///
/// # Safety
/// `envp` is the process's initial environment (writable strings) and `argv` its arguments,
/// as the constructor gets them.
pub unsafe fn take_proof(argv: Argv, envp: Argv) -> bool {
    let mut proven = None;
    for entry in pointers(envp) {
        if let Some(value) = value_of(entry, NAME) {
            if proven.is_none() {
                proven = Some(proves(value, syscall::getpid(), syscall::getppid(), argv));
            }
            if !value.is_empty() {
                // The value starts right after `NAME=` in the same string.
                let first = entry.add(NAME.len() + 1) as *mut c_char;
                *first = b'-' as c_char;
            }
        }
    }
    proven == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn array(items: &[&str]) -> (Vec<CString>, Vec<*const c_char>) {
        let owned: Vec<CString> = items.iter().map(|s| CString::new(*s).unwrap()).collect();
        let mut ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(core::ptr::null());
        (owned, ptrs)
    }

    fn marker(start: Start, argv: &[&str]) -> String {
        let (_o, argv) = array(argv);
        let entry = unsafe { start.marker(argv.as_ptr()) };
        String::from_utf8(entry.value().to_vec()).unwrap()
    }

    fn proven(value: &str, pid: i32, ppid: i32, argv: &[&str]) -> bool {
        let (_o, argv) = array(argv);
        unsafe { proves(value.as_bytes(), pid, ppid, argv.as_ptr()) }
    }

    #[test]
    fn only_the_own_pid_or_the_parent_proves() {
        let pid = std::process::id() as i32;
        let argv = ["rm", "-f", "x"];
        let exec = marker(Start::InPlace, &argv);
        let spawn = marker(Start::Child, &argv);
        assert!(exec.starts_with(&format!("e{pid}.2.")), "{exec}");
        assert!(spawn.starts_with(&format!("s{pid}.2.")), "{spawn}");
        assert!(proven(&exec, pid, 1, &argv));
        assert!(proven(&spawn, 1, pid, &argv));
        assert!(!proven(&exec, pid + 1, pid, &argv));
        assert!(!proven(&spawn, pid, pid + 1, &argv));
        let forged_tail = exec.replacen(".2.", ".02.", 1);
        for wrong in ["", "e", "-1.2.3", &forged_tail, &exec[..exec.len() - 1]] {
            assert!(!proven(wrong, pid, pid, &argv), "{wrong}");
        }
    }

    #[test]
    fn the_proof_is_for_the_judged_arguments() {
        let pid = std::process::id() as i32;
        let exec = marker(Start::InPlace, &["script.sh", "a b", "c"]);
        // The kernel starts a script's interpreter with the script before its arguments.
        assert!(proven(
            &exec,
            pid,
            1,
            &["/bin/sh", "./script.sh", "a b", "c"]
        ));
        assert!(proven(&exec, pid, 1, &["other-name", "a b", "c"]));
        assert!(!proven(&exec, pid, 1, &["rm", "a b", "d"]));
        assert!(!proven(&exec, pid, 1, &["rm", "c"]));
        assert!(!proven(&exec, pid, 1, &["a b", "c"]));
        let bare = marker(Start::Child, &["true"]);
        assert!(bare.starts_with(&format!("s{pid}.0.")));
        assert!(proven(&bare, 1, pid, &["true"]));
        assert!(!proven(&bare, 1, pid, &[]));
        assert_eq!(marker(Start::Child, &[]), "", "no argv, no proof");
    }

    #[test]
    fn the_proof_is_spent_when_taken() {
        let argv = ["prog", "x"];
        let valid = format!("WARDEN_CHECKED={}\0", marker(Start::InPlace, &argv));
        let mut owned: Vec<Vec<u8>> = ["A=1\0", &valid, &valid]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let mut envp: Vec<*const c_char> = owned
            .iter_mut()
            .map(|c| c.as_mut_ptr().cast_const().cast())
            .collect();
        envp.push(core::ptr::null());
        let (_o, argv) = array(&argv);
        assert!(unsafe { take_proof(argv.as_ptr(), envp.as_ptr()) });
        assert!(!unsafe { take_proof(argv.as_ptr(), envp.as_ptr()) });
        let spent = valid.replacen("=e", "=-", 1);
        assert_eq!(owned[1], spent.as_bytes());
        assert_eq!(owned[2], spent.as_bytes());
        let none = [c"B=2".as_ptr(), core::ptr::null()];
        assert!(!unsafe { take_proof(argv.as_ptr(), none.as_ptr()) });
    }
}
