//! Which file an exec will run, found the way libc finds it, so the daemon judges the real
//! absolute path. Only an existing, executable regular file is worth a question: a call that
//! will fail anyway (Python tries `execve` once per `PATH` entry) goes straight through.

use core::ffi::{c_char, c_int};
use core::mem::MaybeUninit;

use crate::buf::{self, Buf};
use crate::syscall;

/// Longest path handled; longer ones cannot be executed by path anyway.
pub const PATH_MAX: usize = 4096;

/// Storage for one path; the functions below initialise only what they return (and the NUL
/// after it), so callers keep it uninitialised (see [`buf::uninit`]).
pub type PathStorage = [MaybeUninit<u8>; PATH_MAX];

/// glibc's search path when `PATH` is unset.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// The file a program runs from (device and inode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    pub device: u64,
    pub inode: u64,
}

impl FileId {
    fn of(st: &libc::stat) -> FileId {
        FileId {
            device: st.st_dev,
            inode: st.st_ino,
        }
    }
}

/// An executable program: its absolute path and its file, from the same look-up.
#[derive(Debug, PartialEq, Eq)]
pub struct Program<'o> {
    pub path: &'o [u8],
    pub file: FileId,
}

/// Finds the program `file` names. `path_var` is the caller's `PATH` (for the `p` variants,
/// which search it when `file` has no slash). Returns the absolute path written into `out`
/// (followed there by a NUL), or `None` when nothing executable is there.
pub fn program<'o>(
    file: &[u8],
    path_var: Option<Option<&[u8]>>,
    cwd: &[u8],
    out: &'o mut PathStorage,
) -> Option<Program<'o>> {
    if file.is_empty() {
        return None;
    }
    let search = match path_var {
        Some(path) if !file.contains(&b'/') => path.unwrap_or(DEFAULT_PATH),
        _ => {
            let (len, file) = candidate(&[file], cwd, out)?;
            // SAFETY: `candidate` just wrote `len` bytes and a NUL.
            let path = unsafe { written(out, len) };
            return Some(Program { path, file });
        }
    };
    for dir in search.split(|&b| b == b':') {
        // An empty PATH element means the current directory, as in glibc.
        let found = if dir.is_empty() {
            candidate(&[file], cwd, out)
        } else {
            candidate(&[dir, b"/", file], cwd, out)
        };
        if let Some((len, file)) = found {
            // SAFETY: `candidate` just wrote `len` bytes and a NUL.
            let path = unsafe { written(out, len) };
            return Some(Program { path, file });
        }
    }
    None
}

/// The path of `len` bytes just written into `out`.
///
/// # Safety
/// `..len` of `out` must be initialised.
unsafe fn written(out: &PathStorage, len: usize) -> &[u8] {
    // SAFETY: the caller's contract.
    unsafe { buf::assume_init(&out[..len]) }
}

/// Joins `parts` (made absolute against `cwd`) into `out`, NUL-terminated, and checks it is
/// executable: the length of the path and its file when it is.
fn candidate(parts: &[&[u8]], cwd: &[u8], out: &mut PathStorage) -> Option<(usize, FileId)> {
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
    executable(out.as_ptr().cast()).map(|file| (len, file))
}

/// An existing regular file the caller may execute; `path` is NUL-terminated.
fn executable(path: *const c_char) -> Option<FileId> {
    let st = syscall::stat(path)?;
    (st.st_mode & libc::S_IFMT == libc::S_IFREG && syscall::may_execute(path))
        .then(|| FileId::of(&st))
}

/// The program behind an open descriptor of an executable regular file, its path written
/// into `out`.
pub fn fd_program(fd: c_int, out: &mut PathStorage) -> Option<Program<'_>> {
    let st = syscall::fstat(fd)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o111 == 0 {
        return None;
    }
    let path = fd_path(fd, out)?;
    Some(Program {
        path,
        file: FileId::of(&st),
    })
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
    let n = syscall::readlink(link.as_ptr().cast(), &mut out[..PATH_MAX - 1]).ok()?;
    if n == 0 {
        return None;
    }
    out[n].write(0);
    // SAFETY: readlink wrote `n` bytes.
    Some(unsafe { written(out, n) })
}

/// The working directory, written into `out` (empty when it cannot be had).
pub fn cwd(out: &mut PathStorage) -> &[u8] {
    // The kernel counts the NUL it writes. A directory outside this process's root comes
    // back as "(unreachable)/…", which libc's getcwd reports as an error.
    match syscall::getcwd(out) {
        // SAFETY: the kernel wrote `len` bytes, the last one the NUL.
        Ok(len) if len > 1 => match unsafe { written(out, len - 1) } {
            cwd if cwd.starts_with(b"/") => cwd,
            _ => &[],
        },
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn path_of<'o>(
        file: &[u8],
        path_var: Option<Option<&[u8]>>,
        cwd: &[u8],
        out: &'o mut PathStorage,
    ) -> Option<&'o [u8]> {
        program(file, path_var, cwd, out).map(|found| found.path)
    }

    #[test]
    fn the_file_is_the_one_at_the_path() {
        let mut out = buf::uninit::<PATH_MAX>();
        let found = program(b"/bin/sh", None, b"/", &mut out).unwrap();
        let meta = std::fs::metadata("/bin/sh").unwrap();
        assert_eq!((found.file.device, found.file.inode), (meta.dev(), meta.ino()));
    }

    #[test]
    fn absolute_and_relative_paths() {
        let mut out = buf::uninit::<PATH_MAX>();
        assert_eq!(
            path_of(b"/bin/sh", None, b"/", &mut out),
            Some(&b"/bin/sh"[..])
        );
        assert_eq!(
            path_of(b"sh", None, b"/bin", &mut out),
            Some(&b"/bin/sh"[..])
        );
        assert_eq!(
            path_of(b"./sh", None, b"/bin/", &mut out),
            Some(&b"/bin/./sh"[..])
        );
        assert_eq!(path_of(b"/nonexistent/x", None, b"/", &mut out), None);
        assert_eq!(path_of(b"/etc/passwd", None, b"/", &mut out), None);
        assert_eq!(path_of(b"/bin", None, b"/", &mut out), None);
        assert_eq!(path_of(b"", Some(None), b"/", &mut out), None);
    }

    #[test]
    fn path_search_like_libc() {
        let mut out = buf::uninit::<PATH_MAX>();
        let path = Some(Some(&b"/nonexistent:/usr/bin:/bin"[..]));
        assert_eq!(
            path_of(b"env", path, b"/", &mut out),
            Some(&b"/usr/bin/env"[..])
        );
        assert_eq!(path_of(b"no-such-program-x", path, b"/", &mut out), None);
        assert_eq!(
            path_of(b"sh", Some(None), b"/", &mut out),
            Some(&b"/bin/sh"[..])
        );
        // An empty element is the working directory.
        assert_eq!(
            path_of(b"sh", Some(Some(b":/x")), b"/bin", &mut out),
            Some(&b"/bin/sh"[..])
        );
        // With a slash, PATH is not searched.
        assert_eq!(
            path_of(b"bin/sh", path, b"/", &mut out),
            Some(&b"/bin/sh"[..])
        );
    }

    #[test]
    fn descriptors() {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open("/bin/sh").unwrap();
        let mut out = buf::uninit::<PATH_MAX>();
        let found = fd_program(file.as_raw_fd(), &mut out).unwrap();
        assert!(found.path.ends_with(b"sh"));
        let meta = std::fs::metadata("/bin/sh").unwrap();
        assert_eq!(found.file.inode, meta.ino());
        let text = std::fs::File::open("/etc/passwd").unwrap();
        assert!(fd_program(text.as_raw_fd(), &mut out).is_none());
        assert!(!cwd(&mut out).is_empty());
    }
}
