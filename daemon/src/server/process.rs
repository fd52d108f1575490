//! Telling processes apart cheaply. Every preflight needs its caller's parent, and whether a
//! parent seen before is still the same process (pids are reused). Reading
//! `/proc/<pid>/stat` twice for that was a quarter of the daemon's CPU per preflight, on
//! the path every program start waits for. A pidfd answers both without `/proc`: the parent
//! through `PIDFD_GET_INFO` (Linux 6.13), and liveness through `pidfd_send_signal(0)` on a
//! pidfd kept from before, which can never refer to a later process with the same pid.
//! Where the kernel lacks them, `/proc/<pid>/stat` answers as before.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::procfs::proc_stat;

/// Set once `PIDFD_GET_INFO` turned out unknown to this kernel (before Linux 6.13), so that
/// later preflights go to `/proc` straight away instead of opening a pidfd for nothing.
static NO_PIDFD_INFO: AtomicBool = AtomicBool::new(false);

/// The parent of the live process `pid`.
pub fn parent_of(pid: i32) -> Option<i32> {
    if !NO_PIDFD_INFO.load(Ordering::Relaxed) {
        if let Some(info) = open_pidfd(pid).and_then(|pidfd| pidfd_info(&pidfd)) {
            if info.pid == pid as u32 {
                return Some(info.ppid as i32);
            }
        }
    }
    // The process is gone, or the kernel cannot say: /proc decides.
    proc_stat(pid).map(|(ppid, _)| ppid)
}

/// One particular process, however long ago it was seen: its pid may since name another.
#[derive(Debug)]
pub enum Identity {
    /// A pidfd opened while the process lived.
    Pidfd(OwnedFd),
    /// Its start time (clock ticks since boot), when pidfds are unavailable.
    Started(u64),
}

impl Identity {
    /// The process `pid` names now; `None` when there is none.
    pub fn of(pid: i32) -> Option<Identity> {
        match open_pidfd(pid) {
            Some(pidfd) => Some(Identity::Pidfd(pidfd)),
            None => proc_stat(pid).map(|(_, start)| Identity::Started(start)),
        }
    }

    /// Whether `pid` still names this process (it has not exited and been reaped).
    pub fn is(&self, pid: i32) -> bool {
        match self {
            // SAFETY: signal 0 only checks that the pidfd's process exists; it delivers
            // nothing. The pidfd is ours and open.
            Identity::Pidfd(pidfd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    pidfd.as_raw_fd(),
                    0,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                ) == 0
            },
            Identity::Started(start) => proc_stat(pid).is_some_and(|(_, now)| now == *start),
        }
    }

    /// Waits at most `timeout` for the process to end (exited, reaped or not); whether it did.
    pub fn wait_ended(&self, pid: i32, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        match self {
            Identity::Pidfd(pidfd) => loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let mut poll = libc::pollfd {
                    fd: pidfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: poll on one valid pollfd that lives across the call; a pidfd
                // becomes readable when its process ends.
                let ready = unsafe { libc::poll(&mut poll, 1, left.as_millis() as libc::c_int) };
                if ready > 0 {
                    return true;
                }
                let interrupted = ready < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
                if !interrupted || Instant::now() >= deadline {
                    return false;
                }
            },
            Identity::Started(_) => {
                while self.is(pid) {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                true
            }
        }
    }
}

/// A pidfd for the process `pid` names now; `None` when there is none.
pub fn open_pidfd(pid: i32) -> Option<OwnedFd> {
    if pid <= 0 {
        return None;
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor (always
    // close-on-exec) or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative result is a descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The first, stable part of the kernel's `struct pidfd_info` (linux/pidfd.h).
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    pid: u32,
    tgid: u32,
    ppid: u32,
    ruid: u32,
    rgid: u32,
    euid: u32,
    egid: u32,
    suid: u32,
    sgid: u32,
    fsuid: u32,
    fsgid: u32,
    exit_code: i32,
}

/// `_IOWR(PIDFS_IOCTL_MAGIC = 0xFF, 11, struct pidfd_info)` with the 64-byte first version.
const PIDFD_GET_INFO: libc::c_ulong =
    (3 << 30) | ((std::mem::size_of::<PidfdInfo>() as libc::c_ulong) << 16) | (0xFF << 8) | 11;
/// Ask for the pid fields (the kernel returns them anyway).
const PIDFD_INFO_PID: u64 = 1;

fn pidfd_info(pidfd: &OwnedFd) -> Option<PidfdInfo> {
    let mut info = PidfdInfo {
        mask: PIDFD_INFO_PID,
        ..PidfdInfo::default()
    };
    // SAFETY: the ioctl writes at most size_of::<PidfdInfo>() bytes (encoded in the request
    // number) into `info`, which we own.
    let done = unsafe { libc::ioctl(pidfd.as_raw_fd(), PIDFD_GET_INFO, &mut info) } == 0;
    if !done {
        let unknown = matches!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ENOTTY | libc::EINVAL)
        );
        if unknown {
            NO_PIDFD_INFO.store(true, Ordering::Relaxed);
        }
    }
    (done && info.mask & PIDFD_INFO_PID != 0).then_some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_number_is_the_kernels() {
        assert_eq!(std::mem::size_of::<PidfdInfo>(), 64);
        assert_eq!(PIDFD_GET_INFO, 0xC040_FF0B);
    }

    /// Where the kernel has pidfds (5.3) and `PIDFD_GET_INFO` (6.13), they are what answers.
    #[test]
    fn pidfds_answer_where_the_kernel_has_them() {
        let own = std::process::id() as i32;
        let Some(pidfd) = open_pidfd(own) else {
            return;
        };
        assert!(matches!(Identity::of(own), Some(Identity::Pidfd(_))));
        if kernel_at_least(6, 13) {
            let info = pidfd_info(&pidfd).expect("PIDFD_GET_INFO on Linux 6.13 or later");
            assert_eq!(info.pid as i32, own);
            assert_eq!(info.ppid, std::os::unix::process::parent_id());
        }
    }

    fn kernel_at_least(major: u32, minor: u32) -> bool {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut numbers = release
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0));
        (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0)) >= (major, minor)
    }

    #[test]
    fn our_parent_is_known() {
        let parent = std::os::unix::process::parent_id() as i32;
        assert_eq!(parent_of(std::process::id() as i32), Some(parent));
        assert_eq!(parent_of(i32::MAX), None);
    }

    #[test]
    fn an_identity_ends_with_its_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        // Both kinds: the pidfd (where the kernel has them) and the /proc fallback.
        let identities = [
            Identity::of(pid).unwrap(),
            Identity::Started(proc_stat(pid).unwrap().1),
        ];
        assert!(identities.iter().all(|identity| identity.is(pid)));
        // Another process (pid 1 started long before; this test process may have started
        // in the same clock tick as the child, which a start time cannot tell apart).
        assert!(!identities[1].is(1));
        assert_eq!(parent_of(pid), Some(std::process::id() as i32));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(identities.iter().all(|identity| !identity.is(pid)));
    }
}
