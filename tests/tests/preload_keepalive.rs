//! `warden preload` keeps its daemon alive, without session isolation (`--no-isolate`, or
//! where namespaces are unavailable; with them, the agent cannot reach the daemon): an agent that kills the daemon or removes its sockets gets
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
    let out = run(&mut guarded.preload_shared(&[
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

#[test]
fn a_daemon_stopped_with_warden_stop_is_not_replaced_and_the_session_stays_refused() {
    let guarded = Guarded::start();
    let _restarted = KillsAnsweringDaemon(guarded.home.socket());
    let marker = guarded.marker("ok-after-warden-stop");
    // The agent says it runs, then starts the probe once it reads a line.
    let mut agent = guarded
        .preload_shared(&[
            "python3".as_ref(),
            "-c".as_ref(),
            "import subprocess, sys\nprint('ready', flush=True)\nsys.stdin.readline()\ntry:\n    subprocess.run(sys.argv[1:])\n    print('ran', flush=True)\nexcept PermissionError:\n    print('refused', flush=True)".as_ref(),
            probe("execve").as_os_str(),
            marker.as_os_str(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the agent");
    let mut stdout = std::io::BufReader::new(agent.stdout.take().unwrap());
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut ready).unwrap();
    assert_eq!(ready, "ready\n");
    let stop = guarded.home.warden(&["stop"]);
    assert!(stop.status.success(), "{}", describe(&stop));
    // Longer than a restart takes.
    std::thread::sleep(Duration::from_secs(2));
    use std::io::Write;
    writeln!(agent.stdin.take().unwrap(), "go").unwrap();
    let out = agent.wait_with_output().unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut said).unwrap();
    assert_eq!(said.trim(), "refused", "{}", describe(&out));
    assert!(!marker.exists());
    assert!(
        text(&out.stderr).contains("was stopped with \"warden stop\""),
        "{}",
        describe(&out)
    );
    assert!(
        std::os::unix::net::UnixStream::connect(guarded.home.socket()).is_err(),
        "a daemon was started again"
    );
}

/// The test user of this capability, created once (behaviour does not depend on privileges,
/// but the keepalive uses pidfds, `/proc/self/exe` and the lock file, which an ordinary user
/// must be able to use too).
const TEST_USER: &str = "warden-hard";

#[test]
fn an_unprivileged_users_session_gets_a_new_daemon_too() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // Not root: the other tests of this file already run as an ordinary user.
        return;
    }
    let exists = std::process::Command::new("id")
        .arg(TEST_USER)
        .output()
        .unwrap();
    if !exists.status.success() {
        let added = run(std::process::Command::new("useradd").args([
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            TEST_USER,
        ]));
        // A parallel run may have created it meanwhile.
        assert!(
            added.status.success() || text(&added.stderr).contains("already exists"),
            "{}",
            describe(&added)
        );
    }
    let home = warden_tests::TempHome::new();
    let markers = home.path().join("m");
    std::fs::create_dir(&markers).unwrap();
    let policy = home.path().join("policy.toml");
    std::fs::write(&policy, warden_tests::probes::POLICY).unwrap();
    let uid: u32 = text(
        &std::process::Command::new("id")
            .args(["-u", TEST_USER])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .parse()
    .unwrap();
    for path in [home.path(), &markers, &policy] {
        std::os::unix::fs::chown(path, Some(uid), None).unwrap();
    }
    let as_user = |args: &[&std::ffi::OsStr]| {
        let mut command = home.command("runuser");
        command
            .args(["-u", TEST_USER, "--"])
            .arg(warden_tests::warden_bin())
            .args(args)
            .env("WARDEN_LIB", warden_tests::libwarden())
            .env("HOME", home.path());
        command
    };
    let started = run(&mut as_user(&[
        "serve".as_ref(),
        "--background".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ]));
    assert!(started.status.success(), "{}", describe(&started));
    let denied = markers.join("denied-as-user");
    let allowed = markers.join("ok-as-user");
    let out = run(&mut as_user(&[
        "preload".as_ref(),
        "--no-isolate".as_ref(),
        "--".as_ref(),
        "/usr/bin/python3".as_ref(),
        "-c".as_ref(),
        AGENT.as_ref(),
        "kill".as_ref(),
        home.path().as_os_str(),
        probe("execve").as_os_str(),
        denied.as_os_str(),
        allowed.as_os_str(),
    ]));
    let stopped = run(&mut as_user(&["stop".as_ref()]));
    still_guarded(&out, &[denied, allowed], Duration::from_secs(2));
    assert!(stopped.status.success(), "{}", describe(&stopped));
}
