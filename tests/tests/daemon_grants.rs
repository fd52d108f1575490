//! Approval grants: approving `bash -c "kubectl apply -f x"` lets the approved process and
//! its descendants run exactly `kubectl apply -f x` for a while without a second ask, and
//! nothing else: not another process, not another command, not what the policy denies.
//!
//! The asking process must be real and alive (the daemon identifies it by `SO_PEERCRED` and
//! its start time), so the preflights come from a small Python agent that this test drives.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use warden_tests::{decision_records, http, text, Daemon, TempHome};

/// `kubectl` asks, except in /prod where it is denied.
const POLICY: &str = r#"
[[rule]]
name = "ask-kubectl"
action = "ask"
message = "cluster changes need a person"
program = ["kubectl"]

[[rule]]
name = "no-kubectl-in-prod"
action = "deny"
message = "not from the production checkout"
program = ["kubectl"]
cwd = ["/prod/**"]
"#;

const APPROVED: &[&str] = &["bash", "-c", "kubectl apply -f x"];
const INNER: &[&str] = &["kubectl", "apply", "-f", "x"];

/// Reads `self BODY` or `child BODY` lines; answers each with the daemon's reply body, from
/// its own process or from a fresh child process.
const AGENT: &str = r#"
import json, os, socket, subprocess, sys

def preflight(sock, body):
    request = json.loads(body)
    request["pid"], request["ppid"] = os.getpid(), os.getppid()
    data = json.dumps(request).encode()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(30)
    conn.connect(sock)
    conn.sendall(b"POST /v1/preflight/exec HTTP/1.1\r\nHost: warden\r\nConnection: close\r\n"
                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
    raw = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        raw += chunk
    return raw.split(b"\r\n\r\n", 1)[1].decode()

if len(sys.argv) > 2:
    print(preflight(sys.argv[1], sys.argv[2]))
    sys.exit(0)
for line in sys.stdin:
    where, body = line.rstrip("\n").split(" ", 1)
    if where == "self":
        answer = preflight(sys.argv[1], body)
    else:
        answer = subprocess.run([sys.executable, sys.argv[0], sys.argv[1], body],
                                capture_output=True, text=True, timeout=30).stdout.strip()
    print(answer, flush=True)
"#;

/// The Python agent: a live process that sends preflights on request.
struct Agent {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Agent {
    fn start(home: &TempHome) -> Agent {
        let script = home.path().join("agent.py");
        std::fs::write(&script, AGENT).unwrap();
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(home.socket())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Agent {
            child,
            input,
            output,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A preflight of `argv` in `cwd` from the agent itself (`self`) or a child (`child`).
    fn preflight(&mut self, from: &str, argv: &[&str], cwd: &str) -> serde_json::Value {
        writeln!(self.input, "{from} {}", request(argv, cwd)).unwrap();
        let mut line = String::new();
        self.output
            .read_line(&mut line)
            .expect("the agent's answer");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("agent answered {line:?}: {e}"))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(argv: &[&str], cwd: &str) -> String {
    serde_json::json!({
        "session": null,
        "hook": "execve",
        "path": format!("/usr/bin/{}", argv[0]),
        "argv": argv,
        "cwd": cwd,
        "pid": 0,
        "ppid": 0,
        "caller": ["bash"],
        "shell": null,
    })
    .to_string()
}

fn approve(home: &TempHome, reply: &serde_json::Value) -> u64 {
    assert_eq!(reply["decision"], "ask", "{reply}");
    let id = reply["id"].as_u64().expect("an approval id");
    let out = home.warden(&["approve", &id.to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    id
}

fn pending_count(home: &TempHome) -> usize {
    let list = http(&home.socket(), "GET", "/v1/approvals", None).json();
    list.as_array().unwrap().len()
}

#[test]
fn an_approval_covers_its_inner_command_for_the_approved_process_tree_only() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, POLICY);
    let mut agent = Agent::start(&home);
    let id = approve(&home, &agent.preflight("self", APPROVED, "/work"));

    // Another process (this test, the agent's parent) is not covered.
    let body = request(INNER, "/work");
    let other = http(
        &home.socket(),
        "POST",
        "/v1/preflight/exec",
        Some(body.as_bytes()),
    )
    .json();
    assert_eq!(other["decision"], "ask", "{other}");
    home.warden(&["deny", &other["id"].to_string()]);
    // Another command from the approved process is not covered.
    let different = agent.preflight("self", &["kubectl", "apply", "-f", "y"], "/work");
    assert_eq!(different["decision"], "ask", "{different}");
    home.warden(&["deny", &different["id"].to_string()]);
    // What the policy denies stays denied, even the granted command itself.
    let denied = agent.preflight("self", INNER, "/prod/app");
    assert_eq!(denied["decision"], "deny", "{denied}");
    assert_eq!(denied["rule"], "no-kubectl-in-prod", "{denied}");

    // The approved process (exec in place) and its children: allowed, no new approval.
    for from in ["self", "child", "self"] {
        let granted = agent.preflight(from, INNER, "/work");
        assert_eq!(granted["decision"], "allow", "from {from}: {granted}");
        assert_eq!(granted["rule"], format!("approval #{id}"), "{granted}");
        assert_eq!(granted["id"], serde_json::Value::Null, "{granted}");
    }
    assert_eq!(pending_count(&home), 0);

    let records = decision_records(&home);
    let by_grant: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["resolver"] == "grant")
        .collect();
    assert_eq!(by_grant.len(), 3, "{records:#?}");
    for record in by_grant {
        assert_eq!(record["decision"], "allow", "{record}");
        assert_eq!(record["action"], "ask", "{record}");
        assert_eq!(record["approval"].as_u64(), Some(id), "{record}");
        assert_eq!(record["rule"], format!("approval #{id}"), "{record}");
    }
    // The child's request came from a process other than the agent.
    let child_pid = records
        .iter()
        .filter(|r| r["resolver"] == "grant")
        .nth(1)
        .and_then(|r| r["pid"].as_u64())
        .unwrap();
    assert_ne!(child_pid, u64::from(agent.pid()));
}

#[test]
fn refused_approvals_grant_nothing() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, POLICY);
    let mut agent = Agent::start(&home);
    let asked = agent.preflight("self", APPROVED, "/work");
    assert_eq!(asked["decision"], "ask", "{asked}");
    let out = home.warden(&["deny", &asked["id"].to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = agent.preflight("self", INNER, "/work");
    assert_eq!(again["decision"], "ask", "{again}");
}

#[test]
fn an_expired_grant_asks_again() {
    let home = TempHome::new();
    let _daemon = Daemon::start_with(&home, Some(POLICY), &["--grant-seconds", "1"]);
    let mut agent = Agent::start(&home);
    let asked = agent.preflight("self", APPROVED, "/work");
    // The grant's second starts after this instant (at the approval).
    let before_approval = Instant::now();
    approve(&home, &asked);
    let ended = before_approval + Duration::from_millis(1100);
    // Time passing is the behaviour under test: nothing else to wait for.
    std::thread::sleep(ended.saturating_duration_since(Instant::now()));
    let again = agent.preflight("self", INNER, "/work");
    assert_eq!(again["decision"], "ask", "{again}");
}

#[test]
fn monitor_mode_asks_nobody_and_grants_nothing() {
    let home = TempHome::new();
    let _daemon = Daemon::start_with(&home, Some(POLICY), &["--monitor"]);
    let mut agent = Agent::start(&home);
    for argv in [APPROVED, INNER] {
        let reply = agent.preflight("self", argv, "/work");
        assert_eq!(reply["decision"], "allow", "{reply}");
        assert_eq!(reply["rule"], "ask-kubectl", "{reply}");
    }
    assert_eq!(pending_count(&home), 0);
    let records = decision_records(&home);
    assert!(
        records
            .iter()
            .all(|r| r["would"] == "ask" && r["resolver"].is_null()),
        "{records:#?}"
    );
}

#[test]
fn approve_always_grants_the_inner_command_too() {
    let home = TempHome::new();
    // `--always` writes to $WARDEN_HOME/policy.toml, which only the default layering reads.
    std::fs::write(home.path().join("policy.toml"), POLICY).unwrap();
    let _daemon = Daemon::start_with(&home, None, &[]);
    let mut agent = Agent::start(&home);
    let asked = agent.preflight("self", APPROVED, "/work");
    assert_eq!(asked["decision"], "ask", "{asked}");
    let id = asked["id"].as_u64().unwrap();
    let out = home.warden(&["approve", &id.to_string(), "--always"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let granted = agent.preflight("child", INNER, "/work");
    assert_eq!(granted["decision"], "allow", "{granted}");
    assert_eq!(granted["rule"], format!("approval #{id}"), "{granted}");
}
