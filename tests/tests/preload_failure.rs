//! When the daemon is missing or broken: a library loaded outside any session fails open
//! (one stderr line per process), inside a session it fails closed unless the operator chose
//! `--fail-open`, and an answer that is not a valid decision never allows. An approval wait
//! survives a daemon restart.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use warden_tests::probes::{describe, judged_start, probe, Guarded, REFUSED};
use warden_tests::{libwarden, run, KillsAnsweringDaemon, TempHome};

const UNREACHABLE: &str = "warden: cannot reach the daemon at ";
const NOT_ANSWERING: &str = "warden: the warden daemon is not answering on ";

/// The execve probe with the library loaded directly against `socket` (no `warden preload`),
/// with these extra variables (`WARDEN_FAIL`, `WARDEN_SESSION`).
fn probe_against(home: &TempHome, socket: &Path, marker: &Path, vars: &[(&str, &str)]) -> Output {
    let mut command: Command = home.command(probe("execve"));
    command.arg(marker);
    judged_start(&mut command)
        .env("LD_PRELOAD", libwarden())
        .env("WARDEN_SOCKET", socket)
        .env("WARDEN_DOOR", home.path().join("no-door.sock"))
        .envs(vars.iter().copied());
    run(&mut command)
}

fn count(haystack: &[u8], needle: &str) -> usize {
    String::from_utf8_lossy(haystack).matches(needle).count()
}

#[test]
fn fail_open_without_daemon_allows_with_one_line() {
    let home = TempHome::new();
    let marker = home.path().join("denied-but-no-daemon");
    let out = probe_against(&home, &home.socket(), &marker, &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists(), "fail-open did not run the target");
    assert_eq!(count(&out.stderr, UNREACHABLE), 1, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fail-open"));
}

#[test]
fn fail_open_reports_once_per_process() {
    let home = TempHome::new();
    let out = run(judged_start(
        home.command("bash")
            .args(["-c", "/bin/true; /bin/true; /bin/true"]),
    )
    .env("LD_PRELOAD", libwarden())
    .env("WARDEN_SOCKET", home.socket()));
    assert!(out.status.success(), "{}", describe(&out));
    // bash forks once per command; each fork is its own process and reports once.
    assert_eq!(count(&out.stderr, UNREACHABLE), 3, "{}", describe(&out));
    // One process starting three programs with posix_spawn: one line. (The interpreter is
    // started by path: a wrapper script would start processes of its own.)
    let single = run(judged_start(home.command(real_python()).args([
        "-c",
        "import os\nfor _ in range(3): os.waitpid(os.posix_spawn('/bin/true', ['true'], {}), 0)",
    ]))
    .env("LD_PRELOAD", libwarden())
    .env("WARDEN_SOCKET", home.socket()));
    assert!(single.status.success(), "{}", describe(&single));
    assert_eq!(
        count(&single.stderr, UNREACHABLE),
        1,
        "{}",
        describe(&single)
    );
}

/// The Python interpreter itself (not a version manager's shim script).
fn real_python() -> String {
    let out = run(Command::new("python3").args(["-c", "import sys; print(sys.executable)"]));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn fail_closed_without_daemon_denies() {
    let home = TempHome::new();
    let marker = home.path().join("ok-but-no-daemon");
    let out = probe_against(&home, &home.socket(), &marker, &[("WARDEN_FAIL", "closed")]);
    assert_refused_unreachable(&out, &marker);
}

#[test]
fn inside_a_session_an_unreachable_daemon_means_deny_unless_the_operator_chose_open() {
    let home = TempHome::new();
    let marker = home.path().join("ok-in-a-session");
    let session = ("WARDEN_SESSION", "0000beef");
    let started = Instant::now();
    let out = probe_against(&home, &home.socket(), &marker, &[session]);
    assert_refused_unreachable(&out, &marker);
    // It waited for a daemon that might be restarting, but only briefly.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(10),
        "refused after {waited:?}"
    );

    let out = probe_against(
        &home,
        &home.socket(),
        &marker,
        &[session, ("WARDEN_FAIL", "open")],
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists(), "--fail-open did not run the target");
    assert_eq!(count(&out.stderr, UNREACHABLE), 1, "{}", describe(&out));
}

/// The probe's exec was refused because nothing answered, with the line that says so.
fn assert_refused_unreachable(out: &Output, marker: &Path) {
    assert_eq!(out.status.code(), Some(REFUSED), "{}", describe(out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("execve failed errno=1"));
    assert!(!marker.exists(), "fail-closed ran the target");
    assert_eq!(count(&out.stderr, NOT_ANSWERING), 1, "{}", describe(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("; refusing ") && stderr.contains(" until it is back (fail-closed)"),
        "{}",
        describe(out)
    );
}

/// A daemon that answers every request with `reply` (the one case where a fake server is the
/// point: the real daemon never answers garbage).
fn garbage_daemon(socket: &Path, reply: &'static [u8]) {
    let listener = UnixListener::bind(socket).expect("bind the garbage daemon");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head and whatever body came with it; the reply does not depend on it.
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = stream.write_all(reply);
        }
    });
}

#[test]
fn garbage_answers_never_allow() {
    let replies: [&'static [u8]; 6] = [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{bad}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\n{\"decision\":\"maybe\"} ",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"decision\":\"allow\"}",
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 16\r\n\r\n{\"error\":\"boom\"}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n{\"decision\":\"allow\"}\r\n0\r\n\r\n",
    ];
    for (i, reply) in replies.into_iter().enumerate() {
        let home = TempHome::new();
        let socket = home.path().join("garbage.sock");
        garbage_daemon(&socket, reply);
        let marker = home.path().join(format!("ok-garbage-{i}"));
        let out = probe_against(&home, &socket, &marker, &[]);
        assert_eq!(
            out.status.code(),
            Some(REFUSED),
            "reply {:?} did not deny: {}",
            String::from_utf8_lossy(reply),
            describe(&out)
        );
        assert!(!marker.exists(), "reply {i} let the target run");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("warden: denied: "),
            "{}",
            describe(&out)
        );
    }
}

#[test]
fn an_argv_too_large_to_check_is_denied() {
    let guarded = Guarded::start();
    let marker = guarded.marker("ok-but-huge");
    // 1.2 MB of arguments: more than the daemon accepts, well within the kernel's limit.
    let out = run(&mut guarded.preload(&[
        "python3".as_ref(),
        "-c".as_ref(),
        "import subprocess, sys\n\
         try:\n    subprocess.run(['touch', sys.argv[1]] + ['x' * 100000] * 12)\n\
         except PermissionError:\n    sys.exit(42)"
            .as_ref(),
        marker.as_os_str(),
    ]));
    assert_eq!(out.status.code(), Some(REFUSED), "{}", describe(&out));
    assert!(!marker.exists());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused the request (413"),
        "{}",
        describe(&out)
    );
}

#[test]
fn an_approval_wait_survives_a_daemon_restart() {
    let guarded = Guarded::start();
    let _restarted = KillsAnsweringDaemon(guarded.home.socket());
    let marker = guarded.marker("asked-across-restart");
    let mut command = guarded.preload(&[probe("execve").as_os_str(), marker.as_os_str()]);
    let child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the asking probe");
    warden_tests::wait_until("the approval", || !guarded.pending().is_empty());
    let id = guarded.pending()[0];
    let Guarded { home, daemon } = guarded;
    let killed = daemon.pid();
    daemon.kill9();
    // `warden preload` starts a new daemon, which still has the approval.
    warden_tests::wait_until("the approval after the restart", || {
        let Ok(stream) = std::os::unix::net::UnixStream::connect(home.socket()) else {
            return false;
        };
        let status = warden_tests::http_over(stream, "GET", "/v1/status", None).json();
        status["pid"].as_u64() != Some(u64::from(killed))
            && warden_tests::http(&home.socket(), "GET", "/v1/approvals", None)
                .body
                .contains(&format!("\"id\":{id},"))
    });
    let approved = home.warden(&["approve", &id.to_string()]);
    assert!(approved.status.success(), "{}", describe(&approved));
    let out = child.wait_with_output().expect("the probe's output");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        marker.exists(),
        "the approved command did not run after the restart"
    );
}
