//! The daemon over its real socket and door: allow/deny/ask round trips, approvals from the
//! CLI, status, and the errors a user sees when no daemon runs.

use warden_tests::{
    ask, door_connect, exec_request, http, http_over, preflight, text, wait_for_answer, wait_until,
    Daemon, TempHome, TEST_POLICY,
};

#[test]
fn allow_and_deny_follow_the_policy() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let allowed = preflight(&home.socket(), &["ls", "-l"]);
    assert_eq!(allowed["decision"], "allow", "{allowed}");
    assert_eq!(allowed["id"], serde_json::Value::Null);
    let denied = preflight(&home.socket(), &["rm", "-rf", "/tmp/x"]);
    assert_eq!(denied["decision"], "deny", "{denied}");
    assert_eq!(denied["rule"], "no-rm");
    assert_eq!(denied["message"], "deleting is not allowed here");
}

#[test]
fn invalid_utf8_argv_is_judged_on_bytes() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    // argv[1] is "\xff" in base64; argv[0] is rm, so the rule must still match.
    let body = br#"{"session":null,"hook":"execve","path":"/usr/bin/rm","argv":["rm",{"b64":"/w=="}],"cwd":"/tmp","pid":1,"ppid":1}"#;
    let reply = http(&home.socket(), "POST", "/v1/preflight/exec", Some(body));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["decision"], "deny");
}

#[test]
fn ask_is_approved_from_the_cli_and_the_waiter_gets_allow() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let asked = preflight(&home.socket(), &["kubectl", "apply", "-f", "prod.yaml"]);
    assert_eq!(asked["decision"], "ask", "{asked}");
    let id = asked["id"].as_u64().expect("an approval id");

    let pending = home.warden(&["pending"]);
    assert!(pending.status.success(), "{}", text(&pending.stderr));
    let listing = text(&pending.stdout);
    assert!(listing.contains(&format!("#{id}")), "{listing}");
    assert!(listing.contains("kubectl apply -f prod.yaml"), "{listing}");

    let socket = home.socket();
    let waiter = std::thread::spawn(move || wait_for_answer(&socket, id));
    let approved = home.warden(&["approve", &id.to_string()]);
    assert!(approved.status.success(), "{}", text(&approved.stderr));
    let answer = waiter.join().unwrap();
    assert_eq!(answer["decision"], "allow", "{answer}");
    assert_eq!(answer["id"].as_u64(), Some(id));

    let json = home.warden(&["pending", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    // A second resolution is refused: the approval is settled.
    let again = home.warden(&["deny", &id.to_string()]);
    assert_eq!(again.status.code(), Some(3));
    assert!(
        text(&again.stderr).contains("already approved"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn ask_denied_from_the_cli_answers_deny() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let id = ask(&home.socket(), &["kubectl", "delete", "ns", "prod"]);
    let denied = home.warden(&["deny", &id.to_string()]);
    assert!(denied.status.success(), "{}", text(&denied.stderr));
    // A waiter that arrives after the resolution still gets the answer.
    let answer = wait_for_answer(&home.socket(), id);
    assert_eq!(answer["decision"], "deny", "{answer}");
}

#[test]
fn the_door_serves_agent_endpoints_only() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let body = exec_request(&["rm", "-r", "x"]);
    let reply = http_over(
        door_connect(&home.door()),
        "POST",
        "/v1/preflight/exec",
        Some(&body),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["decision"], "deny");

    let ask = http_over(
        door_connect(&home.door()),
        "POST",
        "/v1/preflight/exec",
        Some(&exec_request(&["kubectl", "apply"])),
    )
    .json();
    let id = ask["id"].as_u64().unwrap();
    for (method, path) in [
        ("POST", format!("/v1/approvals/{id}/approve")),
        ("GET", "/v1/status".to_string()),
        ("GET", "/v1/approvals".to_string()),
        ("POST", "/v1/policy/reload".to_string()),
    ] {
        let refused = http_over(door_connect(&home.door()), method, &path, None);
        assert_eq!(refused.status, 403, "{method} {path}: {refused:?}");
        assert!(refused.json()["error"].as_str().unwrap().contains("door"));
    }
    let still = home.warden(&["pending", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&still.stdout).unwrap();
    assert_eq!(list[0]["id"].as_u64(), Some(id), "{list}");
}

#[test]
fn the_door_ignores_datagrams_without_exactly_one_descriptor() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let (a, _a_peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let (b, _b_peer) = std::os::unix::net::UnixStream::pair().unwrap();
    use std::os::fd::AsRawFd;
    warden_tests::send_fds(&home.door(), &[]);
    warden_tests::send_fds(&home.door(), &[a.as_raw_fd(), b.as_raw_fd()]);
    // The daemon is still serving, through the door and the socket.
    let reply = http_over(
        door_connect(&home.door()),
        "POST",
        "/v1/preflight/exec",
        Some(&exec_request(&["ls"])),
    );
    assert_eq!(reply.json()["decision"], "allow");
    assert_eq!(preflight(&home.socket(), &["ls"])["decision"], "allow");
}

#[test]
fn status_reports_the_running_daemon() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    preflight(&home.socket(), &["kubectl", "get", "pods"]);
    let out = home.warden(&["status", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["running"], true);
    assert_eq!(status["pid"].as_u64(), Some(u64::from(daemon.pid())));
    assert_eq!(status["pending"], 1);
    assert!(status["rule_count"].as_u64().unwrap() >= 2, "{status}");
    let human = text(&home.warden(&["status"]).stdout);
    assert!(human.contains("running"), "{human}");
    assert!(human.contains("pending approvals: 1"), "{human}");
}

#[test]
fn every_command_names_the_socket_when_no_daemon_runs() {
    let home = TempHome::new();
    let socket = home.socket().display().to_string();
    for args in [&["approve", "1"][..], &["deny", "1"]] {
        let out = home.warden(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(&socket), "{args:?}: {err}");
        assert!(err.contains("warden serve --background"), "{args:?}: {err}");
    }
    // `pending` and `log` still answer from the files a stopped daemon left (watch_cli.rs).
    let pending = home.warden(&["pending"]);
    assert_eq!(pending.status.code(), Some(1));
    assert!(text(&pending.stdout).contains(&socket));
    assert!(text(&pending.stdout).contains("warden serve --background"));
    let log = home.warden(&["log"]);
    assert_eq!(log.status.code(), Some(0));
    assert!(text(&log.stderr).contains(&socket));
    let status = home.warden(&["status"]);
    assert_eq!(status.status.code(), Some(1));
    assert!(text(&status.stdout).contains("not running"));
}

#[test]
fn a_second_daemon_is_refused_and_a_stale_socket_replaced() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    let second = home.warden(&["serve"]);
    assert_eq!(second.status.code(), Some(3));
    assert!(
        text(&second.stderr).contains("already"),
        "{}",
        text(&second.stderr)
    );
    // kill -9 leaves the socket file behind; the next daemon replaces it.
    daemon.kill9();
    assert!(home.socket().exists());
    let _again = Daemon::start(&home, TEST_POLICY);
    assert_eq!(preflight(&home.socket(), &["ls"])["decision"], "allow");
}

#[test]
fn sigterm_removes_the_sockets() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    assert!(home.door().exists());
    let status = daemon.stop();
    assert!(status.success(), "{status:?}");
    assert!(!home.socket().exists());
    assert!(!home.door().exists());
}

/// Stops a daemon that is not our child (started with `--background`), even if the test fails.
struct Detached(i32);

impl Drop for Detached {
    fn drop(&mut self) {
        // SAFETY: SIGTERM to the daemon this test started.
        unsafe { libc::kill(self.0, libc::SIGTERM) };
    }
}

#[test]
fn background_daemon_detaches_and_answers() {
    let home = TempHome::new();
    // Started from a preloaded process: the daemon itself must not inherit LD_PRELOAD (the
    // loader only warns about a library that does not exist).
    let out = warden_tests::run(
        home.warden_command(&["serve", "--background"])
            .env("LD_PRELOAD", "/nonexistent/libwarden-test.so"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: serde_json::Value =
        serde_json::from_slice(&home.warden(&["status", "--json"]).stdout).unwrap();
    let daemon = Detached(status["pid"].as_i64().unwrap() as i32);
    let pid = daemon.0;
    // Its own session, and not our child.
    // SAFETY: getsid only queries the kernel about a pid.
    assert_eq!(unsafe { libc::getsid(pid) }, pid);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid: u32 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(ppid, std::process::id());
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(
        !environ
            .split(|b| *b == 0)
            .any(|v| v.starts_with(b"LD_PRELOAD=")),
        "the daemon must never run under the preload library"
    );
    assert!(text(&std::fs::read(home.path().join("serve.log")).unwrap()).contains("listening"));
    drop(daemon);
    wait_until("the background daemon to stop", || !home.socket().exists());
}
