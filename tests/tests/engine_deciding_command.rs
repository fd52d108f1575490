//! The real daemon with the shipped default policy names the simple command that decided a
//! Codex-style `bash -lc '<3 KB snapshot>\n<command>'` (issue 12 §3): in the preflight reply
//! the library prints from, and in the audit record `warden log` shows.

use warden_tests::{decision_records, preflight, Daemon, TempHome};

/// A Codex shell snapshot as it prefixes every command.
const SNAPSHOT: &str = include_str!("../corpus/codex-snapshot.sh");

fn codex_script(command: &str) -> String {
    format!("{SNAPSHOT}cd /home/dev/project && {command}")
}

#[test]
fn a_denied_codex_script_is_reported_by_its_inner_command() {
    let home = TempHome::new();
    let _daemon = Daemon::start_with(&home, None, &[]);
    let script = codex_script("cat /tmp/x/.ssh/id_rsa");
    let reply = preflight(&home.socket(), &["bash", "-lc", &script]);
    assert_eq!(reply["decision"], "deny", "{reply}");
    assert_eq!(reply["command"], "cat /tmp/x/.ssh/id_rsa", "{reply}");
    let records = decision_records(&home);
    let record = records.last().expect("a decision record");
    assert_eq!(
        record["command"],
        serde_json::json!(["cat", "/tmp/x/.ssh/id_rsa"]),
        "{record}"
    );
}

#[test]
fn an_asked_codex_script_is_reported_by_its_inner_command() {
    let home = TempHome::new();
    let _daemon = Daemon::start_with(&home, None, &["--approval-timeout", "1"]);
    let script = codex_script("cargo test && git push --force origin main");
    let reply = preflight(&home.socket(), &["bash", "-lc", &script]);
    assert_eq!(reply["decision"], "ask", "{reply}");
    assert_eq!(reply["command"], "git push --force origin main", "{reply}");
}
