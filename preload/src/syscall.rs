//! The system calls of the hook path, made directly instead of through libc's wrappers.
//!
//! Why: in a fork child every page of libc's code that the hook runs is a page fault of its
//! own (a fork copies no page tables for file mappings), and every libc function the library
//! imports is a symbol the loader binds in every process that loads it. A direct call also
//! leaves the caller's `errno` alone: errors come back as `Err(errno)`.
//!
//! On x86_64 and aarch64 the call is one instruction; elsewhere libc's `syscall` stands in.

use core::ffi::{c_char, c_int, c_long};
use core::mem::MaybeUninit;

/// `Ok(return value)` or `Err(errno)`.
pub type SysResult = Result<usize, c_int>;

/// Issues system call `nr` with six arguments (unused ones are ignored by the kernel).
///
/// # Safety
/// The arguments must be what system call `nr` expects; pointers must be valid for it.
#[cfg(target_arch = "x86_64")]
unsafe fn raw(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the kernel's x86_64 convention: number in rax, arguments in rdi, rsi, rdx, r10,
    // r8, r9; it clobbers rcx and r11 and leaves the stack alone.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// # Safety
/// As above.
#[cfg(target_arch = "aarch64")]
unsafe fn raw(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the kernel's aarch64 convention: number in x8, arguments in x0..x5, result in
    // x0; nothing else is clobbered.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") args[0] as isize => ret,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x5") args[5],
            options(nostack),
        );
    }
    ret
}

/// # Safety
/// As above.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn raw(nr: c_long, args: [usize; 6]) -> isize {
    // SAFETY: passed on from the caller; libc reports failure as -1 with errno.
    let ret = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
    if ret == -1 {
        -(crate::sys::errno() as isize)
    } else {
        ret as isize
    }
}

/// # Safety
/// As [`raw`].
unsafe fn call(nr: c_long, args: [usize; 6]) -> SysResult {
    // SAFETY: passed on from the caller.
    let ret = unsafe { raw(nr, args) };
    // The kernel returns -errno (-4095..=-1) on failure.
    if (-4095..0).contains(&ret) {
        Err(-ret as c_int)
    } else {
        Ok(ret as usize)
    }
}

/// Retries a call that a signal interrupted.
fn again(mut f: impl FnMut() -> SysResult) -> SysResult {
    loop {
        match f() {
            Err(libc::EINTR) => {}
            result => return result,
        }
    }
}

pub fn getpid() -> libc::pid_t {
    // SAFETY: no arguments; getpid cannot fail.
    unsafe { raw(libc::SYS_getpid, [0; 6]) as libc::pid_t }
}

pub fn getppid() -> libc::pid_t {
    // SAFETY: no arguments; getppid cannot fail.
    unsafe { raw(libc::SYS_getppid, [0; 6]) as libc::pid_t }
}

/// `open(path, flags)`; `path` is NUL-terminated.
pub fn open(path: *const c_char, flags: c_int) -> SysResult {
    // SAFETY: a NUL-terminated path; no file is created, so no mode is needed.
    again(|| unsafe {
        call(
            libc::SYS_openat,
            [
                libc::AT_FDCWD as usize,
                path as usize,
                flags as usize,
                0,
                0,
                0,
            ],
        )
    })
}

pub fn read(fd: c_int, buf: &mut [MaybeUninit<u8>]) -> SysResult {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    unsafe {
        call(
            libc::SYS_read,
            [fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
        )
    }
}

pub fn write(fd: c_int, data: &[u8]) -> SysResult {
    // SAFETY: the kernel reads `data.len()` bytes of `data`.
    unsafe {
        call(
            libc::SYS_write,
            [fd as usize, data.as_ptr() as usize, data.len(), 0, 0, 0],
        )
    }
}

pub fn close(fd: c_int) {
    // SAFETY: closes a descriptor the caller owns; Linux frees it even when this fails.
    let _ = unsafe { call(libc::SYS_close, [fd as usize, 0, 0, 0, 0, 0]) };
}

/// `stat(path)`, following symbolic links; `path` is NUL-terminated.
pub fn stat(path: *const c_char) -> Option<libc::stat> {
    fstatat(libc::AT_FDCWD, path, 0)
}

/// `fstat(fd)`.
pub fn fstat(fd: c_int) -> Option<libc::stat> {
    fstatat(fd, c"".as_ptr(), libc::AT_EMPTY_PATH)
}

fn fstatat(fd: c_int, path: *const c_char, flags: c_int) -> Option<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is a valid out-pointer for the kernel's `struct stat`, which is
    // `libc::stat` on Linux; the kernel fills all of it on success.
    unsafe {
        call(
            libc::SYS_newfstatat,
            [
                fd as usize,
                path as usize,
                st.as_mut_ptr() as usize,
                flags as usize,
                0,
                0,
            ],
        )
        .ok()
        .map(|_| st.assume_init())
    }
}

/// Whether the real user may execute `path` (NUL-terminated), as `access(path, X_OK)`.
pub fn may_execute(path: *const c_char) -> bool {
    // SAFETY: a NUL-terminated path.
    unsafe {
        call(
            libc::SYS_faccessat,
            [
                libc::AT_FDCWD as usize,
                path as usize,
                libc::X_OK as usize,
                0,
                0,
                0,
            ],
        )
    }
    .is_ok()
}

/// `readlink(path)` into `out`: the length written (no NUL is added).
pub fn readlink(path: *const c_char, out: &mut [MaybeUninit<u8>]) -> SysResult {
    // SAFETY: a NUL-terminated path; the kernel writes at most `out.len()` bytes.
    unsafe {
        call(
            libc::SYS_readlinkat,
            [
                libc::AT_FDCWD as usize,
                path as usize,
                out.as_mut_ptr() as usize,
                out.len(),
                0,
                0,
            ],
        )
    }
}

/// The working directory into `out`: its length including the NUL the kernel writes.
pub fn getcwd(out: &mut [MaybeUninit<u8>]) -> SysResult {
    // SAFETY: the kernel writes at most `out.len()` bytes.
    unsafe {
        call(
            libc::SYS_getcwd,
            [out.as_mut_ptr() as usize, out.len(), 0, 0, 0, 0],
        )
    }
}

pub fn socket(kind: c_int) -> SysResult {
    // SAFETY: plain socket(2).
    unsafe {
        call(
            libc::SYS_socket,
            [libc::AF_UNIX as usize, kind as usize, 0, 0, 0, 0],
        )
    }
}

pub fn socketpair(kind: c_int, pair: &mut [c_int; 2]) -> SysResult {
    // SAFETY: the kernel writes two descriptors into `pair`.
    unsafe {
        call(
            libc::SYS_socketpair,
            [
                libc::AF_UNIX as usize,
                kind as usize,
                0,
                pair.as_mut_ptr() as usize,
                0,
                0,
            ],
        )
    }
}

pub fn connect(fd: c_int, addr: &libc::sockaddr_un, len: libc::socklen_t) -> SysResult {
    // SAFETY: `addr` is valid for `len` bytes.
    unsafe {
        call(
            libc::SYS_connect,
            [
                fd as usize,
                addr as *const libc::sockaddr_un as usize,
                len as usize,
                0,
                0,
                0,
            ],
        )
    }
}

/// `sendmsg(fd, msg, flags)`.
///
/// # Safety
/// Every pointer in `msg` must be valid for the call.
pub unsafe fn sendmsg(fd: c_int, msg: &libc::msghdr, flags: c_int) -> SysResult {
    // SAFETY: passed on from the caller.
    unsafe {
        call(
            libc::SYS_sendmsg,
            [
                fd as usize,
                msg as *const libc::msghdr as usize,
                flags as usize,
                0,
                0,
                0,
            ],
        )
    }
}

/// Waits up to `timeout_ms` for `events` on `fd`: the number of ready descriptors (0 or 1).
pub fn poll(fd: c_int, events: i16, timeout_ms: c_int) -> SysResult {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd; aarch64 has only ppoll, which takes a timespec.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        let ret = call(
            libc::SYS_poll,
            [&mut pfd as *mut _ as usize, 1, timeout_ms as usize, 0, 0, 0],
        );
        #[cfg(not(target_arch = "x86_64"))]
        let ret = {
            let ts = libc::timespec {
                tv_sec: (timeout_ms / 1000).into(),
                tv_nsec: ((timeout_ms % 1000) * 1_000_000).into(),
            };
            call(
                libc::SYS_ppoll,
                [
                    &mut pfd as *mut _ as usize,
                    1,
                    &ts as *const _ as usize,
                    0,
                    0,
                    0,
                ],
            )
        };
        ret
    }
}

/// The monotonic clock. A system call, not the vDSO: the vDSO's code and data are two more
/// page faults in a fork child, more than the system call costs.
pub fn monotonic() -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    let _ = unsafe {
        call(
            libc::SYS_clock_gettime,
            [
                libc::CLOCK_MONOTONIC as usize,
                &mut ts as *mut _ as usize,
                0,
                0,
                0,
                0,
            ],
        )
    };
    ts
}

pub fn nanosleep(ts: &libc::timespec) {
    // SAFETY: a valid timespec; an early wake-up is harmless.
    let _ = unsafe {
        call(
            libc::SYS_nanosleep,
            [ts as *const _ as usize, 0, 0, 0, 0, 0],
        )
    };
}

/// `execveat(2)`, for a glibc without its wrapper (before 2.34); returns only on failure.
///
/// # Safety
/// As `execveat(2)`: valid C strings and NULL-terminated arrays.
pub unsafe fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: c_int,
) -> SysResult {
    // SAFETY: passed on from the caller.
    unsafe {
        call(
            libc::SYS_execveat,
            [
                dirfd as usize,
                path as usize,
                argv as usize,
                envp as usize,
                flags as usize,
                0,
            ],
        )
    }
}

/// Ends the process at once (`_exit`).
pub fn exit(status: c_int) -> ! {
    loop {
        // SAFETY: exit_group takes a status and does not return.
        unsafe { raw(libc::SYS_exit_group, [status as usize, 0, 0, 0, 0, 0]) };
    }
}

/// A private anonymous read-write mapping of `len` bytes.
pub fn map(len: usize) -> Option<*mut u8> {
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as usize;
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as usize;
    // SAFETY: a fresh anonymous mapping aliases nothing.
    unsafe { call(libc::SYS_mmap, [0, len, prot, flags, usize::MAX, 0]) }
        .ok()
        .map(|addr| addr as *mut u8)
}

/// # Safety
/// `addr..addr + len` must be a mapping from [`map`] that nothing uses any more.
pub unsafe fn unmap(addr: *mut u8, len: usize) {
    // SAFETY: passed on from the caller.
    let _ = unsafe { call(libc::SYS_munmap, [addr as usize, len, 0, 0, 0, 0]) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_and_errors() {
        assert_eq!(getpid(), std::process::id() as i32);
        assert_eq!(getppid(), std::os::unix::process::parent_id() as i32);
        assert_eq!(
            open(c"/nonexistent/x".as_ptr(), libc::O_RDONLY),
            Err(libc::ENOENT)
        );
        let fd = open(c"/proc/self/cmdline".as_ptr(), libc::O_RDONLY).unwrap() as c_int;
        let mut buf = [MaybeUninit::uninit(); 64];
        assert!(read(fd, &mut buf).unwrap() > 0);
        close(fd);
        assert_eq!(read(fd, &mut buf), Err(libc::EBADF));
        assert!(stat(c"/bin/sh".as_ptr()).is_some());
        let sh = open(c"/bin/sh".as_ptr(), libc::O_RDONLY).unwrap() as c_int;
        let st = fstat(sh).unwrap();
        assert_eq!(st.st_mode & libc::S_IFMT, libc::S_IFREG);
        close(sh);
        assert!(may_execute(c"/bin/sh".as_ptr()));
        assert!(!may_execute(c"/etc/passwd".as_ptr()));
        let n = getcwd(&mut buf).unwrap();
        let cwd = std::env::current_dir().unwrap();
        let got = unsafe { crate::buf::assume_init(&buf[..n - 1]) };
        assert_eq!(got, cwd.as_os_str().as_encoded_bytes());
        let before = monotonic();
        nanosleep(&libc::timespec {
            tv_sec: 0,
            tv_nsec: 1_000_000,
        });
        let after = monotonic();
        assert!((after.tv_sec, after.tv_nsec) > (before.tv_sec, before.tv_nsec));
    }

    #[test]
    fn errno_is_left_alone() {
        crate::sys::set_errno(1234);
        assert!(stat(c"/nonexistent".as_ptr()).is_none());
        assert_eq!(crate::sys::errno(), 1234);
    }
}
