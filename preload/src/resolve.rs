//! Which file an exec will run, found the way libc finds it, so the daemon judges the real
//! absolute path. Only an existing, executable regular file is worth a question: a call that
//! will fail anyway (Python tries `execve` once per `PATH` entry) goes straight through.
//!
//! The paths go into caller-supplied storage, usually a small stack buffer (every stack page
//! a hook touches is a page fault in the fork child that runs it). When a path does not fit
//! there, a function answers [`TooLong`] and the caller looks again in room for
//! [`PATH_MAX`]-long paths ([`in_storage`]).

use core::ffi::{c_char, c_int};
use core::mem::MaybeUninit;

use crate::buf::{self, Buf, Mapping};
use crate::syscall;

/// Longest path handled; longer ones cannot be executed by path anyway.
pub const PATH_MAX: usize = 4096;

/// Storage for paths; the functions below initialise only what they return (and the NUL
/// after a program's path), so callers keep it uninitialised (see [`buf::uninit`]).
pub type PathStorage = [MaybeUninit<u8>];

/// A path did not fit storage smaller than [`PATH_MAX`]: look again with more room.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLong;

/// Room for every path a look-up may hold at once (working directory, a directory, the
/// program) when they are too long for the stack.
const MAPPED_STORAGE: usize = 3 * PATH_MAX;

/// Runs `look` in `stack`, or, when that is too small, again in a mapping kept in `mapping`.
/// `Err(errno)` when no memory could be had for the mapping.
pub fn in_storage<'s, T>(
    stack: &'s mut PathStorage,
    mapping: &'s mut Option<Mapping>,
    look: impl Fn(&'s mut PathStorage) -> Result<T, TooLong>,
) -> Result<T, c_int> {
    match look(stack) {
        Ok(found) => Ok(found),
        Err(TooLong) => {
            let mapped = Mapping::new(MAPPED_STORAGE).ok_or(libc::ENOMEM)?;
            // Each path gets PATH_MAX bytes there, so no look-up can be too long again.
            look(mapping.insert(mapped).as_uninit_mut()).map_err(|TooLong| libc::ENAMETOOLONG)
        }
    }
}

/// What a path that did not fit `out` means: [`TooLong`] while `out` is smaller than
/// [`PATH_MAX`], else nothing that can be executed.
fn overflow<T>(out: &PathStorage) -> Result<Option<T>, TooLong> {
    if out.len() < PATH_MAX {
        Err(TooLong)
    } else {
        Ok(None)
    }
}

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
) -> Result<Option<Program<'o>>, TooLong> {
    if file.is_empty() {
        return Ok(None);
    }
    let search = match path_var {
        Some(path) if !file.contains(&b'/') => path.unwrap_or(DEFAULT_PATH),
        _ => return found(candidate(&[file], cwd, out)?, out),
    };
    for dir in search.split(|&b| b == b':') {
        // An empty PATH element means the current directory, as in glibc.
        let found_here = if dir.is_empty() {
            candidate(&[file], cwd, out)?
        } else {
            candidate(&[dir, b"/", file], cwd, out)?
        };
        if found_here.is_some() {
            return found(found_here, out);
        }
    }
    Ok(None)
}

/// The program [`candidate`] found in `out`.
fn found(
    candidate: Option<(usize, FileId)>,
    out: &PathStorage,
) -> Result<Option<Program<'_>>, TooLong> {
    Ok(candidate.map(|(len, file)| Program {
        // SAFETY: `candidate` just wrote `len` bytes (and a NUL).
        path: unsafe { written(out, len) },
        file,
    }))
}

/// The path of `len` bytes just written into `out`.
///
/// # Safety
/// `..len` of `out` must be initialised.
unsafe fn written(out: &PathStorage, len: usize) -> &[u8] {
    // SAFETY: the caller's contract.
    unsafe { buf::assume_init(&out[..len]) }
}

/// The part of `out` a path may use: the NUL after it must fit within PATH_MAX bytes.
fn path_room(out: &mut PathStorage) -> &mut PathStorage {
    let room = out.len().min(PATH_MAX).saturating_sub(1);
    &mut out[..room]
}

/// Joins `parts` (made absolute against `cwd`) into `out`, NUL-terminated, and checks it is
/// executable: the length of the path and its file when it is.
fn candidate(
    parts: &[&[u8]],
    cwd: &[u8],
    out: &mut PathStorage,
) -> Result<Option<(usize, FileId)>, TooLong> {
    let mut buf = Buf::uninit(path_room(out));
    if parts.first().is_some_and(|p| !p.starts_with(b"/")) {
        buf.push(cwd);
        if !cwd.ends_with(b"/") {
            buf.byte(b'/');
        }
    }
    for part in parts {
        buf.push(part);
    }
    let Some(len) = buf.bytes().map(<[u8]>::len) else {
        return overflow(out);
    };
    out[len].write(0);
    Ok(executable(out.as_ptr().cast()).map(|file| (len, file)))
}

/// An existing regular file the caller may execute; `path` is NUL-terminated.
fn executable(path: *const c_char) -> Option<FileId> {
    let st = syscall::stat(path)?;
    (st.st_mode & libc::S_IFMT == libc::S_IFREG && syscall::may_execute(path))
        .then(|| FileId::of(&st))
}

/// The program behind an open descriptor of an executable regular file, its path written
/// into `out`.
pub fn fd_program(fd: c_int, out: &mut PathStorage) -> Result<Option<Program<'_>>, TooLong> {
    let Some(st) = syscall::fstat(fd) else {
        return Ok(None);
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o111 == 0 {
        return Ok(None);
    }
    Ok(fd_path(fd, out)?.map(|path| Program {
        path,
        file: FileId::of(&st),
    }))
}

/// The path behind a descriptor (`/proc/self/fd/N`), written into `out` (NUL-terminated
/// there, like every program path this module returns).
pub fn fd_path(fd: c_int, out: &mut PathStorage) -> Result<Option<&[u8]>, TooLong> {
    let mut link_storage = [0u8; 32];
    let mut link = Buf::new(&mut link_storage);
    link.push(b"/proc/self/fd/");
    link.num(fd as u64);
    link.byte(0);
    let Some(link) = link.bytes() else {
        return Ok(None);
    };
    let room = path_room(out);
    let room_len = room.len();
    let Ok(n) = syscall::readlink(link.as_ptr().cast(), room) else {
        return Ok(None);
    };
    // A link that filled the room may have been cut short.
    if n == room_len && out.len() < PATH_MAX {
        return Err(TooLong);
    }
    if n == 0 {
        return Ok(None);
    }
    out[n].write(0);
    // SAFETY: readlink wrote `n` bytes.
    Ok(Some(unsafe { written(out, n) }))
}

/// The working directory, written at the start of `out` (empty when it cannot be had), and
/// the rest of `out`.
pub fn cwd(out: &mut PathStorage) -> Result<(&[u8], &mut PathStorage), TooLong> {
    let room = out.len().min(PATH_MAX);
    // The kernel counts the NUL it writes.
    let len = match syscall::getcwd(&mut out[..room]) {
        Ok(len) => len,
        Err(libc::ERANGE) if room < PATH_MAX => return Err(TooLong),
        Err(_) => 0,
    };
    let (cwd, rest) = out.split_at_mut(len);
    // SAFETY: the kernel wrote the first `len` bytes.
    let cwd = unsafe { buf::assume_init(cwd) };
    // A directory outside this process's root comes back as "(unreachable)/…", which libc's
    // getcwd reports as an error.
    let cwd = match cwd.strip_suffix(b"\0") {
        Some(path) if path.starts_with(b"/") => path,
        _ => &[],
    };
    Ok((cwd, rest))
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
        program(file, path_var, cwd, out)
            .expect("PATH_MAX of room is never too little")
            .map(|found| found.path)
    }

    #[test]
    fn the_file_is_the_one_at_the_path() {
        let mut out = buf::uninit::<PATH_MAX>();
        let found = program(b"/bin/sh", None, b"/", &mut out).unwrap().unwrap();
        let meta = std::fs::metadata("/bin/sh").unwrap();
        assert_eq!(
            (found.file.device, found.file.inode),
            (meta.dev(), meta.ino())
        );
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
        let found = fd_program(file.as_raw_fd(), &mut out).unwrap().unwrap();
        assert!(found.path.ends_with(b"sh"));
        let meta = std::fs::metadata("/bin/sh").unwrap();
        assert_eq!(found.file.inode, meta.ino());
        let text = std::fs::File::open("/etc/passwd").unwrap();
        assert_eq!(fd_program(text.as_raw_fd(), &mut out), Ok(None));
        let (dir, rest) = cwd(&mut out).unwrap();
        assert_eq!(
            dir,
            std::env::current_dir()
                .unwrap()
                .as_os_str()
                .as_encoded_bytes()
        );
        assert_eq!(rest.len(), PATH_MAX - dir.len() - 1);
    }

    #[test]
    fn small_storage_asks_for_more_room() {
        let mut small = buf::uninit::<8>();
        let sh = program(b"/bin/sh", None, b"/", &mut small)
            .unwrap()
            .unwrap();
        assert_eq!(sh.path, b"/bin/sh");
        assert_eq!(
            program(b"/usr/bin/env", None, b"/", &mut small),
            Err(TooLong)
        );
        assert_eq!(cwd(&mut small).map(|(dir, _)| dir.len()), Err(TooLong));
        let mut mapping = None;
        let found = in_storage(&mut small, &mut mapping, |out| {
            let (dir, rest) = cwd(out)?;
            Ok((dir.len(), program(b"/usr/bin/env", None, dir, rest)?))
        });
        let (dir_len, env) = found.unwrap();
        assert_eq!(env.unwrap().path, b"/usr/bin/env");
        assert!(dir_len > 8);
        assert!(mapping.is_some());
    }
}
