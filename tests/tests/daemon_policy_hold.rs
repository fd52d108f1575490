//! Without session isolation the agent can write the policy file. While such a session runs,
//! a change that loosens the policy (a new `[[approved]]` entry, new flag aliases) waits for
//! an operator's `warden policy reload`, which the agent cannot call; a change that only adds
//! a deny rule applies at once. Killing the daemon does not apply what waits: the daemon
//! `warden preload` starts next runs the policy that was in force.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use warden_tests::probes::describe;
use warden_tests::{http, preflight, text, wait_until, Daemon, KillsAnsweringDaemon, TempHome};

/// The operator's policy: `frob -r` is denied, `frob push` asks.
const OPERATOR_POLICY: &str = r#"
[[rule]]
name = "no-frob-r"
action = "deny"
message = "test: recursive frob"
program = ["frob"]
flags = ["-r"]

[[rule]]
name = "ask-frob-push"
action = "ask"
message = "test: pushing needs a person"
program = ["frob"]
args_any = ["push"]
"#;

/// What the agent appends to the policy file, one step per line it reads.
const AGENT: &str = r#"
import http.client, os, socket, sys
policy, sock_path = sys.argv[1], os.environ["WARDEN_SOCKET"]
steps = {
    "deny": '\n[[rule]]\nname = "agent-denies-zork"\naction = "deny"\nprogram = ["zork"]\n',
    "approved": '\n[[approved]]\nname = "agent-approved"\nargv = ["frob", "push"]\n',
    "alias": '\n[flag_aliases.frob]\n"-r" = "-Z"\n',
}
class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock_path)
for line in sys.stdin:
    step = line.strip()
    if step == "reload":
        conn = Unix("warden")
        conn.request("POST", "/v1/policy/reload")
        print("reload", conn.getresponse().status, flush=True)
        continue
    with open(policy, "a") as f:
        f.write(steps[step])
    print("wrote", step, flush=True)
"#;

struct Agent {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Agent {
    /// The agent, in a session of its own without isolation.
    fn start(home: &TempHome) -> Agent {
        let mut command =
            home.warden_command(&["preload", "--no-isolate", "--", "python3", "-c", AGENT]);
        command
            .arg(home.path().join("policy.toml"))
            .env("WARDEN_LIB", warden_tests::libwarden())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start the agent");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Agent {
            child,
            stdin,
            stdout,
        }
    }

    /// Tells the agent to do `step`; returns its answer.
    fn step(&mut self, step: &str) -> String {
        writeln!(self.stdin, "{step}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().to_string()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn decision(home: &TempHome, argv: &[&str]) -> String {
    preflight(&home.socket(), argv)["decision"]
        .as_str()
        .unwrap()
        .to_string()
}

fn held_reasons(home: &TempHome) -> Vec<String> {
    let status: serde_json::Value =
        serde_json::from_slice(&home.warden(&["status", "--json"]).stdout).unwrap();
    status["policy_held"]["reasons"]
        .as_array()
        .map(|reasons| {
            reasons
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn loosening_policy_writes_wait_for_the_operator_while_an_added_deny_rule_applies() {
    let home = TempHome::new();
    std::fs::write(home.path().join("policy.toml"), OPERATOR_POLICY).unwrap();
    let daemon = Daemon::start_with(&home, None, &[]);
    // Dropped after the agent's session has ended, so that no daemon is started again.
    let _restarted = KillsAnsweringDaemon(home.socket());
    let mut agent = Agent::start(&home);

    assert_eq!(agent.step("deny"), "wrote deny");
    wait_until("the agent's deny rule to apply", || {
        decision(&home, &["zork"]) == "deny"
    });

    assert_eq!(agent.step("approved"), "wrote approved");
    wait_until("the approved entry to be held", || {
        held_reasons(&home).contains(&"new [[approved]] entry \"agent-approved\"".to_string())
    });
    assert_eq!(
        decision(&home, &["frob", "push"]),
        "ask",
        "the ask is still there"
    );

    assert_eq!(agent.step("alias"), "wrote alias");
    wait_until("the alias to be held", || {
        held_reasons(&home).contains(&"flag_aliases of frob changed".to_string())
    });
    assert_eq!(decision(&home, &["frob", "-r", "x"]), "deny");
    let status = text(&home.warden(&["status"]).stdout);
    assert!(
        status.contains("policy change HELD") && status.contains("warden policy reload"),
        "{status}"
    );

    // The agent cannot apply it itself, not even by talking HTTP to the socket.
    assert_eq!(agent.step("reload"), "reload 403");
    assert_eq!(decision(&home, &["frob", "push"]), "ask");

    // Nor by killing the daemon: the one `warden preload` starts next runs the policy that
    // was in force.
    let killed = daemon.pid();
    daemon.kill9();
    wait_until("a new daemon", || {
        std::os::unix::net::UnixStream::connect(home.socket()).is_ok_and(|stream| {
            let status = warden_tests::http_over(stream, "GET", "/v1/status", None).json();
            status["pid"].as_u64() != Some(u64::from(killed))
        })
    });
    assert_eq!(decision(&home, &["frob", "push"]), "ask");
    assert_eq!(decision(&home, &["frob", "-r", "x"]), "deny");
    assert_eq!(decision(&home, &["zork"]), "deny");
    assert!(
        !held_reasons(&home).is_empty(),
        "still waiting after the restart"
    );

    // The operator reviews the file and reloads.
    let reload = home.warden(&["policy", "reload"]);
    assert!(reload.status.success(), "{}", describe(&reload));
    assert_eq!(decision(&home, &["frob", "push"]), "allow");
    assert_eq!(decision(&home, &["frob", "-r", "x"]), "allow");
    assert!(held_reasons(&home).is_empty());
    let status = http(&home.socket(), "GET", "/v1/status", None).json();
    assert!(status["policy_held"].is_null(), "{status}");
}

#[test]
fn without_such_a_session_a_loosening_change_applies_as_before() {
    let home = TempHome::new();
    std::fs::write(home.path().join("policy.toml"), OPERATOR_POLICY).unwrap();
    let _daemon = Daemon::start_with(&home, None, &[]);
    std::fs::write(
        home.path().join("policy.toml"),
        format!("{OPERATOR_POLICY}\n[[approved]]\nname = \"mine\"\nargv = [\"frob\", \"push\"]\n"),
    )
    .unwrap();
    wait_until("the operator's approved entry to apply", || {
        decision(&home, &["frob", "push"]) == "allow"
    });
}
