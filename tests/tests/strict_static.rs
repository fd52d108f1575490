//! Strict mode sees what LD_PRELOAD cannot: a static program's raw `execve` system call with
//! an empty environment (no hook runs, and the new program gets neither the library nor its
//! proof), a chain of such programs, and the same from Python through ctypes. Without
//! `--strict`, the same starts go unseen: the tests show that too, as the reason strict mode
//! exists.

use std::ffi::OsString;
use std::process::Output;

use warden_tests::probes::{describe, static_probe};
use warden_tests::strict_support::{bare_start, decisions_about, Secret, KEY_CONTENT};
use warden_tests::{run, text};

/// Runs `starter… /bin/cat <key>` in strict mode; asserts the key stayed secret.
fn strict_cat_key(secret: &Secret, starter: &[OsString]) -> Output {
    let command: Vec<OsString> = starter.iter().cloned().chain(secret.cat_key()).collect();
    let out = run(&mut secret.strict(&command));
    assert!(
        !text(&out.stdout).contains(KEY_CONTENT),
        "{}",
        describe(&out)
    );
    out
}

fn denied_by_strict() -> [(String, String); 1] {
    [("strict".to_string(), "deny".to_string())]
}

#[test]
fn a_static_programs_raw_execve_of_cat_key_is_killed_before_it_runs() {
    let secret = Secret::start();
    let out = strict_cat_key(&secret, &bare_start());
    assert!(
        text(&out.stdout).contains(&format!("child signal={}", libc::SIGKILL)),
        "{}",
        describe(&out)
    );
    let line = format!(
        "warden: denied: /bin/cat {} — test policy: keys stay secret\n",
        secret.key.display()
    );
    assert!(text(&out.stderr).contains(&line), "{}", describe(&out));
    assert_eq!(secret.key_decisions(), denied_by_strict());
}

#[test]
fn without_strict_the_same_raw_execve_goes_unseen() {
    let secret = Secret::start();
    let command: Vec<OsString> = bare_start().into_iter().chain(secret.cat_key()).collect();
    let out = run(&mut secret.guarded.preload(&command));
    assert!(
        text(&out.stdout).contains(KEY_CONTENT),
        "{}",
        describe(&out)
    );
    assert!(secret.key_decisions().is_empty());
}

#[test]
fn a_chain_of_three_static_programs_is_judged_at_every_start() {
    let secret = Secret::start();
    let chain: Vec<OsString> = [bare_start(), bare_start(), bare_start()].concat();
    strict_cat_key(&secret, &chain);
    // Each start of the chain, asked about once: the first (the agent, judged by warden
    // preload before it starts) with the whole chain after it, each later one (judged at its
    // exec stop) with one starter fewer.
    let all: Vec<String> = chain
        .iter()
        .chain(&secret.cat_key())
        .map(|arg| arg.to_str().unwrap().to_string())
        .collect();
    for (starters, hook) in [(3, "preload"), (2, "strict"), (1, "strict")] {
        let argv = &all[(3 - starters) * 2..];
        let starts = decisions_about(&secret.guarded, |seen| seen == argv);
        let expected = [(hook.to_string(), "allow".to_string())];
        assert_eq!(starts, expected, "the start of {argv:?}");
    }
    assert_eq!(secret.key_decisions(), denied_by_strict());
}

/// Python's ctypes reaches the system call directly: no libc exec function (so no hook) runs,
/// and the empty environment leaves the new program without the library.
fn ctypes_raw_execve(key: &std::path::Path) -> String {
    let execve = if cfg!(target_arch = "aarch64") {
        221
    } else {
        59
    };
    format!(
        "import ctypes\n\
         libc = ctypes.CDLL(None, use_errno=True)\n\
         argv = (ctypes.c_char_p * 3)(b'/bin/cat', {key:?}.encode(), None)\n\
         envp = (ctypes.c_char_p * 1)(None)\n\
         libc.syscall({execve}, b'/bin/cat', argv, envp)\n\
         print('execve failed', ctypes.get_errno())\n",
        key = key.to_str().unwrap()
    )
}

#[test]
fn python_calling_the_raw_execve_system_call_with_an_empty_environment_is_judged() {
    let secret = Secret::start();
    let script = ctypes_raw_execve(&secret.key);
    let out = run(&mut secret.strict(&["python3", "-c", &script]));
    assert!(
        !text(&out.stdout).contains(KEY_CONTENT),
        "{}",
        describe(&out)
    );
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGKILL),
        "{}",
        describe(&out)
    );
    assert_eq!(secret.key_decisions(), denied_by_strict());

    // The same without strict mode: the library never hears of it.
    let mut unguarded = secret.guarded.preload(&["python3", "-c", &script]);
    let out = run(&mut unguarded);
    assert!(
        text(&out.stdout).contains(KEY_CONTENT),
        "{}",
        describe(&out)
    );
}

#[test]
fn clone_untraced_cannot_leave_the_trace() {
    let secret = Secret::start();
    let clone_untraced = static_probe("clone_untraced");
    let out = strict_cat_key(&secret, &[clone_untraced.into()]);
    assert!(
        text(&out.stdout).contains(&format!("clone_untraced errno={}", libc::EPERM)),
        "{}",
        describe(&out)
    );
}

#[test]
fn an_exec_by_a_second_thread_is_judged_under_the_process_id() {
    let secret = Secret::start();
    let thread_exec = static_probe("thread_exec");
    let mut command = bare_start();
    command.push(thread_exec.into());
    let out = strict_cat_key(&secret, &command);
    assert!(
        text(&out.stdout).contains(&format!("child signal={}", libc::SIGKILL)),
        "{}",
        describe(&out)
    );
    assert_eq!(secret.key_decisions(), denied_by_strict());
}
