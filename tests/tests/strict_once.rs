//! Every start is decided once, with one audit record, however many observers see it: a
//! start a hook decided is not asked about again at its exec stop, a program judged at its
//! exec stop is not judged again by the library's load check, an approved start is not asked
//! about twice. And a refusal at the exec stop reads exactly like the library's.

use std::ffi::OsString;
use warden_tests::probes::{describe, static_probe, Guarded};

use warden_tests::strict_support::{bare_start, decisions_about, strict, Secret, KEY_CONTENT};
use warden_tests::{run, text};

fn hooks_of(guarded: &Guarded, argv: &[&str]) -> Vec<(String, String)> {
    decisions_about(guarded, |seen| seen == argv)
}

fn pair(hook: &str, decision: &str) -> (String, String) {
    (hook.to_string(), decision.to_string())
}

#[test]
fn a_start_a_hook_decided_is_not_asked_about_again() {
    let secret = Secret::start();
    let script = "/bin/true && /bin/echo once";
    let out = run(&mut secret.strict(&["bash", "-c", script]));
    assert!(out.status.success(), "{}", describe(&out));
    let guarded = &secret.guarded;
    assert_eq!(hooks_of(guarded, &["/bin/true"]), [pair("execve", "allow")]);
    assert_eq!(
        hooks_of(guarded, &["/bin/echo", "once"]),
        [pair("execve", "allow")]
    );
    // The agent's own start: judged by warden preload before it started, told to the
    // supervisor, not asked about at its exec stop nor again by its load check.
    assert_eq!(
        hooks_of(guarded, &["bash", "-c", script]),
        [pair("preload", "allow")]
    );
}

#[test]
fn a_program_judged_at_its_exec_stop_is_not_judged_again_at_load() {
    let secret = Secret::start();
    // A static parent keeps LD_PRELOAD in the environment it passes on, but gives no proof:
    // the dynamic child's library would judge it at load.
    let run_child = static_probe("run_child");
    let out = run(&mut secret.strict(&[
        run_child.as_os_str(),
        "/bin/echo".as_ref(),
        "judged-once".as_ref(),
    ]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("judged-once"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        hooks_of(&secret.guarded, &["/bin/echo", "judged-once"]),
        [pair("strict", "allow")]
    );
}

#[test]
fn an_approved_start_is_not_asked_about_again() {
    let guarded = Guarded::start();
    let marker = guarded.marker("asked-once");
    let marker_text = marker.to_str().unwrap();
    let script = format!("/usr/bin/touch '{marker_text}'");
    let out = guarded.resolve_ask(strict(&guarded, &["bash", "-c", &script]), "approve");
    assert!(marker.exists(), "{}", describe(&out));
    // The agent's bash -c asks (its command is the asked touch) and is approved; the touch it
    // then starts is covered by the approval's grant.
    let approvals = guarded
        .decisions()
        .iter()
        .filter(|record| record["decision"] == "ask")
        .count();
    assert_eq!(approvals, 1, "{}", describe(&out));
    assert_eq!(
        hooks_of(&guarded, &["/usr/bin/touch", marker_text]),
        [pair("execve", "allow")]
    );
}

#[test]
fn a_start_a_hook_asked_about_and_a_person_approved_is_not_asked_about_again() {
    let guarded = Guarded::start();
    let marker = guarded.marker("asked-by-hook");
    let marker_text = marker.to_str().unwrap();
    // A dynamic program whose execv hook asks; approved, the exec goes ahead and its exec
    // stop finds the approved start in the daemon's memory.
    let execv = warden_tests::probes::probe("execv");
    let out = guarded.resolve_ask(
        strict(&guarded, &[execv.as_os_str(), marker.as_os_str()]),
        "approve",
    );
    assert!(marker.exists(), "{}", describe(&out));
    assert_eq!(
        hooks_of(&guarded, &["touch", marker_text]),
        [pair("execv", "ask")],
        "{}",
        describe(&out)
    );
}

/// The first `warden: denied: …` line of `stderr`.
fn denial_line(stderr: &[u8]) -> String {
    text(stderr)
        .lines()
        .find(|line| line.starts_with("warden: denied: "))
        .unwrap_or_else(|| panic!("no denial line in {:?}", text(stderr)))
        .to_string()
}

#[test]
fn a_refusal_at_the_exec_stop_reads_exactly_like_the_librarys() {
    let secret = Secret::start();
    // The library: a dynamic parent's hook refuses `/bin/cat <key>`.
    let run_child = warden_tests::probes::probe("run_child").into();
    let by_library: Vec<OsString> = [vec![run_child], secret.cat_key()].concat();
    let library = run(&mut secret.guarded.preload(&by_library));
    // Strict mode: the supervisor refuses the same argv, started where no hook runs.
    let by_supervisor: Vec<OsString> = [bare_start(), secret.cat_key()].concat();
    let supervisor = run(&mut secret.strict(&by_supervisor));
    assert_eq!(
        denial_line(&library.stderr),
        denial_line(&supervisor.stderr),
        "library: {}\nsupervisor: {}",
        describe(&library),
        describe(&supervisor)
    );
    let hooks: Vec<String> = secret
        .key_decisions()
        .into_iter()
        .map(|(hook, _)| hook)
        .collect();
    assert_eq!(hooks, ["execve", "strict"]);
}

/// FNV-1a of `args`, each followed by a NUL: the hash in the library's proof
/// (preload/src/sys.rs `hash_args`), which anyone can compute.
fn proof_hash(args: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in args
        .iter()
        .flat_map(|arg| arg.as_bytes().iter().chain(&[0]))
    {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[test]
fn a_forged_proof_spares_a_start_from_the_load_check_but_not_from_the_supervisor() {
    let secret = Secret::start();
    let key = secret.key.to_str().unwrap();
    let run_child = static_probe("run_child");
    // The static run_child (bash's $$ once bash execs it) hands cat a valid-looking proof
    // that it started `cat <key>` judged.
    let script = format!(
        "exec {} --checked \"s$$.1.{}\" /bin/cat {key}",
        run_child.display(),
        proof_hash(&[key])
    );
    let out = run(&mut secret.guarded.preload(&["bash", "-c", &script]));
    assert!(
        text(&out.stdout).contains(KEY_CONTENT),
        "{}",
        describe(&out)
    );
    assert!(
        secret.key_decisions().is_empty(),
        "the load check was fooled"
    );

    let out = run(&mut secret.strict(&["bash", "-c", &script]));
    assert!(
        !text(&out.stdout).contains(KEY_CONTENT),
        "{}",
        describe(&out)
    );
    assert_eq!(
        secret.key_decisions(),
        [pair("strict", "deny")],
        "{}",
        describe(&out)
    );
}

#[test]
fn in_monitor_mode_a_start_at_its_exec_stop_is_logged_not_blocked() {
    let secret = Secret::start();
    let command: Vec<OsString> = [bare_start(), secret.cat_key()].concat();
    let mut monitor =
        secret
            .guarded
            .home
            .warden_command(&["preload", "--strict", "--monitor", "--"]);
    let out = run(monitor.args(&command));
    assert!(
        text(&out.stdout).contains(KEY_CONTENT),
        "{}",
        describe(&out)
    );
    let key = secret.key.to_str().unwrap();
    let records: Vec<_> = secret
        .guarded
        .decisions()
        .into_iter()
        .filter(|r| r["argv"] == serde_json::json!(["/bin/cat", key]))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        (
            &records[0]["hook"],
            &records[0]["decision"],
            &records[0]["would"]
        ),
        (&"strict".into(), &"allow".into(), &"deny".into())
    );
}
