//! An ask at an exec stop: the process stays stopped (its parent just waits longer) until a
//! person answers with `warden approve` (it runs) or `warden deny` (it is killed, never runs),
//! started where no hook runs (a static program's raw `execve`).

use std::ffi::OsString;
use std::process::Command;

use warden_tests::probes::{describe, Guarded};
use warden_tests::strict_support::{bare_start, decisions_about, strict};
use warden_tests::text;

/// `warden preload --strict -- run_child --bare /usr/bin/touch MARKER` for an asked marker.
fn asking(guarded: &Guarded, name: &str) -> (Command, std::path::PathBuf) {
    let marker = guarded.marker(name);
    let mut command = bare_start();
    command.extend([OsString::from("/usr/bin/touch"), marker.clone().into()]);
    (strict(guarded, &command), marker)
}

#[test]
fn an_approved_start_runs_after_the_person_approves() {
    let guarded = Guarded::start();
    let (command, marker) = asking(&guarded, "asked-approve");
    let out = guarded.resolve_ask(command, "approve");
    assert!(marker.exists(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("child status=0"),
        "{}",
        describe(&out)
    );
    let waiting = "warden: waiting for approval #";
    assert!(text(&out.stderr).contains(waiting), "{}", describe(&out));
    let marker_text = marker.to_str().unwrap();
    let asked = decisions_about(&guarded, |argv| argv == ["/usr/bin/touch", marker_text]);
    assert_eq!(asked, [("strict".to_string(), "ask".to_string())]);
}

#[test]
fn a_denied_start_is_killed_and_never_runs() {
    let guarded = Guarded::start();
    let (command, marker) = asking(&guarded, "asked-deny");
    let out = guarded.resolve_ask(command, "deny");
    assert!(!marker.exists(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains(&format!("child signal={}", libc::SIGKILL)),
        "{}",
        describe(&out)
    );
    let line = format!(
        "warden: denied: /usr/bin/touch {} — denied by the operator",
        marker.display()
    );
    assert!(text(&out.stderr).contains(&line), "{}", describe(&out));
}

#[test]
fn only_the_asking_process_waits_and_its_death_abandons_the_approval() {
    let guarded = Guarded::start();
    let starter = bare_start().join(std::ffi::OsStr::new(" "));
    let [asked, go, other] = ["asked-abandoned", "go", "ok-meanwhile"].map(|m| guarded.marker(m));
    let script = format!(
        "{} /usr/bin/touch {} & p=$!; until [ -e {} ]; do sleep 0.02; done; /usr/bin/touch {}; \
         wait $p",
        starter.to_str().unwrap(),
        asked.display(),
        go.display(),
        other.display()
    );
    let mut child = strict(&guarded, &["bash", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start warden preload --strict");
    warden_tests::wait_until("an approval", || !guarded.pending().is_empty());
    let socket = guarded.home.socket();
    let approvals = warden_tests::http(&socket, "GET", "/v1/approvals", None).json();
    let waiting_pid = approvals[0]["pid"].as_i64().expect("the waiting pid") as i32;

    // While that process waits, the rest of the tree goes on starting programs.
    std::fs::write(&go, "").unwrap();
    warden_tests::wait_until("a start elsewhere in the tree", || other.exists());
    assert_eq!(guarded.pending().len(), 1);

    // SAFETY: kill with the pid of the stopped tracee this test started (through warden).
    unsafe { libc::kill(waiting_pid, libc::SIGKILL) };
    warden_tests::wait_until("the approval to be abandoned", || {
        guarded.pending().is_empty()
    });
    let log = warden_tests::http(&socket, "GET", "/v1/log?n=50", None).json();
    let abandoned = log.as_array().unwrap().iter().any(|record| {
        record["kind"] == "resolution" && record["resolver"] == "waiter disconnected"
    });
    assert!(abandoned, "{log}");
    let status = child.wait().expect("warden preload ends");
    assert_eq!(
        status.code(),
        Some(128 + libc::SIGKILL),
        "bash passes on its child's status"
    );
    assert!(!asked.exists());
}
