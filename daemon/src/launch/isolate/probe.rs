//! Whether this machine lets an unprivileged process build the session's namespaces, and if
//! not, which cause blocks it. The answer comes from trying (the kernel, a seccomp filter or
//! a security module may each refuse), and a refusal is then explained one cause at a time,
//! as bubblewrap does: a sysctl that turns the feature off, a limit of zero, Ubuntu's
//! AppArmor restriction, else the refusal itself (a container's seccomp filter, typically).

use std::io;

/// Why the session cannot have namespaces of its own here.
#[derive(Debug)]
pub enum Blocked {
    /// A sysctl turns unprivileged user namespaces off.
    Switch(Switch),
    /// The kernel or a filter refused a step (what a container's seccomp profile does).
    Refused {
        step: &'static str,
        error: io::Error,
    },
    /// The kernel lacks a system call the session's mounts need (`mount_setattr`, 5.12).
    OldKernel,
}

/// The sysctls that block user namespaces, in the order they are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// Debian's and older Ubuntu's `kernel.unprivileged_userns_clone = 0`.
    UnprivilegedClone,
    /// `user.max_user_namespaces = 0`.
    MaxUserNamespaces,
    /// Ubuntu's `kernel.apparmor_restrict_unprivileged_userns = 1`: the namespace is made,
    /// but without the capabilities to mount anything in it.
    AppArmor,
}

impl Switch {
    const ALL: [Switch; 3] = [
        Switch::UnprivilegedClone,
        Switch::MaxUserNamespaces,
        Switch::AppArmor,
    ];

    /// The sysctl's name and the value that blocks.
    fn sysctl(self) -> (&'static str, &'static str) {
        match self {
            Switch::UnprivilegedClone => ("kernel.unprivileged_userns_clone", "0"),
            Switch::MaxUserNamespaces => ("user.max_user_namespaces", "0"),
            Switch::AppArmor => ("kernel.apparmor_restrict_unprivileged_userns", "1"),
        }
    }

    fn is_set(self) -> bool {
        let (name, blocking) = self.sysctl();
        let file = format!("/proc/sys/{}", name.replace('.', "/"));
        std::fs::read_to_string(file).is_ok_and(|value| value.trim() == blocking)
    }
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocked::Switch(switch) => {
                let (name, value) = switch.sysctl();
                let what = match switch {
                    Switch::UnprivilegedClone => "unprivileged user namespaces are switched off",
                    Switch::MaxUserNamespaces => "user namespaces are not allowed",
                    Switch::AppArmor => "AppArmor restricts unprivileged user namespaces",
                };
                write!(f, "{what} ({name} = {value})")
            }
            Blocked::OldKernel => f.write_str(
                "the kernel has no mount_setattr (Linux 5.12), which the session's read-only \
                 mounts need",
            ),
            Blocked::Refused { step, error } => {
                write!(
                    f,
                    "{step} was refused ({error}; a container or a seccomp filter?)"
                )
            }
        }
    }
}

/// `Ok` when a trial child could create the session's namespaces and mount a `/proc` for
/// them; else the first cause that explains why not.
pub fn check() -> Result<(), Blocked> {
    if !has_mount_setattr() {
        return Err(Blocked::OldKernel);
    }
    trial().map_err(|refused| {
        Switch::ALL
            .into_iter()
            .find(|switch| switch.is_set())
            .map_or(refused, Blocked::Switch)
    })
}

/// Whether the kernel knows `mount_setattr`: called with a descriptor that cannot be valid,
/// it fails with EBADF, or with ENOSYS where it does not exist (or a filter hides it).
fn has_mount_setattr() -> bool {
    // SAFETY: mount_setattr with an invalid descriptor and no attribute struct changes
    // nothing; only its error is looked at.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            c"".as_ptr(),
            0,
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS)
}

/// The steps of the trial, as the exit status of the trial child reports them.
const STEPS: [&str; 4] = [
    "creating a user, pid and mount namespace",
    "starting a process in the new pid namespace",
    "mounting /proc in the new namespaces",
    "waiting for the trial process",
];

/// Forks a child that creates the namespaces (`unshare`, in a single-threaded child) and
/// forks again into the new pid namespace, where the grandchild mounts a `/proc`. Its own
/// namespaces vanish with it. A failing step exits with `1 + step` and leaves the errno in
/// a pipe.
fn trial() -> Result<(), Blocked> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(refused(0, io::Error::last_os_error()));
    }
    let [read_end, write_end] = fds;
    // SAFETY: the child calls only async-signal-safe functions (unshare, fork, mount,
    // waitpid, write, _exit) on values prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above; the child never returns.
        unsafe { trial_child(write_end) }
    }
    // SAFETY: closing our copy of the write end, so that read() sees the child's end.
    unsafe { libc::close(write_end) };
    if pid < 0 {
        let err = io::Error::last_os_error();
        // SAFETY: closing the read end we own.
        unsafe { libc::close(read_end) };
        return Err(refused(1, err));
    }
    let mut errno = [0u8; 4];
    // SAFETY: read into a local buffer from the pipe we own, then close it.
    let got = unsafe {
        let got = libc::read(read_end, errno.as_mut_ptr().cast(), errno.len());
        libc::close(read_end);
        got
    };
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid out-pointer.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(refused(3, io::Error::last_os_error()));
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        1 + 3
    };
    if code == 0 {
        return Ok(());
    }
    let errno = match got {
        4 => io::Error::from_raw_os_error(i32::from_ne_bytes(errno)),
        _ => io::Error::other("no reason given"),
    };
    Err(refused(code as usize - 1, errno))
}

fn refused(step: usize, error: io::Error) -> Blocked {
    Blocked::Refused {
        step: STEPS[step.min(STEPS.len() - 1)],
        error,
    }
}

/// # Safety
/// Only for the child of `fork` in [`trial`]: makes async-signal-safe calls only, then exits.
unsafe fn trial_child(report: libc::c_int) -> ! {
    let fail = |step: i32| -> ! {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        // SAFETY: write and _exit are async-signal-safe; `errno` lives on our stack.
        unsafe {
            libc::write(report, (&errno as *const i32).cast(), 4);
            libc::_exit(1 + step)
        }
    };
    if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNS) != 0 {
        fail(0);
    }
    let pid = libc::fork();
    if pid < 0 {
        fail(1);
    }
    if pid == 0 {
        let private = libc::MS_REC | libc::MS_PRIVATE;
        let none = std::ptr::null();
        if libc::mount(none, c"/".as_ptr(), none, private, none.cast()) != 0
            || libc::mount(
                c"proc".as_ptr(),
                c"/proc".as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                none.cast(),
            ) != 0
        {
            fail(2);
        }
        libc::_exit(0);
    }
    let mut status = 0;
    if libc::waitpid(pid, &mut status, 0) != pid {
        fail(3);
    }
    match libc::WIFEXITED(status) {
        true => libc::_exit(libc::WEXITSTATUS(status)),
        false => libc::_exit(1 + 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_named_with_what_blocks() {
        let lines: Vec<String> = [
            Blocked::Switch(Switch::UnprivilegedClone),
            Blocked::Switch(Switch::MaxUserNamespaces),
            Blocked::Switch(Switch::AppArmor),
            Blocked::OldKernel,
            Blocked::Refused {
                step: STEPS[0],
                error: io::Error::from_raw_os_error(libc::EPERM),
            },
        ]
        .iter()
        .map(Blocked::to_string)
        .collect();
        assert_eq!(
            lines,
            [
                "unprivileged user namespaces are switched off \
                 (kernel.unprivileged_userns_clone = 0)",
                "user namespaces are not allowed (user.max_user_namespaces = 0)",
                "AppArmor restricts unprivileged user namespaces \
                 (kernel.apparmor_restrict_unprivileged_userns = 1)",
                "the kernel has no mount_setattr (Linux 5.12), which the session's read-only \
                 mounts need",
                "creating a user, pid and mount namespace was refused (Operation not permitted \
                 (os error 1); a container or a seccomp filter?)",
            ]
        );
    }

    #[test]
    fn a_kernel_since_5_12_has_mount_setattr() {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut numbers = release
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0));
        let version = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
        assert_eq!(has_mount_setattr(), version >= (5, 12), "kernel {release}");
    }
}
