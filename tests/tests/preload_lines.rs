//! What a guarded program's stderr says: a denial names the simple command that decided it,
//! shell-quoted, not the long script around it; the waiting line tells an agent to stop and
//! ask its user, and is said again every 30 seconds while nobody answers.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use warden_tests::{http, run, text, wait_until, Daemon, TempHome};

const POLICY: &str = r#"
[[rule]]
name = "no-secret-reads"
action = "deny"
message = "reading the test secret"
program = ["cat"]
args_any = [".*secret.*"]

[[rule]]
name = "ask-touch"
action = "ask"
message = "touching needs a person"
program = ["touch"]
"#;

#[test]
fn a_denial_names_the_deciding_command_shell_quoted() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, POLICY);
    let script = "echo one; echo two; cat '/tmp/a dir/secret.txt'; echo three";
    let out = run(&mut home.warden_command(&["preload", "--", "bash", "-c", script]));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warden: denied: cat '/tmp/a dir/secret.txt' — reading the test secret"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("echo one"),
        "the script around it is not the subject: {stderr}"
    );
}

#[test]
fn the_waiting_line_speaks_to_the_agent_and_repeats_every_30_seconds() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, POLICY);
    let marker = home.work().join("touched");
    let mut child = home
        .warden_command(&[
            "preload",
            "--",
            "bash",
            "-c",
            &format!("echo start; touch '{}'", marker.display()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines.send((Instant::now(), line));
        }
    });
    let mut waiting = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(45);
    while waiting.len() < 2 && Instant::now() < deadline {
        if let Ok((at, line)) = seen.recv_timeout(Duration::from_millis(200)) {
            if line.contains("waiting for approval") {
                waiting.push((at, line));
            }
        }
    }
    assert_eq!(waiting.len(), 2, "said twice within 45 s: {waiting:?}");
    let gap = waiting[1].0 - waiting[0].0;
    assert!(
        gap >= Duration::from_secs(29) && gap <= Duration::from_secs(35),
        "said again after {gap:?}"
    );
    let line = &waiting[0].1;
    assert_eq!(line, &waiting[1].1, "the same line each time");
    assert!(
        line.starts_with(&format!(
            "warden: waiting for approval #1: touch {}",
            marker.display()
        )),
        "{line}"
    );
    assert!(
        line.contains("If you are an AI agent: stop and ask your user to approve #1"),
        "{line}"
    );
    wait_until("the pending ask", || {
        http(&home.socket(), "GET", "/v1/approvals", None).json()[0]["waiters"] == 1
    });
    assert!(home.warden(&["approve", "1"]).status.success());
    assert!(child.wait().unwrap().success());
    assert!(marker.exists());
}
