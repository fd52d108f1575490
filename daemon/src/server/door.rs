//! The datagram door. Inside Codex's sandbox `connect()` is forbidden, but `sendmsg()` to a
//! named datagram socket works: a client sends one end of a fresh socketpair as
//! `SCM_RIGHTS` and speaks HTTP/1.1 over its own end. Each received end is served like an
//! accepted connection, limited to the agent-side endpoints.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::time::Duration;

use super::access::{Channel, Peer};
use super::listener::{prepare, restrict};
use super::{io_error, ServeError};

/// Descriptors accepted per datagram: one is valid, the room for more lets us close extras.
const MAX_FDS: usize = 8;

pub fn bind(path: &Path) -> Result<UnixDatagram, ServeError> {
    prepare(path)?;
    let door = UnixDatagram::bind(path).map_err(io_error("cannot open the door", path))?;
    restrict(path)?;
    Ok(door)
}

/// The next connection handed over through the door and its peer, blocking; `None` for a
/// datagram that did not carry exactly one stream socket (its descriptors are closed).
pub fn next_connection(door: &UnixDatagram) -> Option<(UnixStream, Peer)> {
    let mut fds = match receive_fds(door.as_raw_fd()) {
        Ok(fds) => fds,
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return None,
        Err(e) => {
            eprintln!("warden serve: door receive failed: {e}");
            std::thread::sleep(Duration::from_millis(50));
            return None;
        }
    };
    // Exactly one descriptor per datagram; anything else is closed (by drop).
    if fds.len() != 1 {
        return None;
    }
    let fd = fds.remove(0);
    if !is_stream_socket(&fd) {
        return None;
    }
    let stream = UnixStream::from(fd);
    // The socketpair carries the credentials of the process that created it.
    let peer = Peer::of(&stream, Channel::Door);
    Some((stream, peer))
}

/// One blocking `recvmsg` on the door: the descriptors it carried (the payload is ignored).
fn receive_fds(door: RawFd) -> std::io::Result<Vec<OwnedFd>> {
    let mut payload = [0u8; 64];
    let mut iov = libc::iovec {
        iov_base: payload.as_mut_ptr().cast(),
        iov_len: payload.len(),
    };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 64];
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE((MAX_FDS * std::mem::size_of::<RawFd>()) as u32) };
    let control_len = (space as usize).min(std::mem::size_of_val(&control));
    // SAFETY: msghdr is plain data; zeroed is a valid empty header.
    let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
    header.msg_iov = &mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.as_mut_ptr().cast();
    header.msg_controllen = control_len as _;
    // SAFETY: header points at buffers that live for the whole call; MSG_CMSG_CLOEXEC keeps
    // received descriptors from leaking into anything we might spawn.
    let received = unsafe { libc::recvmsg(door, &mut header, libc::MSG_CMSG_CLOEXEC) };
    if received < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut fds = Vec::new();
    // SAFETY: the CMSG_* macros walk the control buffer the kernel just filled, bounded by
    // msg_controllen; each SCM_RIGHTS payload is an array of descriptors now owned by us.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&header);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                let bytes = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(data.add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&header, cmsg);
        }
    }
    Ok(fds)
}

fn is_stream_socket(fd: &OwnedFd) -> bool {
    let option = |name| {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes one c_int into a local we own.
        let ok = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        } == 0;
        ok.then_some(value)
    };
    option(libc::SO_DOMAIN) == Some(libc::AF_UNIX)
        && option(libc::SO_TYPE) == Some(libc::SOCK_STREAM)
}
