//! pid 1 of an isolated session: the exit status is the agent's, and nothing the agent
//! started outlives the session (a daemonised child, a double fork, one that ignores
//! SIGTERM). Without isolation, leftovers are reported instead. As root and as the test user.

use std::time::{Duration, Instant};

use warden_tests::isolation::{Isolated, Who};
use warden_tests::probes::describe;
use warden_tests::{run, text};

/// The grace period the init gives leftovers between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

#[test]
fn pid_1_exits_with_the_agents_status() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        for (script, status) in [
            ("exit 7", 7),
            ("kill -TERM $$", 128 + libc::SIGTERM),
            ("kill -KILL $$", 128 + libc::SIGKILL),
            ("echo pid=$$", 0),
        ] {
            let out = run(&mut iso.bash(script));
            assert_eq!(
                out.status.code(),
                Some(status),
                "{who:?} {script}: {}",
                describe(&out)
            );
        }
        let out = run(&mut iso.bash("echo pid=$$; echo parent=$PPID"));
        assert!(
            text(&out.stdout).contains("pid=2\nparent=1\n"),
            "{who:?}: the agent is not pid 2 under the init: {}",
            describe(&out)
        );
    }
}

/// A child left running in the background, and one double-forked into its own session (as a
/// daemon detaches): both end with the agent, within the grace period.
#[test]
fn leftovers_are_ended_when_the_agent_exits() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let token = format!("leftover-{}-{who:?}", std::process::id());
        let started = Instant::now();
        let out = run(iso
            .bash(
                r#"
bash -c 'exec -a "$0" sleep 1000' "$TOKEN-background" &>/dev/null &
( setsid bash -c 'exec -a "$0" sleep 1000' "$TOKEN-double-fork" &>/dev/null & ) &
sleep 0.3
exit 5
"#,
            )
            .env("TOKEN", &token));
        assert_eq!(out.status.code(), Some(5), "{who:?}: {}", describe(&out));
        assert!(
            started.elapsed() < GRACE,
            "{who:?}: waited for leftovers that end on SIGTERM"
        );
        assert_eq!(
            processes_with(&token),
            Vec::<i32>::new(),
            "{who:?}: leftovers survive"
        );
    }
}

#[test]
fn a_leftover_that_ignores_sigterm_is_killed_after_the_grace_period() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let token = format!("stubborn-{}-{who:?}", std::process::id());
        let started = Instant::now();
        let out = run(iso
            .bash(
                r#"
sh -c 'trap "" TERM; while :; do sleep 0.1; done' "$TOKEN" &>/dev/null &
sleep 0.3
"#,
            )
            .env("TOKEN", &token));
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(0), "{who:?}: {}", describe(&out));
        assert!(
            took >= GRACE,
            "{who:?}: ended after {took:?}, before the grace period"
        );
        assert!(
            took < GRACE + Duration::from_secs(3),
            "{who:?}: ended after {took:?}"
        );
        assert_eq!(
            processes_with(&token),
            Vec::<i32>::new(),
            "{who:?}: the leftover survives"
        );
    }
}

/// Without namespaces, warden cannot tell the agent's leftovers from what was meant to
/// outlive the session: it names them and leaves them running (still guarded by the
/// library).
#[test]
fn without_isolation_leftovers_are_reported_not_ended() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let token = format!("reported-{}-{who:?}", std::process::id());
        let mut command = iso.preload(&["--no-isolate", "--", "bash", "-c"]);
        command
            // Away from the output pipes, which a leftover would hold open.
            .arg("( bash -c 'exec -a \"$0\" sleep 1000' \"$TOKEN\" &>/dev/null & ) ; sleep 0.3")
            .env("TOKEN", &token);
        let out = run(&mut command);
        let left = processes_with(&token);
        for pid in &left {
            // SAFETY: kill on a process this test started (found by its unique token).
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
        assert!(out.status.success(), "{who:?}: {}", describe(&out));
        assert_eq!(left.len(), 1, "{who:?}: {}", describe(&out));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(
                "warden: the agent left 1 process running, not ended without session isolation: "
            ) && stderr.contains("(sleep)"),
            "{who:?}: {}",
            describe(&out)
        );
    }
}

/// Live processes whose command line contains `token`.
fn processes_with(token: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        });
        if !zombie && String::from_utf8_lossy(&cmdline).contains(token) {
            found.push(pid);
        }
    }
    found
}
