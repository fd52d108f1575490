//! `warden test` and `warden policy check|test` run as the real binary, with a temporary
//! WARDEN_HOME so that the operator's own policy is never read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Home {
    dir: PathBuf,
}

impl Home {
    fn new(name: &str) -> Home {
        let dir = std::env::temp_dir().join(format!("warden-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Home { dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn warden(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .env("WARDEN_HOME", &self.dir)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    let text = stdout(output);
    assert_eq!(text.lines().count(), 1, "exactly one JSON line: {text:?}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn test_exit_codes_and_json_follow_the_decision() {
    let home = Home::new("codes");
    let deny = home.warden(&["test", "--json", "rm -rf ~"]);
    assert_eq!(deny.status.code(), Some(1));
    let value = json(&deny);
    assert_eq!(value["decision"], "deny");
    assert_eq!(value["rule"], "rm-recursive-root-home-system");
    assert!(value["message"]
        .as_str()
        .unwrap()
        .contains("recursive delete"));

    let ask = home.warden(&["test", "--json", "git push --force"]);
    assert_eq!(ask.status.code(), Some(2));
    assert_eq!(json(&ask)["decision"], "ask");

    let allow = home.warden(&["test", "--json", "cargo test"]);
    assert_eq!(allow.status.code(), Some(0));
    assert_eq!(
        json(&allow),
        serde_json::json!({"decision": "allow", "rule": null, "message": null})
    );

    let log = home.warden(&["test", "--json", "env -i make"]);
    assert_eq!(log.status.code(), Some(0));
    assert_eq!(json(&log)["decision"], "log");
}

#[test]
fn test_plain_output_names_decision_rule_and_message() {
    let home = Home::new("plain");
    let out = home.warden(&["test", "sudo rm -rf /"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("decision: deny"), "{text}");
    assert!(
        text.contains("rule: rm-recursive-root-home-system"),
        "{text}"
    );
    assert!(text.contains("message: recursive delete"), "{text}");
}

#[test]
fn test_uses_the_user_policy_and_cwd() {
    let home = Home::new("user");
    home.write(
        "policy.toml",
        "[[rule]]\nname = \"no-make-in-prod\"\naction = \"deny\"\nprogram = [\"make\"]\ncwd = [\"/srv/prod/**\"]\n",
    );
    let prod = home.warden(&["test", "--json", "--cwd", "/srv/prod/app", "make"]);
    assert_eq!(json(&prod)["rule"], "no-make-in-prod");
    assert_eq!(prod.status.code(), Some(1));
    let elsewhere = home.warden(&["test", "--json", "--cwd", "/srv/dev", "make"]);
    assert_eq!(elsewhere.status.code(), Some(0));
    // The built-in default still applies beneath the user policy.
    assert_eq!(home.warden(&["test", "rm -rf /"]).status.code(), Some(1));
}

#[test]
fn test_with_an_explicit_policy_uses_that_file_alone() {
    let home = Home::new("explicit");
    let file = home.write(
        "only.toml",
        "default = \"ask\"\n[[rule]]\nname = \"ls-ok\"\naction = \"allow\"\nprogram = [\"ls\"]\n",
    );
    let file = file.to_str().unwrap();
    assert_eq!(
        home.warden(&["test", "--policy", file, "ls -la"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        home.warden(&["test", "--policy", file, "cat x"])
            .status
            .code(),
        Some(2)
    );
    // Without the default policy beneath, nothing denies.
    assert_eq!(
        home.warden(&["test", "--policy", file, "rm -rf /"])
            .status
            .code(),
        Some(2)
    );

    let layered = home.write(
        "layered.toml",
        "include_default = true\n[[rule]]\nname = \"ls-ask\"\naction = \"ask\"\nprogram = [\"ls\"]\n",
    );
    let layered = layered.to_str().unwrap();
    assert_eq!(
        home.warden(&["test", "--policy", layered, "rm -rf /"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        home.warden(&["test", "--policy", layered, "ls"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn test_reports_a_broken_policy_with_exit_3() {
    let home = Home::new("broken");
    home.write(
        "policy.toml",
        "[[rule]]\nname = \"x\"\naction = \"nope\"\nprogram = [\"ls\"]\n",
    );
    let out = home.warden(&["test", "ls"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("policy.toml:3: rule \"x\": unknown variant `nope`"),
        "{err}"
    );
    let missing = home.warden(&["test", "--policy", "/nonexistent/p.toml", "ls"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(stderr(&missing).contains("/nonexistent/p.toml"));
    assert_eq!(home.warden(&["test"]).status.code(), Some(3), "usage error");
}

#[test]
fn policy_check_names_file_line_and_rule() {
    let home = Home::new("check");
    let good = home.write(
        "good.toml",
        "[[rule]]\nname = \"a\"\naction = \"deny\"\nprogram = [\"x\"]\n",
    );
    let bad = home.write(
        "bad.toml",
        "[[rule]]\nname = \"a\"\naction = \"deny\"\nprogram = [\"x\"]\n\n[[rule]]\nname = \"b\"\naction = \"deny\"\nargs_any = [\"(\"]\n",
    );
    let ok = home.warden(&["policy", "check", good.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("ok (1 rule, 0 tests)"));
    let out = home.warden(&[
        "policy",
        "check",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let expected = format!(
        "{}:9: rule \"b\": bad regex in `args_any`: \"(\"",
        bad.display()
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/default.toml");
    let out = home.warden(&["policy", "check", shipped.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn policy_check_rejects_user_rules_that_clash_with_the_default() {
    let home = Home::new("clash");
    let user = home.write(
        "policy.toml",
        "[[rule]]\nname = \"git-push-force\"\naction = \"allow\"\nprogram = [\"git\"]\n",
    );
    let out = home.warden(&["policy", "check", user.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("duplicate rule name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn policy_test_runs_embedded_tests_and_fails_on_mismatch() {
    let home = Home::new("ptest");
    let all = home.warden(&["policy", "test"]);
    assert_eq!(all.status.code(), Some(0), "{}", stdout(&all));
    assert!(stdout(&all).trim_end().ends_with("passed, 0 failed"));

    let file = home.write(
        "p.toml",
        "[[rule]]\nname = \"r\"\naction = \"deny\"\nprogram = [\"rm\"]\n\n[[test]]\ncommand = \"rm x\"\nexpect = \"deny\"\n\n[[test]]\ncommand = \"rm y\"\nexpect = \"allow\"\n",
    );
    let out = home.warden(&["policy", "test", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("FAIL {}:10: rm y", file.display())),
        "{text}"
    );
    assert!(text.contains("expected allow, got deny (rule r)"), "{text}");
    assert!(text.contains("1 passed, 1 failed"), "{text}");
}
