//! `warden preload`: exit status, signals, errors, the daemon it starts, the session it
//! registers (monitor), and orphans kept inside the session's tree. (What a session does
//! when its daemon is gone: `preload_keepalive.rs`.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use warden_tests::probes::{describe, probe, Guarded};
use warden_tests::{http, libwarden, run, text, wait_until, warden_bin, TempHome};

#[test]
fn exits_with_the_commands_status() {
    let guarded = Guarded::start();
    let out = run(&mut guarded.preload(&["sh", "-c", "exit 7"]));
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    let out = run(&mut guarded.preload(&["sh", "-c", "kill -TERM $$"]));
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        describe(&out)
    );
}

#[test]
fn command_not_found_is_127() {
    let guarded = Guarded::start();
    let out = run(&mut guarded.preload(&["no-such-command-for-warden"]));
    assert_eq!(out.status.code(), Some(127), "{}", describe(&out));
    assert!(text(&out.stderr).contains("cannot run no-such-command-for-warden"));
}

#[test]
fn a_missing_or_foreign_library_is_a_clear_error() {
    let guarded = Guarded::start();
    let missing = guarded.home.path().join("missing.so");
    let not_elf = guarded.home.path().join("text.so");
    std::fs::write(&not_elf, "not a library").unwrap();
    let foreign = guarded.home.path().join("foreign.so");
    let source = guarded.home.path().join("foreign.c");
    std::fs::write(&source, "int foreign_symbol;\n").unwrap();
    let cc = run(Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&foreign)
        .arg(&source));
    assert!(cc.status.success(), "{}", describe(&cc));
    for (library, expected) in [
        (&missing, "WARDEN_LIB points to"),
        (&not_elf, "cannot load"),
        (&foreign, "is not warden's preload library"),
    ] {
        let marker = guarded.marker("ok-never");
        let mut command = guarded.preload(&[probe("execve").as_os_str(), marker.as_os_str()]);
        command.env("WARDEN_LIB", library);
        let out = run(&mut command);
        assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
        assert!(text(&out.stderr).contains(expected), "{}", describe(&out));
        assert!(!marker.exists(), "the command ran without the library");
    }
}

#[test]
fn starts_the_daemon_when_none_runs() {
    let home = TempHome::new();
    let mut command = home.warden_command(&["preload", "--", "true"]);
    command.env("WARDEN_LIB", libwarden());
    let out = run(&mut command);
    assert!(out.status.success(), "{}", describe(&out));
    let status = http(home.socket().as_path(), "GET", "/v1/status", None).json();
    let pid = status["pid"].as_i64().expect("the started daemon's pid") as i32;
    let _daemon = KillOnDrop(pid, home.socket());
    // The daemon is detached from the command's tree; stop it like its operator would.
    // SAFETY: kill on the pid the daemon reported for itself.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    wait_until("the started daemon to stop", || {
        std::os::unix::net::UnixStream::connect(home.socket()).is_err()
    });
}

/// Kills a daemon this test started indirectly, should an assertion fail before it stops.
struct KillOnDrop(i32, std::path::PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Only while it still answers, so that a recycled pid is never hit.
        if std::os::unix::net::UnixStream::connect(&self.1).is_ok() {
            // SAFETY: kill on the pid the still-running daemon reported for itself.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
}

#[test]
fn monitor_mode_runs_denied_commands() {
    let guarded = Guarded::start();
    let marker = guarded.marker("denied-but-monitored");
    let mut command = guarded.home.warden_command(&["preload", "--monitor", "--"]);
    command.arg(probe("execve")).arg(&marker);
    let out = run(&mut command);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists(), "monitor mode blocked the command");
}

#[test]
fn forwards_signals_to_the_command() {
    let guarded = Guarded::start();
    let mut child = guarded
        .preload(&[
            "bash",
            "-c",
            "trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start warden preload");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // SAFETY: kill on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    stdout.read_line(&mut rest).unwrap();
    assert_eq!(rest.trim(), "got-term");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5));
}

/// An orphan (double fork) stays in the session's tree because `warden preload` is a child
/// subreaper, so the daemon still refuses it the operator endpoints.
#[test]
fn orphans_stay_inside_the_session() {
    let guarded = Guarded::start();
    let result = guarded.home.work().join("orphan-result");
    let script = format!(
        "( ( sleep 0.2; \"{warden}\" pending > \"{out}.tmp\" 2>&1; echo \"exit=$?\" >> \"{out}.tmp\"; \
         mv \"{out}.tmp\" \"{out}\" ) & ); \
         for i in $(seq 200); do [ -e \"{out}\" ] && exit 0; sleep 0.05; done; exit 1",
        warden = warden_bin().display(),
        out = result.display()
    );
    let out = run(&mut guarded.preload(&["bash", "-c", &script]));
    assert!(out.status.success(), "{}", describe(&out));
    let report = std::fs::read_to_string(&result).unwrap();
    assert!(
        !report.contains("exit=0"),
        "an orphan inside the session used an operator endpoint: {report}"
    );
}
