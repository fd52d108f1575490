//! The real Codex sandbox (`codex sandbox`, installed by `npm ci` in tests/): `connect()` is
//! forbidden in there, yet `warden preload -- codex sandbox -- bash -c CMD` blocks a denied
//! CMD and runs an allowed one, because the library reaches the daemon through the door.
//! No model is involved: `codex sandbox` only runs the command.

use std::ffi::OsStr;
use std::process::Output;

use warden_tests::probes::{describe, policy_refusing_forbidden_echo, probe, Guarded};
use warden_tests::{codex_sandbox_bash, run};

/// `warden preload -- codex sandbox -- bash -c SCRIPT ARGS…`, run in the markers' directory
/// (the sandbox lets the command write to its working directory only).
fn sandboxed_bash(guarded: &Guarded, script: &str, args: &[&OsStr]) -> Output {
    let codex_home = guarded.home.work().join("codex-home");
    std::fs::create_dir_all(&codex_home).unwrap();
    let mut command = guarded.preload(&codex_sandbox_bash(script));
    command
        .args(args)
        .current_dir(guarded.home.work().join("m"))
        .env("CODEX_HOME", &codex_home);
    run(&mut command)
}

#[test]
fn codex_sandbox_commands_are_judged_through_the_door() {
    let guarded = Guarded::start();
    let connect = probe("connect_socket");
    // First show that the sandbox forbids connect(), then touch the marker ($0, through a
    // substitution: named outright, the whole string would be refused before it ran).
    let script = format!("{} ; touch \"$(printf %s \"$0\")\"", connect.display());
    for (name, allowed) in [("ok-in-sandbox", true), ("denied-in-sandbox", false)] {
        let marker = guarded.marker(name);
        let out = sandboxed_bash(&guarded, &script, &[marker.as_os_str()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("connect errno={}", libc::EPERM)),
            "connect() was not forbidden in the sandbox: {}",
            describe(&out)
        );
        assert_eq!(marker.exists(), allowed, "{name}: {}", describe(&out));
        if !allowed {
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("warden: denied: touch"),
                "{}",
                describe(&out)
            );
        }
    }
}

/// Codex is a static program: the library never loads into it, so the shell it starts for a
/// command was judged by no hook. That shell judges itself at load, so even a pure shell
/// builtin with a redirection is refused.
#[test]
fn codex_sandbox_shell_builtins_are_judged_at_load() {
    let guarded = Guarded::with_policy(&policy_refusing_forbidden_echo());
    for (word, allowed) in [("forbidden-marker", false), ("fine-marker", true)] {
        let file = guarded.marker(word);
        let out = sandboxed_bash(
            &guarded,
            &format!("echo {word} > '{}'", file.display()),
            &[],
        );
        assert_eq!(file.exists(), allowed, "{word}: {}", describe(&out));
        if !allowed {
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
