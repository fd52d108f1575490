//! `warden preload -- CMD` judges CMD itself before it starts: a static CMD (a Go
//! `terraform`, Codex itself) never loads the library, so nothing else would. CMD is judged
//! once: a dynamic CMD carries the proof and does not judge itself again at load.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use warden_tests::probes::{describe, Guarded, POLICY};
use warden_tests::{run, text};

fn policy() -> String {
    format!(
        r#"{POLICY}
[[rule]]
name = "no-destroy"
action = "deny"
message = "test policy: no destroy"
program = ["terraform"]
args_any = ["destroy"]

[[rule]]
name = "ask-apply"
action = "ask"
message = "test policy: apply needs a person"
program = ["terraform"]
args_any = ["apply"]
"#
    )
}

/// A static `terraform` built now: it creates the file named by `$RAN_MARKER` and exits 0.
fn static_terraform(guarded: &Guarded) -> PathBuf {
    let dir = guarded.home.work().join("static-bin");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("terraform.c");
    std::fs::write(
        &source,
        "#include <fcntl.h>\n#include <stdlib.h>\n#include <unistd.h>\n\
         int main(void) {\n\
           const char *marker = getenv(\"RAN_MARKER\");\n\
           if (marker) close(open(marker, O_CREAT | O_WRONLY, 0600));\n\
           return 0;\n\
         }\n",
    )
    .unwrap();
    let binary = dir.join("terraform");
    let cc = run(Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(&binary)
        .arg(&source));
    assert!(cc.status.success(), "cc -static: {}", describe(&cc));
    binary
}

/// `warden preload FLAGS -- terraform ARGS` with the static terraform first on PATH.
fn preload_terraform(
    guarded: &Guarded,
    terraform: &Path,
    flags: &[&str],
    args: &[&str],
) -> (Command, PathBuf) {
    let marker = guarded.marker(&format!("ran-{}", args.join("-")));
    let mut command = guarded.home.warden_command(&["preload"]);
    command.args(flags).args(["--", "terraform"]).args(args);
    let path = format!(
        "{}:{}",
        terraform.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    command.env("PATH", path).env("RAN_MARKER", &marker);
    (command, marker)
}

/// The decisions about a program called `name` (argv[0]).
fn decisions_for(guarded: &Guarded, name: &str) -> Vec<Value> {
    guarded
        .decisions()
        .into_iter()
        .filter(|r| r["argv"][0] == name)
        .collect()
}

#[test]
fn a_static_agent_command_denied_by_a_rule_is_refused_and_recorded() {
    let guarded = Guarded::with_policy(&policy());
    let terraform = static_terraform(&guarded);
    let (mut command, marker) = preload_terraform(&guarded, &terraform, &[], &["destroy"]);
    let out = run(&mut command);
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert!(!marker.exists(), "the refused command ran");
    assert!(
        text(&out.stderr).contains("warden: denied: terraform destroy — test policy: no destroy"),
        "{}",
        describe(&out)
    );
    let records = decisions_for(&guarded, "terraform");
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["hook"], "preload");
    assert_eq!(records[0]["decision"], "deny");
    assert_eq!(records[0]["rule"], "no-destroy");
    assert_eq!(records[0]["path"], terraform.to_str().unwrap());
    assert!(records[0]["session"].is_string(), "{:#}", records[0]);
}

#[test]
fn an_allowed_static_agent_command_runs_after_one_decision() {
    let guarded = Guarded::with_policy(&policy());
    let terraform = static_terraform(&guarded);
    let (mut command, marker) = preload_terraform(&guarded, &terraform, &[], &["plan"]);
    let out = run(&mut command);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists());
    let records = decisions_for(&guarded, "terraform");
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["decision"], "allow");
}

#[test]
fn an_asked_agent_command_waits_for_the_operators_answer() {
    let guarded = Guarded::with_policy(&policy());
    let terraform = static_terraform(&guarded);
    let (command, marker) = preload_terraform(&guarded, &terraform, &[], &["apply"]);
    let out = guarded.resolve_ask(command, "approve");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists(), "approved, yet it did not run");
    assert!(
        text(&out.stderr).contains("warden: waiting for approval #"),
        "{}",
        describe(&out)
    );

    let (command, marker) =
        preload_terraform(&guarded, &terraform, &[], &["apply", "-auto-approve"]);
    let out = guarded.resolve_ask(command, "deny");
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert!(!marker.exists(), "denied, yet it ran");
}

#[test]
fn a_dynamic_agent_command_is_judged_exactly_once() {
    let guarded = Guarded::start();
    let marker = guarded.marker("ok-judged-once");
    let out = run(&mut guarded.preload(&["touch".as_ref(), marker.as_os_str()]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists());
    let records: Vec<Value> = guarded
        .decisions()
        .into_iter()
        .filter(|r| r["argv"][1] == marker.to_str().unwrap())
        .collect();
    assert_eq!(records.len(), 1, "judged once: {records:#?}");
    assert_eq!(
        records[0]["hook"], "preload",
        "by warden preload, not at load"
    );
}

#[test]
fn a_monitor_session_runs_a_denied_agent_command_and_records_what_enforce_would_do() {
    let guarded = Guarded::with_policy(&policy());
    let terraform = static_terraform(&guarded);
    let (mut monitored, marker) =
        preload_terraform(&guarded, &terraform, &["--monitor"], &["destroy"]);
    let out = run(&mut monitored);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists());
    let records = decisions_for(&guarded, "terraform");
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["decision"], "allow");
    assert_eq!(records[0]["would"], "deny");
}
