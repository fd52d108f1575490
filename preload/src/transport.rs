//! Reaching the daemon: `connect()` to the stream socket, or, where `connect()` is forbidden
//! (Codex's sandbox answers EPERM for every family), the door: a fresh `socketpair` whose far
//! end travels to the daemon as `SCM_RIGHTS` on an unconnected datagram socket. Either way the
//! result is a stream that speaks HTTP/1.1. Every step is bounded by a deadline.

use core::ffi::c_int;
use core::mem::{self, MaybeUninit};

use core::cell::Cell;

use crate::sys::{now_ms, sleep_ms};
use crate::syscall::{self, SysResult};

/// The time limit of one exchange. It starts at its first use: what comes before (socket,
/// a Unix connect, a send) does not block, and an exchange then reads the clock once, not
/// twice (a system call each: see `syscall::monotonic`).
pub struct Deadline {
    timeout_ms: i64,
    /// When it ends, on the monotonic clock; 0 until first used.
    end: Cell<i64>,
}

impl Deadline {
    pub fn after(timeout_ms: i64) -> Deadline {
        Deadline {
            timeout_ms,
            end: Cell::new(0),
        }
    }

    /// A deadline `ms` from now, or this one when it comes first.
    pub fn sooner(&self, ms: i64) -> Deadline {
        Deadline::after(self.left_ms().min(ms))
    }

    pub fn passed(&self) -> bool {
        self.left_ms() <= 0
    }

    /// Milliseconds left (0 or less once it passed).
    fn left_ms(&self) -> i64 {
        let now = now_ms();
        if self.end.get() == 0 {
            self.end.set(now + self.timeout_ms);
        }
        self.end.get() - now
    }
}

/// An open stream to the daemon, closed on drop.
pub struct Conn {
    fd: c_int,
}

/// Why a read or write stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum IoEnd {
    Timeout,
    Closed,
}

impl Conn {
    /// Connects through the socket, falling back to the door.
    pub fn open(socket: &[u8], door: &[u8], deadline: &Deadline) -> Option<Conn> {
        connect_stream(socket, deadline).or_else(|| through_door(door, deadline))
    }

    /// Writes all of `head` then `body`, both in one `sendmsg` when the socket takes them
    /// (one system call and one wakeup of the daemon instead of two).
    pub fn write_all(&self, head: &[u8], body: &[u8], deadline: &Deadline) -> Result<(), IoEnd> {
        let (mut head, mut body) = (head, body);
        while !head.is_empty() || !body.is_empty() {
            match send(self.fd, head, body) {
                Ok(n) if n > 0 => {
                    let from_head = n.min(head.len());
                    head = &head[from_head..];
                    body = &body[n - from_head..];
                }
                Err(err) if retryable(err) => self.wait(libc::POLLOUT, deadline)?,
                _ => return Err(IoEnd::Closed),
            }
        }
        Ok(())
    }

    /// Reads some bytes into `buf`: `Ok(0)` only at end of stream. The first `n` bytes of
    /// `buf` are initialised when this returns `Ok(n)`.
    pub fn read(&self, buf: &mut [MaybeUninit<u8>], deadline: &Deadline) -> Result<usize, IoEnd> {
        loop {
            match syscall::read(self.fd, buf) {
                Ok(n) => return Ok(n),
                Err(err) if retryable(err) => self.wait(libc::POLLIN, deadline)?,
                Err(_) => return Err(IoEnd::Closed),
            }
        }
    }

    /// Waits until a read would not block (data, end of stream or an error).
    pub fn wait_readable(&self, deadline: &Deadline) -> Result<(), IoEnd> {
        self.wait(libc::POLLIN, deadline)
    }

    fn wait(&self, events: i16, deadline: &Deadline) -> Result<(), IoEnd> {
        loop {
            let left = deadline.left_ms();
            if left <= 0 {
                return Err(IoEnd::Timeout);
            }
            match syscall::poll(self.fd, events, left.min(i32::MAX as i64) as c_int) {
                Ok(n) if n > 0 => return Ok(()),
                Ok(_) | Err(libc::EINTR) => {}
                Err(_) => return Err(IoEnd::Closed),
            }
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        syscall::close(self.fd);
    }
}

/// One `sendmsg` of `first` then `second`. Not `send`: Codex's seccomp filter refuses `sendto` (which `send`
/// is) but allows `sendmsg`; MSG_NOSIGNAL turns a closed peer into EPIPE instead of killing the
/// calling program with SIGPIPE, which a plain `write` would do.
fn send(fd: c_int, first: &[u8], second: &[u8]) -> SysResult {
    let mut iov = [first, second].map(|data| libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    });
    // SAFETY: msghdr is plain data; the iovecs point at `first` and `second`, which outlive
    // the call (sendmsg only reads them).
    unsafe {
        let mut msg: libc::msghdr = mem::zeroed();
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len();
        syscall::sendmsg(fd, &msg, libc::MSG_NOSIGNAL)
    }
}

fn retryable(err: c_int) -> bool {
    err == libc::EAGAIN || err == libc::EINTR
}

/// `sockaddr_un` for `path`, or `None` when it does not fit.
fn address(path: &[u8]) -> Option<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: sockaddr_un is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { mem::zeroed() };
    if path.is_empty() || path.len() >= addr.sun_path.len() || path.contains(&0) {
        return None;
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, &src) in addr.sun_path.iter_mut().zip(path) {
        *dst = src as libc::c_char;
    }
    let len = mem::size_of::<libc::sa_family_t>() + path.len() + 1;
    Some((addr, len as libc::socklen_t))
}

fn unix_socket(kind: c_int) -> Option<c_int> {
    let fd = syscall::socket(kind | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK).ok()?;
    Some(fd as c_int)
}

fn connect_stream(path: &[u8], deadline: &Deadline) -> Option<Conn> {
    let (addr, len) = address(path)?;
    let conn = Conn {
        fd: unix_socket(libc::SOCK_STREAM)?,
    };
    loop {
        match syscall::connect(conn.fd, &addr, len) {
            Ok(_) => return Some(conn),
            Err(libc::EINTR) => continue,
            // A Unix stream socket answers EAGAIN while its backlog is full: retry briefly.
            Err(libc::EAGAIN) if deadline.left_ms() > 0 => sleep_ms(1),
            Err(libc::EINPROGRESS) => return conn.wait(libc::POLLOUT, deadline).ok().map(|_| conn),
            Err(_) => return None,
        }
    }
}

fn through_door(path: &[u8], deadline: &Deadline) -> Option<Conn> {
    let (addr, len) = address(path)?;
    let mut pair = [0 as c_int; 2];
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
    syscall::socketpair(kind, &mut pair).ok()?;
    let ours = Conn { fd: pair[0] };
    let theirs = Conn { fd: pair[1] };
    let door = Conn {
        fd: unix_socket(libc::SOCK_DGRAM)?,
    };
    send_fd(&door, &addr, len, theirs.fd, deadline).then_some(ours)
}

/// Sends `fd` as SCM_RIGHTS in a one-byte datagram to the door at `addr`.
fn send_fd(
    door: &Conn,
    addr: &libc::sockaddr_un,
    len: libc::socklen_t,
    fd: c_int,
    deadline: &Deadline,
) -> bool {
    let mut payload = *b"W";
    let mut iov = libc::iovec {
        iov_base: payload.as_mut_ptr().cast(),
        iov_len: payload.len(),
    };
    // u64 storage keeps the control buffer aligned for cmsghdr.
    let mut control = [0u64; 4];
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(mem::size_of::<c_int>() as u32) } as usize;
    // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (addr as *const libc::sockaddr_un).cast_mut().cast();
    msg.msg_namelen = len;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: the control buffer holds CMSG_SPACE(sizeof(int)) bytes, enough for one header
    // and one descriptor.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<c_int>() as u32) as usize;
        libc::CMSG_DATA(cmsg).cast::<c_int>().write_unaligned(fd);
    }
    loop {
        // SAFETY: `msg` is fully initialised above.
        match unsafe { syscall::sendmsg(door.fd, &msg, libc::MSG_NOSIGNAL) } {
            Ok(_) => return true,
            Err(libc::EINTR) => continue,
            Err(libc::EAGAIN) if door.wait(libc::POLLOUT, deadline).is_ok() => continue,
            Err(_) => return false,
        }
    }
}
