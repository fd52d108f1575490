//! Whom a preflight is about. The library asks about its own process, whatever pid it names.
//! Only the root of a traced session (`warden preload --strict`) may name another process,
//! and only one in its own session: then session, mode and audit record are that process's.

use std::process::{Child, Command};

use warden_tests::{exec_request, http, Daemon, Reply, TempHome, TEST_POLICY};

/// Registers a session rooted at `root_pid` (registered by this test process).
fn register(home: &TempHome, root_pid: u32, mode: &str, supervision: &str) -> String {
    let body = serde_json::json!({
        "agent": "strict-test", "root_pid": root_pid, "cwd": "/tmp", "mode": mode,
        "supervision": supervision,
    });
    let reply = http(
        &home.socket(),
        "POST",
        "/v1/sessions",
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()["id"].as_str().unwrap().to_string()
}

/// A preflight for `rm -rf x` (denied by the test policy) naming `pid`.
fn naming(home: &TempHome, pid: u32) -> Reply {
    let mut request: serde_json::Value =
        serde_json::from_slice(&exec_request(&["rm", "-rf", "x"])).unwrap();
    request["pid"] = pid.into();
    request["hook"] = "strict".into();
    let body = request.to_string();
    http(
        &home.socket(),
        "POST",
        "/v1/preflight/exec",
        Some(body.as_bytes()),
    )
}

fn sleeper() -> Child {
    Command::new("sleep").arg("30").spawn().unwrap()
}

fn end(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_traced_sessions_root_asks_about_a_process_of_its_tree_and_only_there() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let id = register(&home, std::process::id(), "monitor", "trace");
    let tracee = sleeper();
    let reply = naming(&home, tracee.id());
    assert_eq!(reply.status, 200, "{reply:?}");
    // The tracee's session is in monitor mode: allowed, and would have been denied.
    assert_eq!(reply.json()["decision"], "allow", "{reply:?}");
    let outside = naming(&home, 1);
    assert_eq!(outside.status, 403, "{outside:?}");
    assert!(
        outside.body.contains(&format!("is not in session {id}")),
        "{outside:?}"
    );
    end(tracee);
}

#[test]
fn the_root_of_an_untraced_session_cannot_name_another_process() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    register(&home, std::process::id(), "enforce", "reap");
    let child = sleeper();
    let reply = naming(&home, child.id());
    assert_eq!(reply.status, 403, "{reply:?}");
    assert!(reply.body.contains("does not trace it"), "{reply:?}");
    end(child);
}

#[test]
fn any_other_caller_is_judged_as_itself_whatever_pid_it_names() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    // A monitor-mode session elsewhere: naming its root must not borrow its mode.
    let root = sleeper();
    register(&home, root.id(), "monitor", "trace");
    let reply = naming(&home, root.id());
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["decision"], "deny", "{reply:?}");
    end(root);
}
