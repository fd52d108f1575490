//! One C probe per hooked libc function, run under `warden preload` against a real daemon:
//! the allowed call runs, the denied call fails in the function's own convention with EPERM
//! and its target never runs, an ask approved with `warden approve` runs and one refused with
//! `warden deny` does not.

use warden_tests::probes::{describe, probe, Guarded, REFUSED};
use warden_tests::run;

/// What a refused call prints (see tests/probes/probe.h).
#[derive(Clone, Copy)]
enum Refusal {
    /// exec family: `-1` and `errno == EPERM`.
    Errno,
    /// posix_spawn family: returns `EPERM`.
    Returned,
    /// system: status `127 << 8`, `errno == EPERM`.
    ShellStatus,
}

impl Refusal {
    fn line(self, function: &str) -> String {
        match self {
            Refusal::Errno => format!("{function} failed errno={}", libc::EPERM),
            Refusal::Returned => format!("{function} returned {}", libc::EPERM),
            Refusal::ShellStatus => format!("{function} status={} errno={}", 127 << 8, libc::EPERM),
        }
    }
}

fn check_hook(function: &str, refusal: Refusal) {
    let guarded = Guarded::start();
    let binary = probe(function);
    let probe_with = |marker: &std::path::Path| {
        let mut command = guarded.preload(&[binary.as_os_str(), marker.as_os_str()]);
        command.env_remove("PATH").env("PATH", "/usr/bin:/bin");
        command
    };

    let allowed = guarded.marker("ok-run");
    let out = run(&mut probe_with(&allowed));
    assert!(
        out.status.success(),
        "allowed {function}: {}",
        describe(&out)
    );
    assert!(
        allowed.exists(),
        "allowed {function} did not run its target"
    );

    let denied = guarded.marker("denied-run");
    let out = run(&mut probe_with(&denied));
    assert_eq!(
        out.status.code(),
        Some(REFUSED),
        "denied {function}: {}",
        describe(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&refusal.line(function)),
        "denied {function} reported {stdout:?}, expected {:?}",
        refusal.line(function)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warden: denied: ") && stderr.contains("test policy: denied marker"),
        "no denial line on stderr: {stderr}"
    );
    assert!(!denied.exists(), "denied {function} ran its target");

    let approved = guarded.marker("asked-approved");
    let out = guarded.resolve_ask(probe_with(&approved), "approve");
    assert!(
        out.status.success(),
        "approved {function}: {}",
        describe(&out)
    );
    assert!(
        approved.exists(),
        "approved {function} did not run its target"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warden: waiting for approval #")
            && stderr.contains("run \"warden approve "),
        "no waiting line on stderr: {stderr}"
    );

    let refused = guarded.marker("asked-refused");
    let out = guarded.resolve_ask(probe_with(&refused), "deny");
    assert_eq!(
        out.status.code(),
        Some(REFUSED),
        "refused {function}: {}",
        describe(&out)
    );
    assert!(!refused.exists(), "refused {function} ran its target");
}

#[test]
fn execve() {
    check_hook("execve", Refusal::Errno);
}

#[test]
fn execv() {
    check_hook("execv", Refusal::Errno);
}

#[test]
fn execvp() {
    check_hook("execvp", Refusal::Errno);
}

#[test]
fn execvpe() {
    check_hook("execvpe", Refusal::Errno);
}

#[test]
fn execl() {
    check_hook("execl", Refusal::Errno);
}

#[test]
fn execlp() {
    check_hook("execlp", Refusal::Errno);
}

#[test]
fn execle() {
    check_hook("execle", Refusal::Errno);
}

#[test]
fn execveat() {
    check_hook("execveat", Refusal::Errno);
}

#[test]
fn fexecve() {
    check_hook("fexecve", Refusal::Errno);
}

#[test]
fn posix_spawn() {
    check_hook("posix_spawn", Refusal::Returned);
}

#[test]
fn posix_spawnp() {
    check_hook("posix_spawnp", Refusal::Returned);
}

#[test]
fn system() {
    check_hook("system", Refusal::ShellStatus);
}

#[test]
fn popen() {
    check_hook("popen", Refusal::Errno);
}

/// `pidfd_spawnp` exists from glibc 2.39 on. Where glibc has it, it is guarded like
/// `posix_spawnp`; where it lacks it, the library's export answers ENOSYS and starts nothing.
#[test]
fn pidfd_spawnp() {
    // SAFETY: gnu_get_libc_version returns a static string.
    let version = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) };
    let (major, minor) = version
        .to_str()
        .ok()
        .and_then(|v| v.split_once('.'))
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .expect("glibc version");
    if (major, minor) >= (2, 39) {
        check_hook("pidfd_spawnp", Refusal::Returned);
        return;
    }
    let guarded = Guarded::start();
    let binary = probe("pidfd_spawnp");
    for name in ["ok-run", "denied-run"] {
        let marker = guarded.marker(name);
        let out = run(&mut guarded.preload(&[binary.as_os_str(), marker.as_os_str()]));
        assert_eq!(out.status.code(), Some(REFUSED), "{}", describe(&out));
        let expected = format!("pidfd_spawnp returned {}", libc::ENOSYS);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&expected),
            "{}",
            describe(&out)
        );
        assert!(!marker.exists());
    }
}

extern "C" {
    fn gnu_get_libc_version() -> *const std::ffi::c_char;
}

/// A process that closed its standard descriptors: the library's socket then takes fd 0 (or
/// 2), which must neither break the check nor receive warden's own messages.
#[test]
fn with_standard_descriptors_closed() {
    let guarded = Guarded::start();
    let binary = probe("execve");
    for (closing, name) in [("exec 2>&-", "only-stderr"), ("exec 0<&- 1>&- 2>&-", "all")] {
        for (marker_name, allowed) in [
            (format!("ok-{name}"), true),
            (format!("denied-{name}"), false),
        ] {
            let marker = guarded.marker(&marker_name);
            let script = format!("{closing}; \"$0\" \"$1\"");
            let out = run(&mut guarded.preload(&[
                "bash".as_ref(),
                "-c".as_ref(),
                script.as_str().as_ref(),
                binary.as_os_str(),
                marker.as_os_str(),
            ]));
            assert_eq!(
                marker.exists(),
                allowed,
                "{closing} {marker_name}: {}",
                describe(&out)
            );
            let expected = if allowed { 0 } else { REFUSED };
            assert_eq!(out.status.code(), Some(expected), "{closing} {marker_name}");
        }
    }
}
