//! What strict mode breaks, shown: under a tracer without CAP_SYS_PTRACE, the kernel runs a
//! setuid program without its privileges (and `no_new_privs`, set for the seccomp filter,
//! would refuse them too); nor does an isolated session (root's id is not mapped in its user
//! namespace). Run as an unprivileged user with a setuid-root copy of `id`.

use std::os::unix::fs::PermissionsExt;

use warden_tests::probes::{describe, Guarded, POLICY};
use warden_tests::strict_support::{daemon_as, strict, User};
use warden_tests::{run, text, TempHome};

#[test]
fn a_setuid_program_runs_without_its_privileges_in_strict_mode() {
    let user = User::get();
    let home = TempHome::new();
    let setuid_id = home.work().join("setuid-id");
    std::fs::copy("/usr/bin/id", &setuid_id).unwrap();
    user.own(home.path());
    user.own(&home.work());
    // Root's again, setuid (after the chown, which would clear the bit).
    std::os::unix::fs::chown(&setuid_id, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&setuid_id, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let daemon = daemon_as(&user, &home, POLICY);
    let guarded = Guarded { home, daemon };

    // Beside the user's processes, the setuid bit works...
    let plain = run(&mut user.wrap(guarded.preload_shared(&[&setuid_id])));
    assert!(
        text(&plain.stdout).contains("euid=0(root)"),
        "{}",
        describe(&plain)
    );
    // ... but not under strict mode's tracer, nor in the session's user namespace, where
    // root's id is not mapped.
    let mut traced = guarded
        .home
        .warden_command(&["preload", "--strict", "--no-isolate", "--"]);
    traced.arg(&setuid_id);
    for session in [
        traced,
        strict(&guarded, &[&setuid_id]),
        guarded.preload(&[&setuid_id]),
    ] {
        let out = run(&mut user.wrap(session));
        assert!(out.status.success(), "{}", describe(&out));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("uid={}", user.uid)) && !stdout.contains("euid="),
            "{}",
            describe(&out)
        );
    }
}
