//! Everything but exec runs as without strict mode: exit statuses, signals (forwarded to the
//! agent, delivered to the processes that get them, stopped processes kept stopped), and a
//! multithreaded fork storm. And the tree cannot outlive its supervisor: an agent that kills
//! its own `warden preload` (or anyone who does) takes every process of its tree with it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden_tests::probes::{describe, probe, Guarded};
use warden_tests::strict_support::{alive, pid_in, strict};
use warden_tests::{run, text, wait_until};

fn bash(guarded: &Guarded, script: &str) -> Command {
    strict(guarded, &["bash", "-c", script])
}

#[test]
fn exit_statuses_come_back_as_without_strict_mode() {
    let guarded = Guarded::start();
    for (script, status) in [
        ("exit 3", 3),
        ("kill -TERM $$", 128 + libc::SIGTERM),
        ("true", 0),
    ] {
        let strict = run(&mut bash(&guarded, script));
        let plain = run(&mut guarded.preload(&["bash", "-c", script]));
        assert_eq!(
            strict.status.code(),
            Some(status),
            "{script}: {}",
            describe(&strict)
        );
        assert_eq!(plain.status.code(), strict.status.code(), "{script}");
    }
}

#[test]
fn an_agent_that_cannot_start_is_reported_as_without_strict_mode() {
    let guarded = Guarded::start();
    for (command, status) in [("warden-test-no-such-command", 127), ("/etc/passwd", 126)] {
        let strict = run(&mut strict(&guarded, &[command]));
        let plain = run(&mut guarded.preload(&[command]));
        assert_eq!(strict.status.code(), Some(status), "{}", describe(&strict));
        assert_eq!(text(&strict.stderr), text(&plain.stderr), "{command}");
    }
}

#[test]
fn a_signal_to_warden_preload_reaches_the_agent() {
    let guarded = Guarded::start();
    let ready = guarded.marker("ready");
    let script = format!(
        "trap 'echo got-term; exit 7' TERM; echo > {}; for i in $(seq 400); do sleep 0.05; done",
        ready.display()
    );
    let child = bash(&guarded, &script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start warden preload --strict");
    wait_until("the agent to be ready", || ready.exists());
    // SAFETY: kill with the pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    assert!(text(&out.stdout).contains("got-term"), "{}", describe(&out));
}

#[test]
fn a_handled_signal_is_delivered_not_swallowed() {
    let guarded = Guarded::start();
    let out = run(&mut bash(
        &guarded,
        "trap 'echo got-usr1' USR1; kill -USR1 $$; echo after",
    ));
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(text(&out.stdout), "got-usr1\nafter\n", "{}", describe(&out));
}

#[test]
fn a_stopped_process_stays_stopped_until_it_is_continued() {
    let guarded = Guarded::start();
    // The state of a process while stopped, then its status once continued.
    let script = "sleep 0.3 & p=$!; kill -STOP $p; sleep 0.5; \
                  s=$(awk '/^State/ {print $2}' /proc/$p/status); \
                  kill -CONT $p; wait $p; echo \"state=$s status=$?\"";
    let out = run(&mut bash(&guarded, script));
    let stdout = text(&out.stdout);
    assert!(
        stdout == "state=T status=0\n" || stdout == "state=t status=0\n",
        "{}",
        describe(&out)
    );
}

/// Without namespaces the agent can reach its `warden preload` (`$PPID`): killing it kills
/// the agent's tree.
#[test]
fn an_agent_that_kills_its_warden_preload_takes_its_tree_with_it() {
    let guarded = Guarded::start();
    let pids = guarded.marker("pids");
    let script = format!(
        "sleep 300 & echo $! > {}; kill -9 $PPID; sleep 300",
        pids.display()
    );
    let mut preload = guarded
        .home
        .warden_command(&["preload", "--strict", "--no-isolate", "--"]);
    preload.args(["bash", "-c", &script]);
    let mut child = preload
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start warden preload --strict");
    let background = pid_in(&pids);
    let status = child.wait().expect("warden preload ends");
    assert_eq!(status.code(), None, "killed: {status:?}");
    // EXITKILL: every tracee got SIGKILL when its tracer died. The orphans are reaped by
    // init, which may take a moment.
    wait_until("the background sleep to die", || {
        !alive(background) || zombie(background)
    });
}

/// With namespaces the agent cannot see its `warden preload`; when it dies all the same
/// (killed from outside), the session's init dies with it (EXITKILL), and with the init
/// every process of the session's pid namespace.
#[test]
fn a_supervisor_killed_from_outside_takes_the_whole_session_with_it() {
    let guarded = Guarded::start();
    let ready = guarded.marker("ready");
    // An argument no other process has, to find the session's sleeps from here.
    let unique = format!("300.{}", std::process::id());
    let script = format!(
        "sleep {unique} & sleep {unique} & touch {}; wait",
        ready.display()
    );
    let mut child = bash(&guarded, &script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start warden preload --strict");
    wait_until("the agent to be ready", || ready.exists());
    let sleeps = processes_running(&["sleep", &unique]);
    assert_eq!(sleeps.len(), 2, "the session's sleeps: {sleeps:?}");
    // SAFETY: kill with the pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().expect("warden preload ends");
    wait_until("the session's sleeps to die", || {
        sleeps.iter().all(|&pid| !alive(pid) || zombie(pid))
    });
}

/// The pids of the processes whose command line is exactly `argv`.
fn processes_running(argv: &[&str]) -> Vec<u32> {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted))
        .collect()
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

const ROUNDS: usize = 1000;

#[test]
fn a_multithreaded_fork_storm_completes_with_every_child_judged_once() {
    let guarded = Guarded::start();
    let storm = probe("fork_storm");
    let started = Instant::now();
    let out = run(&mut strict(
        &guarded,
        &[storm.as_os_str(), ROUNDS.to_string().as_ref()],
    ));
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains(&format!("forked {ROUNDS} failed 0")),
        "{}",
        describe(&out)
    );
    assert!(
        elapsed < Duration::from_secs(25),
        "{ROUNDS} rounds took {elapsed:?}"
    );
    let hooks: Vec<String> = guarded
        .decisions()
        .into_iter()
        .filter(|record| record["argv"][0] == "true")
        .map(|record| record["hook"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(hooks.len(), ROUNDS, "one decision per exec");
    assert!(hooks.iter().all(|hook| hook == "execv"), "{hooks:?}");
    println!("{ROUNDS} strict fork+exec rounds in {elapsed:?}");
}
