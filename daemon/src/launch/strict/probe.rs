//! Whether ptrace works here, tried before anything starts: `--strict` either supervises the
//! whole tree or refuses to run, and never silently degrades to the library alone. A child
//! that only waits is seized the way the agent will be; a refusal is explained one cause at
//! a time (Yama's `ptrace_scope`, a seccomp filter such as a container's default profile,
//! else a security module).

use anyhow::bail;

use super::stop;

/// Where Yama keeps its ptrace restriction (absent when Yama is not built in).
const YAMA_SCOPE: &str = "/proc/sys/kernel/yama/ptrace_scope";

/// `Ok` when this process can trace a child as strict mode does; the error names the cause.
pub fn ptrace() -> anyhow::Result<()> {
    // SAFETY: fork; the child only sleeps in pause() until it is killed below.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        bail!("cannot fork: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        }
    }
    // SAFETY: `pid` is our child; the address is unused and the data is the option set.
    let seized = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0usize, stop::OPTIONS as usize) };
    let err = std::io::Error::last_os_error();
    // SAFETY: kill and reap our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        while libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL) < 0
            && *libc::__errno_location() == libc::EINTR
        {}
    }
    if seized == 0 {
        return Ok(());
    }
    bail!(
        "--strict needs ptrace, and this system refuses it: cannot trace a child process \
         ({err}): {}. Run without --strict (the preload library alone does not see static \
         programs or raw system calls), or allow ptrace here",
        cause(
            std::fs::read_to_string(YAMA_SCOPE).ok().as_deref(),
            std::fs::read_to_string("/proc/self/status").ok().as_deref(),
        )
    )
}

/// The likeliest reason for a refused `PTRACE_SEIZE`, from Yama's setting and the
/// `Seccomp:` line of `/proc/self/status`.
fn cause(yama_scope: Option<&str>, status: Option<&str>) -> String {
    match yama_scope.map(str::trim) {
        Some("3") => {
            return "kernel.yama.ptrace_scope is 3, which disables ptrace for everyone until \
                    the next reboot"
                .into()
        }
        Some("2") => {
            return "kernel.yama.ptrace_scope is 2, which allows ptrace only with \
                    CAP_SYS_PTRACE (set it to 1 with sysctl)"
                .into()
        }
        _ => {}
    }
    let seccomp = status
        .and_then(|status| status.lines().find_map(|l| l.strip_prefix("Seccomp:")))
        .map(str::trim);
    if seccomp.is_some_and(|mode| mode != "0") {
        return "a seccomp filter on this process refuses ptrace (a container's default \
                profile does so on older kernels; run the container with ptrace allowed, \
                e.g. --cap-add SYS_PTRACE or a profile that permits it)"
            .into();
    }
    "a security module (AppArmor, SELinux) or the container runtime refuses it".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_named() {
        assert!(cause(Some("3\n"), None).contains("ptrace_scope is 3"));
        assert!(cause(Some("2\n"), None).contains("CAP_SYS_PTRACE"));
        let filtered = "Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t1\n";
        assert!(cause(Some("1\n"), Some(filtered)).contains("seccomp filter"));
        assert!(cause(None, Some(filtered)).contains("seccomp filter"));
        assert!(cause(None, Some("Seccomp:\t0\n")).contains("security module"));
    }

    #[test]
    fn this_machine_allows_tracing_children() {
        // The test suite runs where strict mode is tested end to end.
        ptrace().unwrap();
    }
}
