//! Which file an exec will run, found the way libc finds it, so the daemon judges the real
//! absolute path. Only an existing, executable regular file is worth a question: a call that
//! will fail anyway (Python tries `execve` once per `PATH` entry) goes straight through.

use core::ffi::{c_char, c_int};
use core::mem::MaybeUninit;

use crate::buf::{self, Buf};

/// Longest path handled; longer ones cannot be executed by path anyway.
pub const PATH_MAX: usize = 4096;

/// Storage for one path; the functions below initialise only what they return (and the NUL
/// after it), so callers keep it uninitialised (see [`buf::uninit`]).
pub type PathStorage = [MaybeUninit<u8>; PATH_MAX];

/// glibc's search path when `PATH` is unset.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// Finds the program `file` names. `path_var` is the caller's `PATH` (for the `p` variants,
/// which search it when `file` has no slash). Returns the absolute path written into `out`
/// (followed there by a NUL), or `None` when nothing executable is there.
pub fn program<'o>(
    file: &[u8],
    path_var: Option<Option<&[u8]>>,
    cwd: &[u8],
    out: &'o mut PathStorage,
) -> Option<&'o [u8]> {
    if file.is_empty() {
        return None;
    }
    let search = match path_var {
        Some(path) if !file.contains(&b'/') => path.unwrap_or(DEFAULT_PATH),
        _ => {
            let len = candidate(&[file], cwd, out)?;
            // SAFETY: `candidate` just wrote `len` bytes and a NUL.
            return Some(unsafe { written(out, len) });
        }
    };
    for dir in search.split(|&b| b == b':') {
        // An empty PATH element means the current directory, as in glibc.
        let found = if dir.is_empty() {
            candidate(&[file], cwd, out)
        } else {
            candidate(&[dir, b"/", file], cwd, out)
        };
        if let Some(len) = found {
            // SAFETY: `candidate` just wrote `len` bytes and a NUL.
            return Some(unsafe { written(out, len) });
        }
    }
    None
}

/// The path of `len` bytes a function of this module wrote into `out`, and the NUL after it.
///
/// # Safety
/// `len` must be the length of the path such a function last returned from `out` (they all
/// write a NUL right after it, so `len < PATH_MAX`).
pub unsafe fn with_nul(out: &PathStorage, len: usize) -> &[u8] {
    // SAFETY: the caller's contract: `..=len` was written.
    unsafe { buf::assume_init(&out[..len + 1]) }
}

/// # Safety
/// As [`with_nul`], for the path just written.
unsafe fn written(out: &PathStorage, len: usize) -> &[u8] {
    // SAFETY: passed on from the caller.
    unsafe { &with_nul(out, len)[..len] }
}

/// Joins `parts` (made absolute against `cwd`) into `out`, NUL-terminated, and checks it is
/// executable: the length of the path when it is.
fn candidate(parts: &[&[u8]], cwd: &[u8], out: &mut PathStorage) -> Option<usize> {
    let mut buf = Buf::uninit(&mut out[..PATH_MAX - 1]);
    if parts.first().is_some_and(|p| !p.starts_with(b"/")) {
        buf.push(cwd);
        if !cwd.ends_with(b"/") {
            buf.byte(b'/');
        }
    }
    for part in parts {
        buf.push(part);
    }
    let len = buf.bytes()?.len();
    out[len].write(0);
    executable(out.as_ptr().cast()).then_some(len)
}

/// An existing regular file the caller may execute.
pub fn executable(path: *const c_char) -> bool {
    // SAFETY: `path` is NUL-terminated; `st` is a valid out-pointer.
    unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        libc::stat(path, &mut st) == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFREG
            && libc::access(path, libc::X_OK) == 0
    }
}

/// An open descriptor of an executable regular file.
pub fn executable_fd(fd: c_int) -> bool {
    // SAFETY: `st` is a valid out-pointer; a bad fd just fails.
    unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        libc::fstat(fd, &mut st) == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFREG
            && st.st_mode & 0o111 != 0
    }
}

/// The path behind a descriptor (`/proc/self/fd/N`), written into `out` (NUL-terminated
/// there, like every path this module returns).
pub fn fd_path(fd: c_int, out: &mut PathStorage) -> Option<&[u8]> {
    let mut link_storage = [0u8; 32];
    let mut link = Buf::new(&mut link_storage);
    link.push(b"/proc/self/fd/");
    link.num(fd as u64);
    link.byte(0);
    let link = link.bytes()?;
    // SAFETY: `link` is NUL-terminated; readlink writes at most PATH_MAX - 1 bytes.
    let n = unsafe { libc::readlink(link.as_ptr().cast(), out.as_mut_ptr().cast(), PATH_MAX - 1) };
    if n <= 0 {
        return None;
    }
    out[n as usize].write(0);
    // SAFETY: readlink wrote `n` bytes, then the NUL above.
    Some(unsafe { written(out, n as usize) })
}

/// The working directory, written into `out` (empty when it cannot be had).
pub fn cwd(out: &mut PathStorage) -> &[u8] {
    // SAFETY: getcwd writes at most PATH_MAX bytes into `out`; with a buffer it never mallocs.
    let ok = unsafe { !libc::getcwd(out.as_mut_ptr().cast(), PATH_MAX).is_null() };
    if !ok {
        return &[];
    }
    // SAFETY: on success getcwd wrote a NUL-terminated string of fewer than PATH_MAX bytes.
    unsafe { written(out, libc::strlen(out.as_ptr().cast())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_relative_paths() {
        let mut out = buf::uninit::<PATH_MAX>();
        assert_eq!(
            program(b"/bin/sh", None, b"/", &mut out),
            Some(&b"/bin/sh"[..])
        );
        assert_eq!(
            program(b"sh", None, b"/bin", &mut out),
            Some(&b"/bin/sh"[..])
        );
        assert_eq!(
            program(b"./sh", None, b"/bin/", &mut out),
            Some(&b"/bin/./sh"[..])
        );
        assert_eq!(program(b"/nonexistent/x", None, b"/", &mut out), None);
        assert_eq!(program(b"/etc/passwd", None, b"/", &mut out), None);
        assert_eq!(program(b"/bin", None, b"/", &mut out), None);
        assert_eq!(program(b"", Some(None), b"/", &mut out), None);
    }

    #[test]
    fn path_search_like_libc() {
        let mut out = buf::uninit::<PATH_MAX>();
        let path = Some(Some(&b"/nonexistent:/usr/bin:/bin"[..]));
        assert_eq!(
            program(b"env", path, b"/", &mut out),
            Some(&b"/usr/bin/env"[..])
        );
        assert_eq!(program(b"no-such-program-x", path, b"/", &mut out), None);
        assert_eq!(
            program(b"sh", Some(None), b"/", &mut out),
            Some(&b"/bin/sh"[..])
        );
        // An empty element is the working directory.
        assert_eq!(
            program(b"sh", Some(Some(b":/x")), b"/bin", &mut out),
            Some(&b"/bin/sh"[..])
        );
        // With a slash, PATH is not searched.
        assert_eq!(
            program(b"bin/sh", path, b"/", &mut out),
            Some(&b"/bin/sh"[..])
        );
    }

    #[test]
    fn descriptors() {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open("/bin/sh").unwrap();
        let mut out = buf::uninit::<PATH_MAX>();
        assert!(fd_path(file.as_raw_fd(), &mut out)
            .unwrap()
            .ends_with(b"sh"));
        assert!(executable_fd(file.as_raw_fd()));
        let text = std::fs::File::open("/etc/passwd").unwrap();
        assert!(!executable_fd(text.as_raw_fd()));
        assert!(!cwd(&mut out).is_empty());
    }
}
