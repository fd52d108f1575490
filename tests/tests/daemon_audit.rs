//! The hash-chained audit log: nothing acknowledged is lost to `kill -9`, tampering is found
//! and named, rotation keeps the chain, and `warden log` shows and follows decisions.

use std::io::BufRead;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use warden_tests::{
    exec_request, http, preflight, text, wait_until, Daemon, TempHome, TEST_POLICY,
};

fn audit_text(home: &TempHome) -> String {
    let mut files: Vec<_> = std::fs::read_dir(home.audit_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

#[test]
fn kill_9_loses_no_acknowledged_decision_and_the_chain_verifies() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let socket = home.socket();
            let acknowledged = acknowledged.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let marker = format!("marker-{client}-{n}");
                    let Ok(stream) = std::os::unix::net::UnixStream::connect(&socket) else {
                        break;
                    };
                    let body = exec_request(&["echo", &marker]);
                    // A connection cut by the kill is not an acknowledgement.
                    let Ok(reply) = std::panic::catch_unwind(|| {
                        warden_tests::http_over(stream, "POST", "/v1/preflight/exec", Some(&body))
                    }) else {
                        break;
                    };
                    if reply.status == 200 {
                        acknowledged.lock().unwrap().push(marker);
                    }
                }
            })
        })
        .collect();
    wait_until("some decisions", || {
        acknowledged.lock().unwrap().len() >= 200
    });
    daemon.kill9();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        let _ = client.join();
    }

    let verify = home.warden(&["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    let log = audit_text(&home);
    let acknowledged = acknowledged.lock().unwrap();
    for marker in acknowledged.iter() {
        assert!(
            log.contains(&format!("\"{marker}\"")),
            "{marker} was acknowledged but is not in the audit log"
        );
    }
    // A restarted daemon continues the same chain.
    let _daemon = Daemon::start(&home, TEST_POLICY);
    preflight(&home.socket(), &["ls"]);
    assert!(home.warden(&["audit", "verify"]).status.success());
}

#[test]
fn a_flipped_byte_is_detected_and_named() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    for _ in 0..5 {
        preflight(&home.socket(), &["rm", "-rf", "/srv"]);
    }
    daemon.stop();
    assert!(home.warden(&["audit", "verify"]).status.success());
    let file = home.audit_dir().join("audit-000001.jsonl");
    let mut bytes = std::fs::read(&file).unwrap();
    let lines: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
        .collect();
    // Flip one byte in the middle of the third record ("/srv" becomes "/s2v" or similar).
    let third = &bytes[lines[1] + 1..lines[2]];
    let at = lines[1] + 1 + text(third).find("/srv").unwrap() + 2;
    bytes[at] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let verify = home.warden(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1));
    let out = text(&verify.stdout);
    assert!(out.contains("audit-000001.jsonl:3"), "{out}");
    assert!(out.contains("modified"), "{out}");
}

#[test]
fn a_removed_record_breaks_the_chain_at_the_next_one() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    for _ in 0..4 {
        preflight(&home.socket(), &["ls"]);
    }
    daemon.stop();
    let file = home.audit_dir().join("audit-000001.jsonl");
    let original = std::fs::read_to_string(&file).unwrap();
    let kept: Vec<&str> = original
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&file, kept.join("\n") + "\n").unwrap();
    let out = text(&home.warden(&["audit", "verify"]).stdout);
    assert!(out.contains("audit-000001.jsonl:2"), "{out}");
    assert!(out.contains("chain"), "{out}");
}

#[test]
fn rotation_keeps_the_chain_across_files() {
    let home = TempHome::new();
    let _daemon = Daemon::start_with(&home, Some(TEST_POLICY), &["--audit-rotate-bytes", "2000"]);
    for n in 0..30 {
        preflight(&home.socket(), &["echo", &n.to_string()]);
    }
    let files = std::fs::read_dir(home.audit_dir()).unwrap().count();
    assert!(files > 2, "only {files} audit files");
    let verify = home.warden(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    assert!(
        text(&verify.stdout).contains("30 records"),
        "{}",
        text(&verify.stdout)
    );
}

#[test]
fn every_record_carries_what_was_decided_and_why() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    preflight(&home.socket(), &["rm", "-r", "/tmp/x"]);
    let log = home.warden(&["log", "--json", "-n", "1"]);
    let record: serde_json::Value = serde_json::from_slice(&log.stdout).unwrap();
    assert_eq!(record["kind"], "decision");
    assert_eq!(record["decision"], "deny");
    assert_eq!(record["action"], "deny");
    assert_eq!(record["rule"], "no-rm");
    assert_eq!(record["argv"], serde_json::json!(["rm", "-r", "/tmp/x"]));
    assert_eq!(record["cwd"], "/tmp");
    assert_eq!(record["pid"].as_u64(), Some(u64::from(std::process::id())));
    assert_eq!(record["prev"].as_str().unwrap().len(), 64);
    assert!(record["time"].as_str().unwrap().ends_with('Z'));
    let human = text(&home.warden(&["log"]).stdout);
    assert!(
        human.contains("deny") && human.contains("rm -r /tmp/x"),
        "{human}"
    );
    assert!(
        !human.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn log_follow_streams_new_decisions() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, TEST_POLICY);
    let mut follower = home
        .warden_command(&["log", "-f", "--json", "-n", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(follower.stdout.take().unwrap()).lines();
    // The stream is open once the daemon counts the follower; decisions made before that
    // would not be streamed, so keep deciding until one arrives.
    let socket = home.socket();
    let done = Arc::new(AtomicBool::new(false));
    let feeding = done.clone();
    let feeder = std::thread::spawn(move || {
        for n in 0..300 {
            if feeding.load(Ordering::SeqCst) {
                break;
            }
            let body = exec_request(&["rm", &format!("f{n}")]);
            if http(&socket, "POST", "/v1/preflight/exec", Some(&body)).status != 200 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let first = lines.next().unwrap().unwrap();
    let record: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(record["decision"], "deny");
    assert_eq!(record["argv"][0], "rm");
    done.store(true, Ordering::SeqCst);
    let _ = follower.kill();
    let _ = follower.wait();
    let _ = feeder.join();
}

/// Keeps the first `n` records of the (only) audit file.
fn cut_log_to(home: &TempHome, n: usize) {
    let file = home.audit_dir().join("audit-000001.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let kept: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, kept).unwrap();
}

#[test]
fn a_log_cut_to_its_first_58_of_64_records_is_reported_truncated() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    for n in 0..64 {
        preflight(&home.socket(), &["echo", &n.to_string()]);
    }
    let verify = home.warden(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    let last = text(&home.warden(&["log", "--json", "-n", "1"]).stdout);
    let last: serde_json::Value = serde_json::from_str(last.trim()).unwrap();
    assert_eq!(last["seq"], 64);
    let hash = last["hash"].as_str().unwrap();
    daemon.kill9();

    cut_log_to(&home, 58);
    let verify = home.warden(&["audit", "verify"]);
    let out = text(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{out}");
    assert!(out.contains("audit log TRUNCATED"), "{out}");
    assert!(out.contains("ends at record 58"), "{out}");
    assert!(
        out.contains(&format!("record 64 (hash {})", &hash[..16])),
        "the last record expected is named: {out}"
    );
    assert!(out.contains("records 59–64 are missing"), "{out}");
    assert!(!out.contains("intact"), "{out}");
}

#[test]
fn an_emptied_log_or_a_missing_directory_is_never_intact() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    for _ in 0..3 {
        preflight(&home.socket(), &["ls"]);
    }
    daemon.kill9();
    cut_log_to(&home, 0);
    let verify = home.warden(&["audit", "verify"]);
    let out = text(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{out}");
    assert!(out.contains("audit log EMPTIED"), "{out}");
    assert!(out.contains("record 3 (hash "), "{out}");

    let missing = home.path().join("no-such-audit-dir");
    let verify = home.warden(&["audit", "verify", "--dir", missing.to_str().unwrap()]);
    assert!(!verify.status.success(), "{}", text(&verify.stdout));
    assert!(!text(&verify.stdout).contains("intact"));
    assert!(
        text(&verify.stderr).contains("no audit log in")
            && text(&verify.stderr).contains("does not exist"),
        "{}",
        text(&verify.stderr)
    );
    std::fs::create_dir(&missing).unwrap();
    let verify = home.warden(&["audit", "verify", "--dir", missing.to_str().unwrap()]);
    assert!(!verify.status.success());
    assert!(text(&verify.stderr).contains("holds no audit files"));
}

#[test]
fn a_deleted_head_is_reported_and_a_cut_log_stays_on_record_after_a_restart() {
    let home = TempHome::new();
    let daemon = Daemon::start(&home, TEST_POLICY);
    for _ in 0..5 {
        preflight(&home.socket(), &["ls"]);
    }
    daemon.kill9();
    let head = home.audit_dir().join("head");
    std::fs::remove_file(&head).unwrap();
    let verify = home.warden(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        text(&verify.stdout).contains("audit head MISSING"),
        "{}",
        text(&verify.stdout)
    );

    // A daemon started on the headless log records that, then a cut is found at the next start.
    let daemon = Daemon::start(&home, TEST_POLICY);
    for _ in 0..3 {
        preflight(&home.socket(), &["ls"]);
    }
    daemon.kill9();
    // Five decisions, the gap record, the restart record, three decisions: keep seven.
    cut_log_to(&home, 7);
    let _daemon = Daemon::start(&home, TEST_POLICY);
    preflight(&home.socket(), &["ls"]);
    let verify = home.warden(&["audit", "verify"]);
    let out = text(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{out}");
    assert!(!out.contains("BROKEN"), "the chain itself continues: {out}");
    let gaps: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("audit log GAP"))
        .collect();
    assert_eq!(gaps.len(), 2, "{out}");
    assert!(gaps[0].contains("found the audit head MISSING"), "{out}");
    assert!(
        gaps[1].contains("found the audit log TRUNCATED")
            && gaps[1].contains("records 8–10 are missing"),
        "{out}"
    );
}
