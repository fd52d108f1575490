//! Staying loaded: whatever a guarded process does to its environment (`env -i`,
//! `env -u LD_PRELOAD`, `unsetenv` + `system`, an explicit envp without warden's variables,
//! forged `WARDEN_SESSION`/`WARDEN_SOCKET`), the programs it starts still run under the
//! library, so the grandchild's exec is still judged.
//!
//! The grandchild is a script that runs `touch MARKER`: the policy cannot see into the script,
//! so only the library loaded in the script's shell can stop it.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use warden_tests::probes::{describe, probe, Guarded};
use warden_tests::run;

fn touch_script(guarded: &Guarded) -> PathBuf {
    let script = guarded.home.work().join("touch-it.sh");
    std::fs::write(
        &script,
        "#!/bin/bash\necho \"session=$WARDEN_SESSION\"\n/usr/bin/touch \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Runs `launcher SCRIPT MARKER` under `warden preload` for an allowed and a denied marker;
/// returns the daemon, for a look at its log.
fn check_still_judged(launcher: &[&str]) -> Guarded {
    let guarded = Guarded::start();
    let script = touch_script(&guarded);
    for (name, allowed) in [("ok-grandchild", true), ("denied-grandchild", false)] {
        let marker = guarded.marker(name);
        let mut command: Vec<OsString> = launcher.iter().map(OsString::from).collect();
        command.push(script.clone().into());
        command.push(marker.clone().into());
        let out = run(&mut guarded.preload(&command));
        assert_eq!(
            marker.exists(),
            allowed,
            "{launcher:?} {name}: {}",
            describe(&out)
        );
        if !allowed {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("warden: denied: /usr/bin/touch"),
                "{launcher:?}: the grandchild was not judged: {}",
                describe(&out)
            );
        }
    }
    guarded
}

#[test]
fn env_i() {
    let _ = check_still_judged(&["bash", "-c", "env -i \"$@\"", "bash"]);
}

#[test]
fn env_u_ld_preload() {
    let _ = check_still_judged(&["bash", "-c", "env -u LD_PRELOAD \"$@\"", "bash"]);
}

#[test]
fn bash_unset_and_export() {
    let _ = check_still_judged(&[
        "bash",
        "-c",
        "unset LD_PRELOAD WARDEN_SOCKET WARDEN_DOOR WARDEN_SESSION; export LD_PRELOAD=/nonexistent.so; \"$@\"",
        "bash",
    ]);
}

#[test]
fn forged_warden_socket() {
    let _ = check_still_judged(&[
        "env",
        "WARDEN_SOCKET=/nonexistent/warden.sock",
        "WARDEN_DOOR=/nonexistent/door.sock",
        "WARDEN_FAIL=open",
    ]);
}

#[test]
fn forged_warden_session() {
    let _ = check_still_judged(&["env", "WARDEN_SESSION=forged-session"]);
    // The grandchild's own environment carries the real session again.
    let guarded = Guarded::start();
    let script = touch_script(&guarded);
    let marker = guarded.marker("ok-session");
    let out = run(&mut guarded.preload(&[
        "env".as_ref(),
        "WARDEN_SESSION=forged-session".as_ref(),
        script.as_os_str(),
        marker.as_os_str(),
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let session = stdout
        .lines()
        .find_map(|line| line.strip_prefix("session="))
        .unwrap_or_else(|| panic!("the script did not run: {}", describe(&out)));
    assert!(
        !session.is_empty() && session != "forged-session",
        "the grandchild runs with WARDEN_SESSION={session:?}"
    );
}

#[test]
fn unsetenv_then_system() {
    let binary = probe("unsetenv_system");
    let _ = check_still_judged(&[binary.to_str().unwrap()]);
}

#[test]
fn explicit_envp_without_warden() {
    let binary = probe("execve_empty_env");
    let _ = check_still_judged(&[binary.to_str().unwrap()]);
}
