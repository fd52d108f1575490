//! Policy reload: a changed file takes effect without a restart; an invalid one keeps the
//! previous policy in force and says why.

use warden_tests::{http, preflight, text, wait_until, Daemon, TempHome};

const FIRST: &str = r#"
[[rule]]
name = "no-rm"
action = "deny"
program = ["rm"]
"#;

const SECOND: &str = r#"
[[rule]]
name = "no-curl"
action = "deny"
program = ["curl"]
"#;

fn status(home: &TempHome) -> serde_json::Value {
    serde_json::from_slice(&home.warden(&["status", "--json"]).stdout).unwrap()
}

#[test]
fn a_changed_policy_file_is_picked_up_and_an_invalid_one_keeps_the_old() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, FIRST);
    let file = home.path().join("test-policy.toml");
    assert_eq!(
        preflight(&home.socket(), &["curl", "x"])["decision"],
        "allow"
    );

    std::fs::write(&file, SECOND).unwrap();
    wait_until("the new policy to be in force", || {
        preflight(&home.socket(), &["curl", "x"])["decision"] == "deny"
    });
    assert_eq!(preflight(&home.socket(), &["rm", "x"])["decision"], "allow");

    std::fs::write(
        &file,
        "[[rule]]\nname = \"broken\"\naction = \"sometimes\"\n",
    )
    .unwrap();
    wait_until("the reload error to be reported", || {
        !status(&home)["policy_error"].is_null()
    });
    // The previous policy stays in force.
    assert_eq!(
        preflight(&home.socket(), &["curl", "x"])["decision"],
        "deny"
    );
    let human = text(&home.warden(&["status"]).stdout);
    assert!(human.contains("reload failed"), "{human}");

    let reload = http(&home.socket(), "POST", "/v1/policy/reload", None);
    assert_eq!(reload.status, 422, "{reload:?}");
    assert!(reload.json()["error"]
        .as_str()
        .unwrap()
        .contains("stays in force"));

    std::fs::write(&file, FIRST).unwrap();
    let reload = http(&home.socket(), "POST", "/v1/policy/reload", None);
    assert_eq!(reload.status, 200, "{reload:?}");
    assert!(status(&home)["policy_error"].is_null());
    assert_eq!(preflight(&home.socket(), &["rm", "x"])["decision"], "deny");
}

#[test]
fn an_invalid_policy_at_start_is_an_error() {
    let home = TempHome::new();
    let file = home.path().join("bad.toml");
    std::fs::write(&file, "this is not toml [").unwrap();
    let out = home.warden(&["serve", "--policy", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.contains("invalid policy") || err.contains("bad.toml"),
        "{err}"
    );
    assert!(!home.socket().exists());
}
