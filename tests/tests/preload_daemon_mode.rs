//! A session without `--monitor` of its own follows the daemon's mode: under
//! `warden serve --monitor` nothing is blocked, every decision is still recorded.

use warden_tests::probes::{describe, Guarded, POLICY};
use warden_tests::{run, Daemon, TempHome};

fn monitor_daemon() -> Guarded {
    let home = TempHome::new();
    let daemon = Daemon::start_with(&home, Some(POLICY), &["--monitor"]);
    std::fs::create_dir_all(home.work().join("m")).unwrap();
    Guarded { home, daemon }
}

#[test]
fn a_session_under_a_monitor_daemon_blocks_nothing_and_records_what_it_would_have_done() {
    let guarded = monitor_daemon();
    let denied = guarded.marker("denied-but-monitored");
    let out = run(&mut guarded.preload(&["touch".as_ref(), denied.as_os_str()]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        denied.exists(),
        "a monitor daemon's session blocked a program"
    );
    let record = guarded
        .decisions()
        .into_iter()
        .find(|r| r["argv"][1] == denied.to_str().unwrap())
        .expect("the touch was judged");
    assert_eq!(record["mode"], "monitor", "{record}");
    assert_eq!(record["decision"], "allow", "{record}");
    assert_eq!(record["would"], "deny", "{record}");
    assert!(
        record["session"].is_string(),
        "judged inside the session: {record}"
    );
}

#[test]
fn a_session_under_an_enforcing_daemon_still_blocks() {
    let guarded = Guarded::start();
    let denied = guarded.marker("denied-enforced");
    let out = run(&mut guarded.preload(&["touch".as_ref(), denied.as_os_str()]));
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(!denied.exists());
}
