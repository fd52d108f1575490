//! Webhooks against real local HTTP servers started by the test: the JSON document and the
//! Slack form arrive for an ask and a denial, with secrets redacted; an endpoint that hangs
//! or answers 500 never delays a decision and costs one line in the daemon's log per outage.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use warden_tests::{ask, preflight, wait_until, Daemon, TempHome, TEST_POLICY};

/// How a test endpoint answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Ok,
    Fails,
    Hangs,
}

/// One received request: its head and its body.
#[derive(Clone, Debug)]
struct Received {
    head: String,
    body: String,
}

/// A real HTTP server on 127.0.0.1 that records what it receives.
struct Endpoint {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl Endpoint {
    fn start(behaviour: Behaviour) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(behaviour));
        let (seen, how) = (received.clone(), behaviour.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let request = read_request(&stream);
                seen.lock().unwrap().push(request);
                let status = match *how.lock().unwrap() {
                    Behaviour::Ok => "200 OK",
                    Behaviour::Fails => "500 Internal Server Error",
                    Behaviour::Hangs => {
                        held.push(stream);
                        continue;
                    }
                };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
            }
        });
        Endpoint {
            port,
            received,
            behaviour,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook/s3cret-path", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn wait_for(&self, count: usize) -> Vec<Received> {
        wait_until(&format!("{count} requests at the endpoint"), || {
            self.received().len() >= count
        });
        self.received()
    }
}

fn read_request(stream: &TcpStream) -> Received {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    Received {
        head,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A daemon whose notify.toml posts `events` to `endpoint` in `format` (desktop off).
fn daemon_posting_to(home: &TempHome, endpoint: &Endpoint, events: &str, format: &str) -> Daemon {
    let table = format!(
        "[notify]\ndesktop = \"off\"\nurl = \"{}\"\non = {events}\nformat = \"{format}\"\n",
        endpoint.url()
    );
    std::fs::write(home.path().join("notify.toml"), table).unwrap();
    Daemon::start(home, TEST_POLICY)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn the_json_document_arrives_for_an_ask_and_a_deny_with_secrets_redacted() {
    let endpoint = Endpoint::start(Behaviour::Ok);
    let home = TempHome::new();
    let _daemon = daemon_posting_to(&home, &endpoint, r#"["ask", "deny"]"#, "json");
    let id = ask(
        &home.socket(),
        &["kubectl", "apply", "--token=abc123", "-f", "prod.yaml"],
    );
    assert_eq!(
        preflight(&home.socket(), &["rm", "-rf", "/srv"])["decision"],
        "deny"
    );
    let received = endpoint.wait_for(2);
    assert!(
        received[0]
            .head
            .starts_with("POST /hook/s3cret-path HTTP/1.1"),
        "{:?}",
        received[0]
    );
    assert!(received[0]
        .head
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    let asked = json(&received[0].body);
    assert_eq!(asked["version"], 1);
    assert_eq!(asked["event"], "ask");
    assert_eq!(asked["id"].as_u64(), Some(id));
    assert_eq!(asked["command"], "kubectl apply --token=*** -f prod.yaml");
    assert_eq!(asked["rule"], "ask-kubectl");
    assert_eq!(asked["message"], "cluster changes need a person");
    assert_eq!(asked["cwd"], "/tmp");
    for field in ["agent", "session", "time", "host", "command_line"] {
        assert!(asked.get(field).is_some(), "{field} missing: {asked}");
    }
    assert!(
        !received[0].body.contains("abc123"),
        "the secret left: {}",
        received[0].body
    );
    let denied = json(&received[1].body);
    assert_eq!(denied["event"], "deny");
    assert_eq!(denied["command"], "rm -rf /srv");
    assert_eq!(denied["id"], serde_json::Value::Null);
}

#[test]
fn the_slack_form_says_what_asks_and_how_to_answer() {
    let endpoint = Endpoint::start(Behaviour::Ok);
    let home = TempHome::new();
    let _daemon = daemon_posting_to(&home, &endpoint, r#"["ask", "deny"]"#, "slack");
    let id = ask(&home.socket(), &["kubectl", "delete", "ns", "prod"]);
    preflight(&home.socket(), &["rm", "-rf", "/srv"]);
    let received = endpoint.wait_for(2);
    let asked = json(&received[0].body);
    let text = asked["text"].as_str().expect("Slack's text field");
    assert!(text.contains("`kubectl delete ns prod`"), "{text}");
    assert!(text.contains(&format!("warden approve {id}")), "{text}");
    let denied = json(&received[1].body);
    assert!(
        denied["text"]
            .as_str()
            .unwrap()
            .contains("denied `rm -rf /srv`"),
        "{denied}"
    );
}

#[test]
fn only_the_chosen_events_are_posted() {
    let endpoint = Endpoint::start(Behaviour::Ok);
    let home = TempHome::new();
    // No `on`: asks only.
    let table = format!(
        "[notify]\ndesktop = \"off\"\nurl = \"{}\"\n",
        endpoint.url()
    );
    std::fs::write(home.path().join("notify.toml"), table).unwrap();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    preflight(&home.socket(), &["rm", "-rf", "/srv"]);
    preflight(&home.socket(), &["ls"]);
    ask(&home.socket(), &["kubectl", "apply"]);
    let received = endpoint.wait_for(1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        endpoint.received().len(),
        1,
        "asks only by default: {received:?}"
    );
    assert_eq!(json(&received[0].body)["event"], "ask");
}

/// Makes `n` denied preflights while the webhook is in trouble; each is answered promptly.
fn decide_promptly(home: &TempHome, n: usize) {
    let slowest = (0..n)
        .map(|i| {
            let started = Instant::now();
            let reply = preflight(&home.socket(), &["rm", "-rf", &format!("/srv/{i}")]);
            assert_eq!(reply["decision"], "deny");
            started.elapsed()
        })
        .max()
        .unwrap();
    assert!(
        slowest < Duration::from_millis(500),
        "a decision took {slowest:?}"
    );
}

fn outage_lines(daemon: &Daemon) -> Vec<String> {
    daemon
        .log_text()
        .lines()
        .filter(|line| line.contains("webhook"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_hanging_webhook_never_delays_a_decision_and_is_logged_once() {
    let endpoint = Endpoint::start(Behaviour::Hangs);
    let home = TempHome::new();
    let daemon = daemon_posting_to(&home, &endpoint, r#"["deny"]"#, "json");
    // More denials than the webhook's queue holds, while its first post hangs.
    decide_promptly(&home, 100);
    endpoint.wait_for(1);
    // The hanging post times out (10 s) and the next ones hang too: one line for it all.
    wait_until("the outage in the daemon's log", || {
        !outage_lines(&daemon).is_empty()
    });
    std::thread::sleep(Duration::from_secs(11));
    let lines = outage_lines(&daemon);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("webhook http://127.0.0.1:"), "{lines:?}");
    assert!(
        !lines[0].contains("s3cret-path"),
        "the URL's path stays out of the log"
    );
}

#[test]
fn a_failing_webhook_is_logged_once_per_outage_and_its_recovery_once() {
    let endpoint = Endpoint::start(Behaviour::Fails);
    let home = TempHome::new();
    let daemon = daemon_posting_to(&home, &endpoint, r#"["deny"]"#, "json");
    decide_promptly(&home, 5);
    endpoint.wait_for(5);
    let lines = outage_lines(&daemon);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("500"), "{lines:?}");
    *endpoint.behaviour.lock().unwrap() = Behaviour::Ok;
    decide_promptly(&home, 1);
    wait_until("the recovery in the log", || {
        outage_lines(&daemon).len() == 2
    });
    assert!(
        outage_lines(&daemon)[1].contains("answers again"),
        "{:?}",
        outage_lines(&daemon)
    );
}
