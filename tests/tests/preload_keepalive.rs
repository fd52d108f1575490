//! `warden preload` keeps its daemon alive, without session isolation (today's mode, which
//! `--no-isolate` will choose): an agent that kills the daemon or removes its sockets gets
//! a new daemon within a second, which still denies what the policy denies; the programs
//! started meanwhile wait for it rather than run unchecked; the new daemon records the
//! restart. A session whose `WARDEN_HOME` was moved away stays refused.

use std::path::Path;
use std::time::Duration;

use warden_tests::probes::{describe, probe, Guarded, REFUSED};
use warden_tests::{run, text, KillsAnsweringDaemon};

/// The agent: switches warden off the way `argv[1]` says, then starts the probe on a denied
/// marker and on an allowed one, printing each one's exit status and how long it took.
const AGENT: &str = r#"
import os, shutil, subprocess, sys, time
how, home, probe, denied, allowed = sys.argv[1:6]
if how == "kill":
    os.kill(int(open(os.path.join(home, "serve.lock")).read().split()[0]), 9)
elif how == "remove-sockets":
    os.remove(os.environ["WARDEN_SOCKET"])
    os.remove(os.environ["WARDEN_DOOR"])
elif how == "move-home":
    os.rename(home, home + ".moved")
for marker in (denied, allowed):
    started = time.time()
    try:
        status = subprocess.run([probe, marker]).returncode
    except PermissionError:
        status = "refused"
    print(f"{os.path.basename(marker)} status={status} seconds={time.time() - started:.3f}", flush=True)
"#;

/// What the agent printed about `marker`: the probe's exit status (`refused` when the probe
/// itself could not start) and how long it took.
fn outcome(out: &std::process::Output, marker: &Path) -> (String, f64) {
    let name = marker.file_name().unwrap().to_str().unwrap();
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|line| line.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("nothing about {name}: {}", describe(out)));
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{key}=")))
            .unwrap()
            .to_string()
    };
    (
        field("status").parse().unwrap(),
        field("seconds").parse().unwrap(),
    )
}

/// Runs the agent that switches warden off `how`, in a session of a daemon with the probes'
/// policy; returns the output and the markers.
fn switch_off(guarded: &Guarded, how: &str) -> (std::process::Output, [std::path::PathBuf; 2]) {
    let denied = guarded.marker(&format!("denied-after-{how}"));
    let allowed = guarded.marker(&format!("ok-after-{how}"));
    let out = run(&mut guarded.preload(&[
        "python3".as_ref(),
        "-c".as_ref(),
        AGENT.as_ref(),
        how.as_ref(),
        guarded.home.path().as_os_str(),
        probe("execve").as_os_str(),
        denied.as_os_str(),
        allowed.as_os_str(),
    ]));
    (out, [denied, allowed])
}

/// The `daemon` records of the audit log.
fn restart_records(guarded: &Guarded) -> Vec<String> {
    let out = guarded.home.warden(&["log", "--json", "-n", "1000"]);
    assert!(out.status.success(), "{}", describe(&out));
    text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record["kind"] == "daemon")
        .map(|record| record["message"].as_str().unwrap().to_string())
        .collect()
}

/// After the agent switched warden off: the denied command was still denied, the allowed one
/// ran, both within `within` of being started, and a new daemon answers.
fn still_guarded(
    out: &std::process::Output,
    [denied, allowed]: &[std::path::PathBuf; 2],
    within: Duration,
) {
    assert!(out.status.success(), "{}", describe(out));
    let (status, seconds) = outcome(out, denied);
    assert_eq!(status, REFUSED.to_string(), "{}", describe(out));
    assert!(!denied.exists(), "a denied command ran: {}", describe(out));
    assert!(seconds < within.as_secs_f64(), "denied after {seconds} s");
    let (status, seconds) = outcome(out, allowed);
    assert_eq!(status, "0", "{}", describe(out));
    assert!(allowed.exists(), "{}", describe(out));
    assert!(seconds < 1.0, "the allowed command took {seconds} s");
    assert!(
        text(&out.stderr).contains("a new one answers"),
        "{}",
        describe(out)
    );
}

#[test]
fn killing_the_daemon_from_inside_a_session_gets_a_new_one_that_still_denies() {
    let guarded = Guarded::start();
    let _restarted = KillsAnsweringDaemon(guarded.home.socket());
    let killed = guarded.daemon.pid();
    let (out, markers) = switch_off(&guarded, "kill");
    // The first command waits for the restart (a second or so), the next does not.
    still_guarded(&out, &markers, Duration::from_secs(2));
    let records = restart_records(&guarded);
    assert!(
        records.iter().any(|r| r.contains(&format!(
            "the previous daemon (pid {killed}) ended without stopping"
        ))),
        "no record of the restart: {records:?}"
    );
}

#[test]
fn removing_the_sockets_from_inside_a_session_gets_a_new_daemon_that_still_denies() {
    let guarded = Guarded::start();
    let _restarted = KillsAnsweringDaemon(guarded.home.socket());
    let (out, markers) = switch_off(&guarded, "remove-sockets");
    // The daemon notices within a second that it cannot be reached, and steps down.
    still_guarded(&out, &markers, Duration::from_secs(3));
    let records = restart_records(&guarded);
    assert!(
        records
            .iter()
            .any(|r| r.contains("stopped (") && r.contains("was removed or replaced")),
        "no record of the restart: {records:?}"
    );
}

#[test]
fn a_session_whose_warden_home_was_moved_away_refuses_every_program() {
    let guarded = Guarded::start();
    let (out, [denied, allowed]) = switch_off(&guarded, "move-home");
    let moved = guarded.home.path().with_extension("moved");
    let _restore = Restore(moved.clone(), guarded.home.path().to_path_buf());
    let stderr = text(&out.stderr);
    for marker in [&denied, &allowed] {
        let (status, _) = outcome(&out, marker);
        assert_eq!(status, "refused", "{}", describe(&out));
    }
    assert!(!moved.join("m").join(allowed.file_name().unwrap()).exists());
    assert!(
        stderr.contains("is not answering on") && stderr.contains("until it is back"),
        "{}",
        describe(&out)
    );
    assert!(
        stderr.contains("was moved or replaced during this session"),
        "{}",
        describe(&out)
    );
}

/// Moves a directory back where it was.
struct Restore(std::path::PathBuf, std::path::PathBuf);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::rename(&self.0, &self.1);
    }
}
