//! The proof that a program's start was judged, so that the program does not judge itself
//! again at load (see `load.rs`).
//!
//! Every exec or spawn the library lets through passes `WARDEN_CHECKED` to the new program:
//! `e<pid>` when the caller execs in place (the program keeps the caller's pid), `s<pid>` when
//! the caller creates a child (the program's parent is the caller). A program proves its own
//! start judged only with `e` + its pid or `s` + its parent's pid, so a value that a static
//! (un-hooked) program inherits and passes on proves nothing for the children it starts. The
//! proof is spent at load: a program that later execs without the library's help (a raw
//! system call) cannot hand its own valid value on to what it becomes.

use core::ffi::c_char;

use crate::buf::Buf;
use crate::environ::Entry;
use crate::sys::{bytes, value_of};

pub const NAME: &[u8] = b"WARDEN_CHECKED";

/// How the program the library lets through will start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The exec family: the caller becomes the program and keeps its pid.
    InPlace,
    /// The spawn family, `system`, `popen`: the program is a child of the caller.
    Child,
}

/// Room for `s` and a pid in decimal.
const TAG_MAX: usize = 24;

fn tag(prefix: u8, pid: libc::pid_t, out: &mut [u8; TAG_MAX]) -> &[u8] {
    let mut buf = Buf::new(out);
    buf.byte(prefix);
    buf.num(pid.unsigned_abs() as u64);
    let len = buf.len();
    &out[..len]
}

impl Start {
    /// `WARDEN_CHECKED=<tag>` for a program that the calling process starts now.
    pub fn marker(self) -> Entry {
        let mut storage = [0u8; TAG_MAX];
        // SAFETY: getpid cannot fail (and is not cached, so it is right in vfork children).
        let pid = unsafe { libc::getpid() };
        let prefix = match self {
            Start::InPlace => b'e',
            Start::Child => b's',
        };
        Entry::new(NAME, &[tag(prefix, pid, &mut storage)]).unwrap_or(Entry::EMPTY)
    }
}

/// Whether `value` proves that the start of the process `pid` (child of `ppid`) was judged.
fn proves(value: &[u8], pid: libc::pid_t, ppid: libc::pid_t) -> bool {
    let mut storage = [0u8; TAG_MAX];
    match value.first() {
        Some(b'e') => value == tag(b'e', pid, &mut storage),
        Some(b's') => value == tag(b's', ppid, &mut storage),
        _ => false,
    }
}

/// Whether `envp` proves that this process's start was judged; every `WARDEN_CHECKED` value
/// in it is spent (its first byte overwritten), so nothing inherits a valid proof from here.
///
/// # Safety
/// `envp` is the process's initial environment (writable strings), as the constructor gets it.
pub unsafe fn take_proof(envp: *const *const c_char) -> bool {
    let mut proven = None;
    let mut entry = envp;
    while !entry.is_null() && !(*entry).is_null() {
        if let Some(value) = value_of(bytes(*entry), NAME) {
            if proven.is_none() {
                proven = Some(proves(value, libc::getpid(), libc::getppid()));
            }
            if !value.is_empty() {
                // The value starts right after `NAME=` in the same string.
                let first = (*entry).add(NAME.len() + 1) as *mut c_char;
                *first = b'-' as c_char;
            }
        }
        entry = entry.add(1);
    }
    proven == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_own_pid_or_the_parent_proves() {
        assert!(proves(b"e42", 42, 7));
        assert!(proves(b"s7", 42, 7));
        assert!(!proves(b"e7", 42, 7));
        assert!(!proves(b"s42", 42, 7));
        assert!(!proves(b"e420", 42, 7));
        assert!(!proves(b"e4", 42, 7));
        assert!(!proves(b"-42", 42, 7));
        assert!(!proves(b"42", 42, 7));
        assert!(!proves(b"", 42, 7));
    }

    #[test]
    fn markers_name_the_caller() {
        let pid = std::process::id();
        let exec = Start::InPlace.marker();
        assert_eq!(exec.value(), format!("e{pid}").as_bytes());
        assert_eq!(Start::Child.marker().value(), format!("s{pid}").as_bytes());
    }

    #[test]
    fn the_proof_is_spent_when_taken() {
        let pid = std::process::id();
        let valid = format!("WARDEN_CHECKED=e{pid}\0");
        let mut owned: Vec<Vec<u8>> = ["A=1\0", &valid, &valid]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let mut envp: Vec<*const c_char> = owned
            .iter_mut()
            .map(|c| c.as_mut_ptr().cast_const().cast())
            .collect();
        envp.push(core::ptr::null());
        assert!(unsafe { take_proof(envp.as_ptr()) });
        assert!(!unsafe { take_proof(envp.as_ptr()) });
        let spent = format!("WARDEN_CHECKED=-{pid}\0");
        assert_eq!(owned[1], spent.as_bytes());
        assert_eq!(owned[2], spent.as_bytes());
        let none = [c"B=2".as_ptr(), core::ptr::null()];
        assert!(!unsafe { take_proof(none.as_ptr()) });
    }
}
