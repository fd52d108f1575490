//! A `warden preload` inside a guarded session joins it: after `warden setup codex`, a
//! `warden preload -- codex` that finds the wrapper first on PATH runs the real codex in the
//! same session at once (it used to wait ten minutes for an approval nobody was asked for),
//! and so does an agent that starts the wrapper. The operator's own nested preload is not an
//! escape and is not held up either.

use serde_json::Value;
use warden_tests::probes::{describe, Guarded};
use warden_tests::setup_support::SetupHome;
use warden_tests::{run, text, warden_bin, Daemon, TempHome};

/// The real `@openai/codex` from `tests/node_modules` (installed by `make test`).
fn npm_codex_dir() -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin");
    assert!(
        bin.join("codex").exists(),
        "run `make test` (npm ci in tests/)"
    );
    bin
}

/// The distinct sessions of the decisions recorded in `home`.
fn sessions_in(records: &[Value]) -> Vec<String> {
    let mut sessions: Vec<String> = records
        .iter()
        .filter_map(|r| r["session"].as_str().map(str::to_string))
        .collect();
    sessions.sort();
    sessions.dedup();
    sessions
}

fn decisions(home: &TempHome) -> Vec<Value> {
    warden_tests::decision_records(home)
}

#[test]
fn preload_of_a_setup_wrapper_runs_the_real_codex_in_the_same_session() {
    let npm_bin = npm_codex_dir();
    let h = SetupHome::new();
    // The default policy, as a new user has it.
    let _daemon = Daemon::start_with(h.warden_home(), None, &[]);
    let path = h.path_var(&[&h.bin, &npm_bin]);
    h.setup(&path, &["codex"], &[]).assert_success();

    let out = run(h
        .warden_command(&["preload", "--", "codex", "--version"])
        .env("PATH", &path));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).starts_with("codex-cli "),
        "{}",
        describe(&out)
    );
    let records = decisions(h.warden_home());
    let real = npm_bin.join("codex");
    assert!(
        records
            .iter()
            .any(|r| r["path"] == real.to_str().unwrap() && r["decision"] == "allow"),
        "the real codex was judged and allowed: {records:#?}"
    );
    assert_eq!(sessions_in(&records).len(), 1, "one session: {records:#?}");
    assert!(
        records.iter().all(|r| r["decision"] == "allow"),
        "nothing asked or denied: {records:#?}"
    );
}

#[test]
fn a_nested_preload_inside_a_session_joins_it_and_keeps_its_mode() {
    let guarded = Guarded::start();
    let denied = guarded.marker("denied-nested");
    let allowed = guarded.marker("ok-nested");
    let warden = warden_bin();
    let script = r#""$0" preload --monitor -- touch "$1"; "$0" preload -- touch "$2""#;
    let out = run(&mut guarded.preload(&[
        "sh".as_ref(),
        "-c".as_ref(),
        script.as_ref(),
        warden.as_os_str(),
        denied.as_os_str(),
        allowed.as_os_str(),
    ]));
    assert!(out.status.success(), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("already inside guarded session"),
        "the ignored --monitor is named: {stderr}"
    );
    assert!(
        !denied.exists(),
        "--monitor of a nested preload switched enforcement off"
    );
    assert!(allowed.exists(), "{}", describe(&out));
    let records = guarded.decisions();
    assert_eq!(sessions_in(&records).len(), 1, "one session: {records:#?}");
}

#[test]
fn the_operators_own_nested_preload_runs_without_waiting() {
    let home = TempHome::new();
    let _daemon = Daemon::start_with(&home, None, &[]);
    let marker = home.work().join("ran");
    let warden = warden_bin();
    let mut command = home.warden_command(&["preload", "--"]);
    command
        .arg(&warden)
        .args(["preload", "--", "touch"])
        .arg(&marker);
    let out = run(&mut command);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(marker.exists());
    let records = decisions(&home);
    assert!(
        records.iter().all(|r| r["decision"] == "allow"),
        "{records:#?}"
    );
}
