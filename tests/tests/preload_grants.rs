//! One approval per approved command, end to end: a guarded process that starts a shell
//! string the policy asks about waits for ONE approval; once approved, the commands the shell
//! then starts (exec in place or forked) run under the approval's grant instead of asking
//! again.

use std::os::unix::fs::PermissionsExt;

use warden_tests::probes::{describe, probe, Guarded};
use warden_tests::{decision_records, text};

/// `fake-deploy` (a harmless stand-in for `kubectl apply`) asks; everything else is allowed.
const POLICY: &str = r#"
default = "allow"

[[rule]]
name = "ask-deploy"
action = "ask"
message = "test policy: deploys need a person"
program = ["fake-deploy"]
"#;

/// Asserts that the run asked exactly once and that `granted` later starts ran on its grant.
fn assert_one_ask(guarded: &Guarded, granted: usize) {
    let records = decision_records(&guarded.home);
    let asks: Vec<_> = records.iter().filter(|r| r["decision"] == "ask").collect();
    assert_eq!(asks.len(), 1, "expected one ask: {records:#?}");
    let id = asks[0]["approval"].as_u64().expect("the ask's approval id");
    let by_grant: Vec<_> = records
        .iter()
        .filter(|r| r["resolver"] == "grant")
        .collect();
    assert_eq!(by_grant.len(), granted, "{records:#?}");
    for record in by_grant {
        assert_eq!(record["decision"], "allow", "{record}");
        assert_eq!(record["rule"], format!("approval #{id}"), "{record}");
    }
}

#[test]
fn an_approved_shell_string_asks_once_for_the_commands_it_starts() {
    let guarded = Guarded::with_policy(POLICY);
    let bin = guarded.home.work().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("fake-deploy");
    // Creates its marker with a redirection: no further program start to judge.
    std::fs::write(&fake, "#!/bin/sh\n: > \"$1\"\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (first, second) = (guarded.marker("first"), guarded.marker("second"));
    // The outer bash is asked about at its own load (nothing judged its start: `warden
    // preload` starts it); its approval grants the inner bash and both fake-deploy runs, which
    // the inner bash starts from a forked child and, for the last one, possibly in place.
    let inner = format!(
        "fake-deploy {}; fake-deploy {}",
        first.display(),
        second.display()
    );
    let script = format!("bash -c '{inner}'; true");
    let mut command = guarded.preload(&["bash", "-c", script.as_str()]);
    command.env("PATH", format!("{}:/usr/bin:/bin", bin.display()));

    let out = guarded.resolve_ask(command, "approve");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(first.exists() && second.exists(), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.matches("warden: waiting for approval #").count(),
        1,
        "{stderr}"
    );
    assert_one_ask(&guarded, 3);
}

#[test]
fn a_command_approved_through_system_does_not_ask_again_in_the_shell() {
    let guarded = Guarded::start();
    let marker = guarded.marker("asked-system");
    let binary = probe("system");
    let command = guarded.preload(&[binary.as_os_str(), marker.as_os_str()]);
    let out = guarded.resolve_ask(command, "approve");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists(), "{}", describe(&out));
    assert_one_ask(&guarded, 1);
}
