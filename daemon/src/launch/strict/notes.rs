//! What the daemon tells the supervisor: each start it allows in the session after a hook
//! asked about it (server/decided.rs), in a datagram to this socket, sent before the hook's
//! answer leaves, so that it is here by the time the exec stops. A start the daemon told of is
//! not asked about again: no second question, no second audit record, no round trip.
//!
//! The socket has an abstract name (no file), registered with the session. Any process of
//! the same user could send to it, so a note counts only when the kernel-attached credentials
//! (`SO_PASSCRED`) name the daemon's process, learned from the daemon's socket
//! (`SO_PEERCRED`); no unprivileged process can claim another's pid there. A note that never
//! arrives (a full queue, a restarted daemon) only means the supervisor asks.

use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::server::access::{Channel, Peer};
use crate::starts::{Exec, Start};
use crate::wire::Bytes;

/// How long a note waits for its exec stop (it comes at once, or the exec failed).
const LIFETIME: Duration = Duration::from_secs(10);
/// Most notes held at once.
const CAPACITY: usize = 1024;
/// Largest note read (an argv larger than a datagram is never sent: the daemon remembers it).
const NOTE_MAX: usize = 1 << 20;

pub struct Notes {
    socket: UnixDatagram,
    name: String,
    /// The daemon's socket, and the pid of the daemon answering there.
    daemon_socket: PathBuf,
    daemon: Option<i32>,
    heard: VecDeque<(Start, Instant)>,
    buffer: Vec<u8>,
}

impl Notes {
    /// A socket of a fresh random abstract name, for the daemon at `daemon_socket`.
    pub fn open(daemon_socket: PathBuf) -> anyhow::Result<Notes> {
        let name = format!("warden-strict-{}-{:016x}", std::process::id(), random());
        let address = SocketAddr::from_abstract_name(name.as_bytes())
            .context("cannot name the supervisor's socket")?;
        let socket = UnixDatagram::bind_addr(&address)
            .with_context(|| format!("cannot bind the supervisor's socket @{name}"))?;
        socket
            .set_nonblocking(true)
            .context("cannot make the supervisor's socket non-blocking")?;
        let on: libc::c_int = 1;
        // SAFETY: setsockopt reads an int from a local for the socket we own.
        let set = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PASSCRED,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if set != 0 {
            return Err(std::io::Error::last_os_error())
                .context("cannot ask for senders' credentials on the supervisor's socket");
        }
        Ok(Notes {
            socket,
            name,
            daemon_socket,
            daemon: None,
            heard: VecDeque::new(),
            buffer: vec![0; NOTE_MAX],
        })
    }

    /// The abstract name the daemon sends to.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the daemon told of exactly this start: tracee `pid`, stopped after its exec,
    /// running `argv`. The note is spent.
    pub fn confirm(&mut self, pid: i32, argv: &[Bytes]) -> bool {
        self.drain();
        if self.heard.is_empty() {
            return false;
        }
        let Some(exec) = Exec::of(pid, argv) else {
            return false;
        };
        let now = Instant::now();
        self.heard.retain(|(_, expires)| *expires > now);
        let found = self.heard.iter().position(|(start, _)| exec.is(start));
        found.and_then(|index| self.heard.remove(index)).is_some()
    }

    /// Holds `start` as if the daemon had told of it: a start this process judged itself.
    pub fn expect(&mut self, start: Start) {
        self.heard.push_back((start, Instant::now() + LIFETIME));
    }

    /// Takes every note waiting on the socket.
    fn drain(&mut self) {
        while let Some((sender, len)) = self.receive() {
            if !self.is_daemon(sender) {
                continue;
            }
            let Ok(start) = serde_json::from_slice::<Start>(&self.buffer[..len]) else {
                continue;
            };
            if self.heard.len() >= CAPACITY {
                self.heard.pop_front();
            }
            self.heard.push_back((start, Instant::now() + LIFETIME));
        }
    }

    /// One datagram into the buffer: its sender's pid and its length; `None` when none waits.
    fn receive(&mut self) -> Option<(i32, usize)> {
        let mut iov = libc::iovec {
            iov_base: self.buffer.as_mut_ptr().cast(),
            iov_len: self.buffer.len(),
        };
        // Room for one SCM_CREDENTIALS message, aligned for cmsghdr.
        let mut control = [0u64; 8];
        // SAFETY: msghdr is plain data; the pointers set below stay valid for the call.
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_iov = &mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: recvmsg writes at most iov_len bytes into the buffer and msg_controllen
        // into `control`, both ours; MSG_DONTWAIT never blocks.
        let len =
            unsafe { libc::recvmsg(self.socket.as_raw_fd(), &mut message, libc::MSG_DONTWAIT) };
        if len < 0 {
            return None;
        }
        let truncated = message.msg_flags & libc::MSG_TRUNC != 0;
        // SAFETY: the control buffer was filled by recvmsg; CMSG_* walk within its length.
        let sender = unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&message);
            let mut sender = None;
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET
                    && (*cmsg).cmsg_type == libc::SCM_CREDENTIALS
                {
                    let cred =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::ucred);
                    sender = Some(cred.pid);
                }
                cmsg = libc::CMSG_NXTHDR(&message, cmsg);
            }
            sender
        };
        // A datagram without credentials or cut short counts as nobody's.
        Some((sender.filter(|_| !truncated).unwrap_or(0), len as usize))
    }

    /// Whether `pid` is the daemon's process: the one that answered on the daemon's socket,
    /// looked up again when another pid sends (the daemon may have been restarted).
    fn is_daemon(&mut self, pid: i32) -> bool {
        if pid <= 0 {
            return false;
        }
        if self.daemon != Some(pid) {
            self.daemon = daemon_pid(&self.daemon_socket);
        }
        self.daemon == Some(pid)
    }
}

/// The pid of the process answering on `socket` (`SO_PEERCRED`).
fn daemon_pid(socket: &PathBuf) -> Option<i32> {
    let stream = UnixStream::connect(socket).ok()?;
    Peer::of(&stream, Channel::Socket).pid
}

/// 64 bits from the kernel's random source, so the socket's name cannot be guessed ahead.
fn random() -> u64 {
    let mut raw = [0u8; 8];
    // SAFETY: getrandom writes at most raw.len() bytes into the buffer we own.
    let filled = unsafe { libc::getrandom(raw.as_mut_ptr().cast(), raw.len(), 0) };
    if filled == raw.len() as isize {
        u64::from_ne_bytes(raw)
    } else {
        // getrandom cannot fail on supported kernels; the name is not what protects notes.
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::starts::{FileId, Runner};

    /// Notes for a "daemon" socket this test process itself listens on.
    fn notes(name: &str) -> (Notes, std::os::unix::net::UnixListener, PathBuf) {
        let path = std::env::temp_dir().join(format!("warden-notes-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        (Notes::open(path.clone()).unwrap(), listener, path)
    }

    fn this_start() -> Start {
        let own = std::process::id() as i32;
        Start {
            runner: Runner::Process(own),
            file: FileId::running(own).unwrap(),
            argv: std::env::args().map(|a| Bytes::from(a.as_str())).collect(),
        }
    }

    fn send(notes: &Notes, start: &Start) {
        let address = SocketAddr::from_abstract_name(notes.name().as_bytes()).unwrap();
        let sender = UnixDatagram::unbound().unwrap();
        sender
            .send_to_addr(&serde_json::to_vec(start).unwrap(), &address)
            .unwrap();
    }

    #[test]
    fn a_note_from_the_daemon_spares_exactly_its_start_once() {
        let (mut notes, _daemon, path) = notes("daemon");
        let start = this_start();
        let own = std::process::id() as i32;
        assert!(!notes.confirm(own, &start.argv), "nothing told yet");
        send(&notes, &start);
        let other: Vec<Bytes> = start
            .argv
            .iter()
            .cloned()
            .chain([Bytes::from("x")])
            .collect();
        assert!(!notes.confirm(own, &other));
        assert!(notes.confirm(own, &start.argv));
        assert!(!notes.confirm(own, &start.argv), "spent");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_note_from_any_other_process_counts_for_nothing() {
        let (mut notes, _daemon, path) = notes("forged");
        let start = this_start();
        let note = serde_json::to_vec(&start).unwrap();
        let address = SocketAddr::from_abstract_name(notes.name().as_bytes()).unwrap();
        let sender = UnixDatagram::unbound().unwrap();
        // SAFETY: the child only sends a datagram (prepared above) and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let sent = sender.send_to_addr(&note, &address).is_ok();
            // SAFETY: _exit in the forked child.
            unsafe { libc::_exit(i32::from(!sent)) };
        }
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(libc::WEXITSTATUS(status), 0, "the child sent its note");
        assert!(!notes.confirm(std::process::id() as i32, &start.argv));
        let _ = std::fs::remove_file(path);
    }
}
