//! The real Codex sandbox (`codex sandbox`, installed by `npm ci` in tests/): `connect()` is
//! forbidden in there, yet `warden preload -- codex sandbox -- bash -c CMD` blocks a denied
//! CMD and runs an allowed one, because the library reaches the daemon through the door.
//! No model is involved: `codex sandbox` only runs the command.

use std::path::PathBuf;

use warden_tests::probes::{describe, probe, Guarded};
use warden_tests::run;

fn codex() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/codex");
    assert!(
        path.exists(),
        "{} is missing: run `npm ci` in tests/ (as .ci/run does)",
        path.display()
    );
    path
}

#[test]
fn codex_sandbox_commands_are_judged_through_the_door() {
    let guarded = Guarded::start();
    let connect = probe("connect_socket");
    let codex_home = guarded.home.path().join("codex-home");
    std::fs::create_dir_all(&codex_home).unwrap();
    // First show that the sandbox forbids connect(), then touch the marker ($0).
    let script = format!("{} ; touch \"$0\"", connect.display());
    for (name, allowed) in [("ok-in-sandbox", true), ("denied-in-sandbox", false)] {
        let marker = guarded.marker(name);
        let mut command = guarded.preload(&[
            codex().as_os_str(),
            "sandbox".as_ref(),
            "-c".as_ref(),
            "sandbox_mode=\"workspace-write\"".as_ref(),
            "--".as_ref(),
            "bash".as_ref(),
            "-c".as_ref(),
            script.as_ref(),
            marker.as_os_str(),
        ]);
        // The sandbox lets the command write to its working directory only.
        command
            .current_dir(marker.parent().unwrap())
            .env("CODEX_HOME", &codex_home);
        let out = run(&mut command);
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
