//! Approvals across restarts, abandonment, expiry, the pending cap and `approve --always`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use warden_tests::probes::POLICY;
use warden_tests::{
    ask, preflight, text, wait_for_answer, wait_until, Daemon, TempHome, TEST_POLICY,
};

fn pending_ids(home: &TempHome) -> Vec<u64> {
    let out = home.warden(&["pending", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect()
}

/// Starts a long poll on a raw connection and returns it, request sent, reply not read.
fn start_wait(home: &TempHome, id: u64) -> UnixStream {
    let mut stream = UnixStream::connect(home.socket()).unwrap();
    write!(
        stream,
        "GET /v1/approvals/{id}/wait HTTP/1.1\r\nHost: warden\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream
}

/// Waits until the daemon holds `count` long polls on approval `id`.
fn wait_for_waiters(home: &TempHome, id: u64, count: u64) {
    wait_until("the daemon to hold the long poll", || {
        let out = home.warden(&["pending", "--json"]);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"].as_u64() == Some(id) && a["waiters"].as_u64() == Some(count))
    });
}

fn approval_state(home: &TempHome, id: u64) -> Option<String> {
    let records = text(&home.warden(&["log", "--json", "-n", "100"]).stdout);
    records
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["kind"] == "resolution" && r["approval"].as_u64() == Some(id))
        .map(|r| r["resolver"].as_str().unwrap_or_default().to_string())
}

#[test]
fn a_pending_approval_survives_a_restart_and_the_reconnected_waiter_gets_its_answer() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    let id = ask(&home.socket(), &["kubectl", "apply"]);
    let mut first_wait = start_wait(&home, id);
    wait_for_waiters(&home, id, 1);
    daemon.stop();
    // The waiter's connection dropped with the daemon; a restart did not abandon it.
    let mut rest = Vec::new();
    let _ = first_wait.read_to_end(&mut rest);

    let _daemon = Daemon::start(&home, TEST_POLICY);
    assert_eq!(pending_ids(&home), vec![id]);
    let socket = home.socket();
    let waiter = std::thread::spawn(move || wait_for_answer(&socket, id));
    wait_for_waiters(&home, id, 1);
    let approved = home.warden(&["approve", &id.to_string()]);
    assert!(approved.status.success(), "{}", text(&approved.stderr));
    assert_eq!(waiter.join().unwrap()["decision"], "allow");
    // Ids are never reused after a restart.
    let next = ask(&home.socket(), &["kubectl", "get"]);
    assert!(next > id, "{next} after {id}");
}

#[test]
fn a_waiter_that_disconnects_abandons_its_approval() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let id = ask(&home.socket(), &["kubectl", "apply"]);
    let waiter = start_wait(&home, id);
    wait_for_waiters(&home, id, 1);
    drop(waiter);
    wait_until("the approval to be abandoned", || {
        pending_ids(&home).is_empty()
    });
    assert_eq!(
        approval_state(&home, id).as_deref(),
        Some("waiter disconnected")
    );
    let answer = wait_for_answer(&home.socket(), id);
    assert_eq!(answer["decision"], "deny", "{answer}");
    let refused = home.warden(&["approve", &id.to_string()]);
    assert_eq!(refused.status.code(), Some(3));
    assert!(text(&refused.stderr).contains("already abandoned"));
}

#[test]
fn an_approval_nobody_resolves_expires_as_deny() {
    let home = TempHome::new();
    let _daemon = Daemon::start_with(&home, Some(TEST_POLICY), &["--approval-timeout", "1"]);
    let id = ask(&home.socket(), &["kubectl", "apply"]);
    let answer = wait_for_answer(&home.socket(), id);
    assert_eq!(answer["decision"], "deny", "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("within 1 s"),
        "{answer}"
    );
    assert_eq!(approval_state(&home, id).as_deref(), Some("timeout"));
}

#[test]
fn asks_beyond_the_pending_cap_are_denied_with_a_reason() {
    let home = TempHome::new();
    let _daemon = Daemon::start_with(&home, Some(TEST_POLICY), &["--max-pending", "2"]);
    for _ in 0..2 {
        assert_eq!(
            preflight(&home.socket(), &["kubectl", "x"])["decision"],
            "ask"
        );
    }
    let third = preflight(&home.socket(), &["kubectl", "x"]);
    assert_eq!(third["decision"], "deny", "{third}");
    assert!(third["message"]
        .as_str()
        .unwrap()
        .contains("too many approvals pending"));
    home.warden(&["deny", "1"]);
    assert_eq!(
        preflight(&home.socket(), &["kubectl", "x"])["decision"],
        "ask"
    );
}

/// One session asking without end fills only its own share (half of `--max-pending`): its
/// next ask is denied at once with the reason, while another session can still ask.
#[test]
fn a_session_fills_only_its_share_of_the_pending_cap() {
    let home = TempHome::new();
    let _daemon = Daemon::start_with(&home, Some(POLICY), &["--max-pending", "4"]);
    let markers = home.work().join("m");
    std::fs::create_dir_all(&markers).unwrap();
    let go = markers.join("go");
    let made = Command::new("mkfifo").arg(&go).status().unwrap();
    assert!(made.success());
    let session = |script: &str| {
        let mut preload = home.warden_command(&["preload", "--", "bash", "-c", script]);
        preload
            .current_dir(home.work())
            .env("M", &markers)
            .env("ASK", "asked")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start warden preload")
    };
    // Two asks wait in the background; once they are pending, a third.
    let flooding = session(
        r#"touch "$M/$ASK-1" & touch "$M/$ASK-2" & read go < "$M/go"
touch "$M/$ASK-3"; echo "third=$?"; wait"#,
    );
    wait_until("two approvals pending", || pending_ids(&home).len() == 2);
    std::fs::write(&go, "go\n").unwrap();
    let other = session(r#"touch "$M/$ASK-other""#);
    wait_until("the other session's approval pending", || {
        pending_ids(&home).len() == 3
    });
    for id in pending_ids(&home) {
        home.warden(&["deny", &id.to_string()]);
    }
    let flooded = flooding.wait_with_output().unwrap();
    assert!(
        text(&flooded.stdout).contains("third=126"),
        "{}",
        text(&flooded.stderr)
    );
    assert!(
        text(&flooded.stderr).contains("too many approvals pending in session"),
        "{}",
        text(&flooded.stderr)
    );
    let other = other.wait_with_output().unwrap();
    assert!(
        !text(&other.stderr).contains("too many"),
        "{}",
        text(&other.stderr)
    );
}

#[test]
fn approve_always_adds_a_rule_that_allows_the_same_command_later() {
    let home = TempHome::new();
    // The default layering (built-in + $WARDEN_HOME/policy.toml), where --always writes.
    std::fs::write(home.path().join("policy.toml"), TEST_POLICY).unwrap();
    let _daemon = Daemon::start_with(&home, None, &[]);
    let id = ask(&home.socket(), &["kubectl", "apply", "-f", "a b.yaml"]);
    let out = home.warden(&["approve", &id.to_string(), "--always"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("rule"), "{}", text(&out.stdout));
    let policy = std::fs::read_to_string(home.path().join("policy.toml")).unwrap();
    assert!(policy.contains("a b.yaml"), "{policy}");
    let again = preflight(&home.socket(), &["kubectl", "apply", "-f", "a b.yaml"]);
    assert_eq!(again["decision"], "allow", "{again}");
    // Only the exact command.
    let other = preflight(&home.socket(), &["kubectl", "apply", "-f", "c.yaml"]);
    assert_eq!(other["decision"], "ask", "{other}");
}

#[test]
fn approve_always_is_refused_when_the_user_policy_is_not_in_force() {
    let home = TempHome::new();
    // An explicit --policy stands alone: a rule in $WARDEN_HOME/policy.toml would not count.
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let id = ask(&home.socket(), &["kubectl", "apply"]);
    let out = home.warden(&["approve", &id.to_string(), "--always"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("--policy"),
        "{}",
        text(&out.stderr)
    );
    assert!(!home.path().join("policy.toml").exists());
    // Nothing was resolved: a plain approve still works.
    assert!(home.warden(&["approve", &id.to_string()]).status.success());
}
