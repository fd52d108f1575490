//! The operator check and the session lookup by pid namespace: a process of the session's
//! pid namespace is refused the operator endpoints even when it is outside the session's
//! process tree and carries none of its variables; a process in a pid namespace nested below
//! (as Codex's sandbox makes) belongs to the session; the operator's own terminal, outside,
//! still approves. As root and as the test user.

use std::process::{Child, Stdio};

use warden_tests::isolation::{assert_output, Isolated, Who};
use warden_tests::probes::describe;
use warden_tests::{run, text, wait_until};

/// A session that waits until its stdin closes, and the pid of its init.
fn waiting_session(iso: &Isolated) -> (Child, i32) {
    let child = iso
        .preload(&["--", "sh", "-c", "read -r line"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the session");
    let mut init = 0;
    wait_until("the isolated session", || {
        let status = iso.warden(&["status", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap_or_default();
        let session = status["sessions"]
            .as_array()
            .and_then(|s| s.first().cloned());
        match session {
            Some(session) if session["isolation"] == "namespaces" => {
                // The root is `warden preload`; the init, its child, runs the namespace.
                let root = session["root_pid"].as_i64().unwrap() as i32;
                init = child_of(root).unwrap_or(0);
                init > 0
            }
            _ => false,
        }
    });
    (child, init)
}

/// The child of `parent`, from `/proc`.
fn child_of(parent: i32) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let ppid: i32 = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
}

/// `nsenter` joins the session's user and pid namespaces from outside: its child is in the
/// session's pid namespace, but neither in the tree under the init nor started with the
/// session's variables, and it sees the real sockets (the mount namespace is not joined).
/// Only the pid namespace tells, and it is enough.
#[test]
fn a_process_of_the_sessions_pid_namespace_is_refused_outside_its_tree() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let (mut session, init) = waiting_session(&iso);
        let mut enter = iso.command("nsenter");
        enter
            .arg(format!("--target={init}"))
            .args(["--user", "--pid", "--preserve-credentials", "--"])
            .arg(warden_tests::warden_bin())
            .arg("pending");
        let out = run(&mut enter);
        let refused = iso.warden(&["pending"]);
        drop(session.stdin.take());
        session.wait().unwrap();
        assert_eq!(out.status.code(), Some(3), "{who:?}: {}", describe(&out));
        assert!(
            text(&out.stderr).contains("runs inside guarded session")
                && text(&out.stderr).contains("(in its pid namespace)"),
            "{who:?}: {}",
            describe(&out)
        );
        // The same command from outside is the operator's.
        assert!(refused.status.success(), "{who:?}: {}", describe(&refused));
    }
}

/// A program started in a pid namespace below the session's (as Codex's sandbox runs
/// commands) is judged as part of the session, by the namespace walk.
#[test]
fn a_nested_pid_namespace_belongs_to_the_session() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let out = run(&mut iso.bash(
            r#"
touch "$M/ok-outer"
unshare --user --map-current-user --pid --fork --mount --mount-proc \
    sh -c 'echo "nested-pid=$$"; touch "$M/ok-nested"; touch "$M/$NO-nested"; echo "denied-touch=$?"'
"#,
        ));
        assert_output(who, &out, &["nested-pid=1\n", "denied-touch=126"], &[]);
        let log = iso.warden(&["log", "--json", "-n", "100"]);
        let records: Vec<serde_json::Value> = text(&log.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        let session_of = |marker: &str| {
            records
                .iter()
                .find(|r| r["argv"][1].as_str().is_some_and(|a| a.ends_with(marker)))
                .map(|r| r["session"].clone())
                .unwrap_or_else(|| panic!("{who:?}: no record for {marker}: {records:#?}"))
        };
        let outer = session_of("ok-outer");
        assert!(outer.is_string(), "{who:?}: {outer}");
        assert_eq!(session_of("ok-nested"), outer, "{who:?}");
        assert_eq!(session_of("denied-nested"), outer, "{who:?}");
    }
}

#[test]
fn the_operator_outside_approves_and_denies_an_isolated_agents_asks() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        for (decision, marker, exists) in [
            ("approve", "asked-approved", true),
            ("deny", "asked-denied", false),
        ] {
            let mut session = iso.bash(r#"touch "$M/$ASK-$WHICH""#);
            session.env("WHICH", marker.trim_start_matches("asked-"));
            let out = iso.resolve_every_ask(&mut session, decision);
            assert_eq!(out.status.success(), exists, "{who:?}: {}", describe(&out));
            assert_eq!(
                iso.marker(marker).exists(),
                exists,
                "{who:?}: {}",
                describe(&out)
            );
        }
    }
}
