//! The load check: a dynamic program that no hook judged — started by a static parent (like
//! Codex), or with a forged proof of a check — judges itself before `main`, so that even a
//! pure shell command (`echo … > FILE`) is refused. Programs a hook already judged are not
//! asked about twice.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use serde_json::Value;
use warden_tests::probes::{
    describe, policy_refusing_forbidden_echo, probe, static_probe, Guarded,
};
use warden_tests::run;

fn guarded() -> Guarded {
    Guarded::with_policy(&policy_refusing_forbidden_echo())
}

/// `bash -c "echo <word> > FILE"`, with the command in `$INNER` of the outer shell so that
/// the word never shows in the command lines the hooks judge before bash.
fn inner(word: &str, file: &Path) -> String {
    format!("echo {word} > '{}'", file.display())
}

/// `warden preload -- bash -c 'exec PROGRAM /bin/bash -c "echo forbidden-marker > FILE"'`:
/// a guarded bash execs PROGRAM in place, which starts the inner bash.
fn exec_in_place_then_bash(guarded: &Guarded, program: &Path, file: &Path) -> Output {
    let mut command = guarded.preload(&[
        "bash",
        "-c",
        r#"exec "$0" /bin/bash -c "$INNER""#,
        &program.display().to_string(),
    ]);
    command.env("INNER", inner("forbidden-marker", file));
    run(&mut command)
}

/// The arguments of a decision, as text.
fn argv(record: &Value) -> Vec<String> {
    record["argv"]
        .as_array()
        .map(|args| {
            args.iter()
                .map(|a| a.as_str().unwrap_or("<bytes>").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The decisions about programs whose command line contains `needle`.
fn decisions_about(guarded: &Guarded, needle: &str) -> Vec<Value> {
    guarded
        .decisions()
        .into_iter()
        .filter(|record| argv(record).iter().any(|a| a.contains(needle)))
        .collect()
}

/// The decisions taken with `hook`, as (argv[0], decision).
fn by_hook(decisions: &[Value], hook: &str) -> Vec<(String, String)> {
    decisions
        .iter()
        .filter(|record| record["hook"] == hook)
        .map(|record| {
            let program = argv(record).first().cloned().unwrap_or_default();
            (
                program,
                record["decision"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_static_parent_cannot_start_a_refused_shell_command() {
    let guarded = guarded();
    let run_child = static_probe("run_child");
    for (word, allowed) in [("forbidden-marker", false), ("fine-marker", true)] {
        let file = guarded.marker(word);
        let mut command = guarded.preload(&[
            run_child.as_os_str(),
            OsStr::new("/bin/bash"),
            OsStr::new("-c"),
            OsStr::new(&inner(word, &file)),
        ]);
        let out = run(&mut command);
        assert_eq!(file.exists(), allowed, "{word}: {}", describe(&out));
        let loads = by_hook(&decisions_about(&guarded, word), "load");
        let verdict = if allowed { "allow" } else { "deny" };
        assert_eq!(
            loads,
            [("/bin/bash".to_string(), verdict.to_string())],
            "{word}: one load decision about bash: {}",
            describe(&out)
        );
        if !allowed {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("child status=126"), "{}", describe(&out));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("warden: denied: echo forbidden-marker")
                    && stderr.contains("test policy: forbidden marker"),
                "{}",
                describe(&out)
            );
        }
    }
}

#[test]
fn hooked_starts_are_not_asked_twice() {
    let guarded = guarded();
    let run_child = probe("run_child");
    let file = guarded.marker("ok-hooked");
    let out = run(&mut guarded.preload(&[
        run_child.as_os_str(),
        OsStr::new("/bin/bash"),
        OsStr::new("-c"),
        OsStr::new(&inner("once", &file)),
    ]));
    assert!(file.exists(), "{}", describe(&out));
    let decisions = decisions_about(&guarded, "ok-hooked");
    // The agent is judged by `warden preload` before it starts (and carries the proof, so
    // not again at its load); bash only by the execve hook of its (guarded) parent.
    assert_eq!(
        by_hook(&decisions, "preload"),
        [(run_child.display().to_string(), "allow".to_string())],
        "{}",
        describe(&out)
    );
    assert_eq!(by_hook(&decisions, "load"), [], "{decisions:#?}");
    assert_eq!(
        by_hook(&decisions, "execve"),
        [("/bin/bash".to_string(), "allow".to_string())]
    );
    assert_eq!(decisions.len(), 2, "{decisions:#?}");
}

#[test]
fn spawned_children_and_shells_are_not_asked_twice() {
    for (name, hooks) in [
        ("posix_spawn", vec!["posix_spawn"]),
        ("system", vec!["system", "execve"]),
        ("popen", vec!["popen", "execve"]),
    ] {
        let guarded = guarded();
        let marker = guarded.marker(&format!("ok-{name}"));
        let probe = probe(name);
        let out = run(&mut guarded.preload(&[probe.as_os_str(), marker.as_os_str()]));
        assert!(marker.exists(), "{name}: {}", describe(&out));
        let decisions = decisions_about(&guarded, &format!("ok-{name}"));
        assert_eq!(
            by_hook(&decisions, "preload"),
            [(probe.display().to_string(), "allow".to_string())],
            "{name}: the agent, by warden preload: {decisions:#?}"
        );
        assert_eq!(by_hook(&decisions, "load"), [], "{name}: {decisions:#?}");
        for hook in &hooks {
            assert_eq!(by_hook(&decisions, hook).len(), 1, "{name}: {decisions:#?}");
        }
        assert_eq!(decisions.len(), 1 + hooks.len(), "{name}: {decisions:#?}");
    }
}

#[test]
fn a_forged_or_copied_proof_is_worthless() {
    let guarded = guarded();
    let run_child = static_probe("run_child");
    let me = std::process::id();
    let copied_spawn = format!("s{me}");
    let copied_exec = format!("e{me}");
    for forged in [
        "parent",
        "e1",
        "s1",
        copied_spawn.as_str(),
        copied_exec.as_str(),
        "yes",
    ] {
        let file = guarded.marker("forged");
        let out = run(&mut guarded.preload(&[
            run_child.as_os_str(),
            OsStr::new("--checked"),
            OsStr::new(forged),
            OsStr::new("/bin/bash"),
            OsStr::new("-c"),
            OsStr::new(&inner("forbidden-marker", &file)),
        ]));
        assert!(!file.exists(), "{forged}: {}", describe(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("child status=126"),
            "{forged}: {}",
            describe(&out)
        );
    }
}

#[test]
fn a_static_program_exec_by_a_guarded_one_passes_no_proof_on() {
    // bash (guarded) execs the static parent in place: it inherits a valid proof for its own
    // pid, which its child, with another pid, cannot use.
    let guarded = guarded();
    let run_child = static_probe("run_child");
    let file = guarded.marker("via-exec");
    let out = exec_in_place_then_bash(&guarded, &run_child, &file);
    assert!(!file.exists(), "{}", describe(&out));
    let loads = by_hook(&decisions_about(&guarded, "via-exec"), "load");
    assert_eq!(
        loads,
        [("/bin/bash".to_string(), "deny".to_string())],
        "{}",
        describe(&out)
    );
}

#[test]
fn monitor_mode_logs_the_load_check_and_blocks_nothing() {
    let guarded = guarded();
    let run_child = static_probe("run_child");
    let file = guarded.marker("monitored");
    let mut command = guarded.home.warden_command(&["preload", "--monitor", "--"]);
    command.args([
        run_child.as_os_str(),
        OsStr::new("/bin/bash"),
        OsStr::new("-c"),
        OsStr::new(&inner("forbidden-marker", &file)),
    ]);
    let out = run(&mut command);
    assert!(file.exists(), "{}", describe(&out));
    let decisions = decisions_about(&guarded, "monitored");
    let load = decisions
        .iter()
        .find(|record| record["hook"] == "load")
        .unwrap_or_else(|| panic!("no load decision: {decisions:#?}"));
    assert_eq!(load["decision"], "allow");
    assert_eq!(load["would"], "deny");
}

#[test]
fn an_unreachable_daemon_fails_closed_at_load_when_asked_to() {
    let guarded = guarded();
    let run_child = static_probe("run_child");
    let file = guarded.marker("unreachable");
    // The daemon's paths exist, but nothing answers there.
    let mut command = guarded.home.command(&run_child);
    command
        .args(["/bin/bash", "-c", &inner("anything", &file)])
        .env("LD_PRELOAD", warden_tests::libwarden())
        .env("WARDEN_SOCKET", guarded.home.path().join("nobody.sock"))
        .env("WARDEN_DOOR", guarded.home.path().join("nobody-door.sock"));
    let open = run(&mut command);
    assert!(file.exists(), "fail-open runs it: {}", describe(&open));
    assert!(String::from_utf8_lossy(&open.stderr).contains("fail-open"));
    std::fs::remove_file(&file).unwrap();
    let closed = run(command.env("WARDEN_FAIL", "closed"));
    assert!(
        !file.exists(),
        "fail-closed refuses it: {}",
        describe(&closed)
    );
    assert!(String::from_utf8_lossy(&closed.stdout).contains("child status=126"));
}

#[test]
fn the_agent_command_itself_is_judged() {
    let guarded = guarded();
    let marker = guarded.marker("denied-agent");
    let out = run(&mut guarded.preload(&["touch".as_ref(), marker.as_os_str()]));
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert!(!marker.exists(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warden: denied: touch "),
        "{}",
        describe(&out)
    );
    let decisions = decisions_about(&guarded, "denied-agent");
    assert_eq!(
        by_hook(&decisions, "preload"),
        [("touch".to_string(), "deny".to_string())]
    );
    assert_eq!(decisions.len(), 1, "judged once: {decisions:#?}");
}

#[test]
fn a_proof_is_spent_by_the_program_it_was_made_for() {
    // bash (guarded) execs raw_exec in place: a valid proof for raw_exec, which then becomes
    // bash with a raw execve, keeping its pid and its environment. The second bash must not
    // count as judged.
    let guarded = guarded();
    let raw_exec = probe("raw_exec");
    let file = guarded.marker("spent");
    let out = exec_in_place_then_bash(&guarded, &raw_exec, &file);
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert!(!file.exists(), "{}", describe(&out));
    let decisions = decisions_about(&guarded, "spent");
    assert_eq!(
        by_hook(&decisions, "execve"),
        [(raw_exec.display().to_string(), "allow".to_string())],
        "{decisions:#?}"
    );
    assert_eq!(
        by_hook(&decisions, "load"),
        [("/bin/bash".to_string(), "deny".to_string())],
        "{decisions:#?}"
    );
}

#[test]
fn a_static_program_that_execs_another_command_in_place_passes_no_proof_on() {
    // The static raw_exec keeps its pid when it becomes bash, but bash's arguments are not
    // the ones judged when raw_exec started.
    let guarded = guarded();
    let file = guarded.marker("static-in-place");
    let out = exec_in_place_then_bash(&guarded, &static_probe("raw_exec"), &file);
    assert_eq!(out.status.code(), Some(126), "{}", describe(&out));
    assert!(!file.exists(), "{}", describe(&out));
    let loads = by_hook(&decisions_about(&guarded, "static-in-place"), "load");
    assert_eq!(loads, [("/bin/bash".to_string(), "deny".to_string())]);
}

#[test]
fn a_script_started_by_a_hook_is_not_asked_again_by_its_interpreter() {
    let guarded = guarded();
    let script = guarded.home.work().join("script-once.sh");
    std::fs::write(&script, "#!/bin/bash\necho \"$1\" > \"$2\"\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let file = guarded.marker("ok-script");
    let out = run(&mut guarded.preload(&[
        probe("run_child").as_os_str(),
        script.as_os_str(),
        OsStr::new("a b"),
        file.as_os_str(),
    ]));
    assert_eq!(
        std::fs::read_to_string(&file).ok().as_deref(),
        Some("a b\n"),
        "{}",
        describe(&out)
    );
    let decisions = decisions_about(&guarded, "script-once");
    assert_eq!(
        by_hook(&decisions, "execve"),
        [(script.display().to_string(), "allow".to_string())],
        "{decisions:#?}"
    );
    assert_eq!(
        decisions.len(),
        2,
        "the agent at load, the script at execve: {decisions:#?}"
    );
}
