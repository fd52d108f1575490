//! The plain views next to `warden watch`: `warden log` and `warden pending` with no daemon,
//! `log -f` across a daemon restart, `NO_COLOR`, and the pending table's header and session.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use warden_tests::{
    ask, http, preflight, run, text, wait_until, warden_bin, Daemon, TempHome, Tmux, DEADLINE,
    TEST_POLICY,
};

#[test]
fn log_reads_the_audit_files_when_no_daemon_runs() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    preflight(&home.socket(), &["rm", "-rf", "/srv/old"]);
    preflight(&home.socket(), &["ls", "-l"]);
    daemon.stop();
    let out = home.warden(&["log", "-n", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("showing the audit files"),
        "{}",
        text(&out.stderr)
    );
    let shown = text(&out.stdout);
    assert_eq!(shown.lines().count(), 1, "{shown}");
    assert!(
        shown.contains("allow") && shown.contains("ls -l"),
        "{shown}"
    );
    let json = home.warden(&["log", "--json", "-n", "5"]);
    let records: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0]["argv"],
        serde_json::json!(["rm", "-rf", "/srv/old"])
    );
}

#[test]
fn pending_without_a_daemon_says_nothing_can_be_pending_and_what_was() {
    let home = TempHome::new();
    let out = home.warden(&["pending"]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(said.contains("nothing can be pending now"), "{said}");
    assert!(
        said.contains("nothing was pending when it last stopped"),
        "{said}"
    );

    let daemon = Daemon::start(&home, TEST_POLICY);
    let id = ask(&home.socket(), &["kubectl", "apply", "-f", "prod env.yaml"]);
    daemon.stop();
    let out = home.warden(&["pending"]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(said.contains("nothing can be pending now"), "{said}");
    assert!(said.contains("pending when it last stopped"), "{said}");
    assert!(said.contains(&format!("#{id}")), "{said}");
    assert!(said.contains("kubectl apply -f 'prod env.yaml'"), "{said}");
    let json: serde_json::Value =
        serde_json::from_slice(&home.warden(&["pending", "--json"]).stdout).unwrap();
    assert_eq!(json["running"], false);
    assert_eq!(json["pending_at_last_stop"][0]["id"].as_u64(), Some(id));
}

#[test]
fn pending_has_a_header_and_shows_the_session_and_the_agent() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let mut guarded = home.warden_command(&[
        "preload",
        "--agent",
        "tester",
        "--",
        "bash",
        "-c",
        "kubectl apply -f 'prod env.yaml'",
    ]);
    let asker = std::thread::spawn(move || run(&mut guarded));
    let mut approvals = serde_json::Value::Null;
    wait_until("the guarded ask", || {
        approvals = http(&home.socket(), "GET", "/v1/approvals", None).json();
        approvals.as_array().is_some_and(|a| !a.is_empty())
    });
    let (id, session) = (
        &approvals[0]["id"],
        approvals[0]["session"].as_str().unwrap(),
    );
    let said = text(&home.warden(&["pending"]).stdout);
    let mut lines = said.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["ID", "AGE", "SESSION", "AGENT", "CWD", "COMMAND"],
        "{said}"
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[0], format!("#{id}"), "{said}");
    assert_eq!(&row[2..4], [session, "tester"], "{said}");
    assert!(said.contains("kubectl apply -f 'prod env.yaml'"), "{said}");
    home.warden(&["deny", &id.to_string()]);
    assert!(!asker.join().unwrap().status.success());
}

#[test]
fn no_color_keeps_escape_codes_out_of_log_on_a_terminal() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    preflight(&home.socket(), &["rm", "-rf", "/srv"]);
    for (no_color, coloured) in [("", true), ("1", false)] {
        let tmux = Tmux::start(150, 10, &[("WARDEN_HOME", home.path().as_os_str())]);
        tmux.type_line(&format!(
            "NO_COLOR={no_color} {} log -n 1; echo log-$((1+1))-done",
            warden_bin().display()
        ));
        tmux.wait_for_text("log-2-done");
        let screen = tmux.screen_with_escapes();
        let painted = screen.contains("\x1b[31m");
        assert_eq!(painted, coloured, "NO_COLOR={no_color:?}: {screen:?}");
    }
}

#[test]
fn log_follow_reconnects_when_the_daemon_restarts() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    let mut follower = home
        .warden_command(&["log", "-f", "-n", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, seen) = mpsc::channel();
    for stream in [
        Box::new(follower.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(follower.stderr.take().unwrap()),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
    }
    let wait_for = |needle: &str, feed: &dyn Fn()| -> String {
        let deadline = std::time::Instant::now() + DEADLINE;
        loop {
            feed();
            if let Ok(line) = seen.recv_timeout(Duration::from_millis(200)) {
                if line.contains(needle) {
                    return line;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no line with {needle:?}"
            );
        }
    };
    let socket = home.socket();
    wait_for("rm -rf /before", &|| {
        preflight(&socket, &["rm", "-rf", "/before"]);
    });
    daemon.stop();
    wait_for("lost the daemon's event stream", &|| {});
    let _daemon = Daemon::start(&home, TEST_POLICY);
    wait_for("a daemon answers again", &|| {});
    wait_for("rm -rf /after", &|| {
        preflight(&socket, &["rm", "-rf", "/after"]);
    });
    assert_eq!(
        follower.try_wait().unwrap(),
        None,
        "log -f is still running"
    );
    let _ = follower.kill();
    let _ = follower.wait();
}
