//! Sessions and who may do what: an agent inside a session can never approve its own
//! request, and the session's mode (monitor) belongs to the daemon's record.

use std::io::Write;
use std::process::{Child, Command, Stdio};

use warden_tests::{
    ask, exec_request, http, preflight, text, wait_until, warden_bin, Daemon, TempHome, TEST_POLICY,
};

/// A bash that reads lines from stdin and runs each as a command (a forked child of bash),
/// printing its output and exit status; it stands for an agent's process tree.
struct Agent {
    child: Child,
}

impl Agent {
    fn spawn(home: &TempHome) -> Agent {
        let child = home
            .command("bash")
            .args([
                "-c",
                r#"while IFS= read -r line; do eval "$line" 2>&1; echo "exit=$?"; echo "--end--"; done"#,
            ])
            .env("PATH", path_with_warden())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn bash");
        Agent { child }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Runs `line` inside the agent's tree and returns what it printed.
    fn run(&mut self, line: &str) -> String {
        use std::io::BufRead;
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let stdout = self.child.stdout.as_mut().unwrap();
        let mut reader = std::io::BufReader::new(stdout);
        let mut out = String::new();
        loop {
            let mut next = String::new();
            let read = reader.read_line(&mut next).unwrap();
            assert!(read > 0, "agent exited; output so far: {out}");
            if next == "--end--\n" {
                return out;
            }
            out.push_str(&next);
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn path_with_warden() -> String {
    let dir = warden_bin().parent().unwrap().to_path_buf();
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn register(home: &TempHome, root_pid: i32, mode: &str) -> String {
    let body = serde_json::json!({
        "agent": "codex", "root_pid": root_pid, "cwd": "/tmp", "mode": mode,
    });
    let reply = http(
        &home.socket(),
        "POST",
        "/v1/sessions",
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()["id"].as_str().unwrap().to_string()
}

/// A `curl` command line that asks the daemon about `argv` from inside the agent.
fn curl_preflight(home: &TempHome, argv: &[&str]) -> String {
    let body = String::from_utf8(exec_request(argv)).unwrap();
    format!(
        "curl -s -w '\\n' --unix-socket {} -X POST http://warden/v1/preflight/exec -d '{body}'",
        home.socket().display()
    )
}

#[test]
fn an_agent_cannot_approve_its_own_request() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let mut agent = Agent::spawn(&home);
    let session = register(&home, agent.pid(), "enforce");

    let id = ask(&home.socket(), &["kubectl", "apply"]);
    let out = agent.run(&format!("warden approve {id}"));
    assert!(out.contains("exit=3"), "{out}");
    assert!(out.contains("refused"), "{out}");
    assert!(out.contains(&session), "{out}");
    for line in [
        "warden pending".to_string(),
        format!("warden deny {id}"),
        "warden status".to_string(),
    ] {
        let out = agent.run(&line);
        assert!(out.contains("refused"), "{line}: {out}");
    }
    // Still pending, and the operator outside the session can approve it.
    let approved = home.warden(&["approve", &id.to_string()]);
    assert!(approved.status.success(), "{}", text(&approved.stderr));
}

#[test]
fn a_session_cannot_be_ended_or_nested_from_inside() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let mut agent = Agent::spawn(&home);
    let session = register(&home, agent.pid(), "enforce");
    let socket = home.socket().display().to_string();
    let end = agent.run(&format!(
        "curl -s -o /dev/null -w '%{{http_code}}\\n' --unix-socket {socket} -X DELETE http://w/v1/sessions/{session}"
    ));
    assert!(end.starts_with("403"), "{end}");
    let nested = agent.run(&format!(
        r#"curl -s -o /dev/null -w '%{{http_code}}\n' --unix-socket {socket} -X POST http://w/v1/sessions -d '{{"agent":"x","root_pid":1,"cwd":"/","mode":"monitor"}}'"#
    ));
    assert!(nested.starts_with("403"), "{nested}");
    // The operator ends it.
    let reply = http(
        &home.socket(),
        "DELETE",
        &format!("/v1/sessions/{session}"),
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[test]
fn monitor_sessions_allow_everything_and_log_what_enforce_would_do() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let mut agent = Agent::spawn(&home);
    register(&home, agent.pid(), "monitor");
    let out = agent.run(&curl_preflight(&home, &["rm", "-rf", "/"]));
    let reply: serde_json::Value =
        serde_json::from_str(out.lines().next().unwrap()).unwrap_or_else(|_| panic!("{out}"));
    assert_eq!(reply["decision"], "allow", "{reply}");
    let ask = agent.run(&curl_preflight(&home, &["kubectl", "apply"]));
    assert!(ask.contains(r#""decision":"allow""#), "{ask}");
    // Outside the session the same request is denied: the mode belongs to the session.
    assert_eq!(
        preflight(&home.socket(), &["rm", "-rf", "/"])["decision"],
        "deny"
    );

    let log = home.warden(&["log", "--json", "-n", "10"]);
    let records: Vec<serde_json::Value> = text(&log.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3, "{records:?}");
    assert_eq!(records[0]["mode"], "monitor");
    assert_eq!(records[0]["decision"], "allow");
    assert_eq!(records[0]["would"], "deny");
    assert_eq!(records[0]["agent"], "codex");
    assert_eq!(records[1]["would"], "ask");
    assert_eq!(records[2]["mode"], "enforce");
    assert_eq!(records[2]["decision"], "deny");
    // No approval was created by the monitored ask.
    assert_eq!(
        text(&home.warden(&["pending"]).stdout).trim(),
        "no approvals pending"
    );
}

#[test]
fn sessions_survive_a_restart_and_dead_roots_are_forgotten() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    let mut agent = Agent::spawn(&home);
    let session = register(&home, agent.pid(), "enforce");
    daemon.stop();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let out = agent.run("warden pending");
    assert!(
        out.contains(&session),
        "still guarded after a restart: {out}"
    );
    drop(agent);
    wait_until("the dead session to be pruned", || {
        let status: serde_json::Value =
            serde_json::from_slice(&home.warden(&["status", "--json"]).stdout).unwrap();
        status["sessions"].as_array().unwrap().is_empty()
    });
}

#[test]
fn a_session_root_must_be_the_caller_or_its_descendant() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    // pid 1 would put every process in the session (and could switch them all to monitor).
    let body = serde_json::json!({"agent": "codex", "root_pid": 1, "cwd": "/", "mode": "monitor"});
    let reply = http(
        &home.socket(),
        "POST",
        "/v1/sessions",
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(reply.status, 403, "{reply:?}");
    assert!(reply.body.contains("descendants"), "{reply:?}");
}

#[test]
fn a_session_with_a_dead_root_is_refused() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id() as i32;
    gone.wait().unwrap();
    let body = serde_json::json!({"agent": "codex", "root_pid": pid, "cwd": "/"});
    let reply = http(
        &home.socket(),
        "POST",
        "/v1/sessions",
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(reply.status, 422, "{reply:?}");
    assert!(reply.body.contains("not a running process"), "{reply:?}");
}

#[test]
fn the_session_root_itself_may_end_its_session() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    // bash reads the session id, then becomes curl (same pid: the registered root).
    let mut root = home
        .command("bash")
        .args([
            "-c",
            r#"read id; exec curl -s -o /dev/null -w '%{http_code}' --unix-socket "$0" -X DELETE "http://w/v1/sessions/$id""#,
        ])
        .arg(home.socket())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let session = register(&home, root.id() as i32, "enforce");
    writeln!(root.stdin.take().unwrap(), "{session}").unwrap();
    let out = root.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "200");
    let status: serde_json::Value =
        serde_json::from_slice(&home.warden(&["status", "--json"]).stdout).unwrap();
    assert!(
        status["sessions"].as_array().unwrap().is_empty(),
        "{status}"
    );
}
