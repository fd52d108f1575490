//! `warden stop`: ends the daemon cleanly and returns once it has exited; an operator
//! command, refused inside a guarded session and through the door.

use warden_tests::probes::{describe, Guarded};
use warden_tests::{door_connect, http, http_over, run, text, Daemon, TempHome};

#[test]
fn stop_ends_the_daemon_and_returns_once_it_has_exited() {
    let home = TempHome::new();
    let mut daemon = Daemon::start(&home, "");
    let out = home.warden(&["stop"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains(&format!("stopped (pid {})", daemon.pid())),
        "{}",
        describe(&out)
    );
    let status = daemon
        .exited()
        .expect("the daemon had exited when stop returned");
    assert!(status.success(), "a clean exit: {status:?}");
    assert!(!home.socket().exists(), "the socket is removed");
    assert!(daemon.log_text().contains("warden serve: stopped"));
}

#[test]
fn stop_without_a_daemon_says_so_and_succeeds() {
    let home = TempHome::new();
    let out = home.warden(&["stop"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("not running"),
        "{}",
        describe(&out)
    );
}

#[test]
fn stop_is_refused_inside_a_guarded_session_and_through_the_door() {
    let mut guarded = Guarded::start();
    let warden = warden_tests::warden_bin();
    let out = run(&mut guarded.preload(&[warden.as_os_str(), "stop".as_ref()]));
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("refused"), "{}", describe(&out));

    let reply = http_over(
        door_connect(&guarded.home.door()),
        "POST",
        "/v1/shutdown",
        None,
    );
    assert_eq!(reply.status, 403, "{reply:?}");

    assert!(guarded.daemon.exited().is_none(), "the daemon was stopped");
    let status = http(&guarded.home.socket(), "GET", "/v1/status", None);
    assert_eq!(status.status, 200, "the daemon still answers: {status:?}");
}

#[test]
fn a_second_daemon_is_told_to_use_warden_stop() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, "");
    for args in [&["serve"][..], &["serve", "--background"]] {
        let out = home.warden(args);
        assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
        assert!(
            text(&out.stderr).contains("\"warden stop\""),
            "{args:?}: {}",
            describe(&out)
        );
    }
}
